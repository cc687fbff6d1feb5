"""Secrets by reference: `{env: NAME}` or `{file: PATH}`, never a value.

Host, vCenter, S3, Swift and storage credentials are written in a config as references. The
model, plans, drift, recordings and errors carry only the reference; the applier reads the
value at call time (cloud/secrets.py). Every message here names the place and the rule, never
what was written: a literal that is refused may be the secret itself.
Pure: imports nothing of cstool but errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from cstool.errors import _CREDENTIAL

Source = Literal["env", "file"]
SOURCES: tuple[Source, ...] = ("env", "file")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LITERAL_HINT = "a literal secret is not allowed here; write {env: NAME} or {file: /path}"
# details keys whose values are credentials: the redaction names, plus Swift's `key`
_CREDENTIAL_KEY = re.compile(rf"(?i)(?:{_CREDENTIAL}|key)$")


@dataclass(frozen=True, order=True)
class SecretRef:
    """Where a secret's value is read at apply time: an environment variable or a file."""

    source: Source
    name: str

    def __str__(self) -> str:
        return f"{{{self.source}: {self.name}}}"

    def to_json(self) -> dict[str, dict[str, str]]:
        """The form a saved plan holds (plan._param_json)."""
        return {"secret": self.to_yaml()}

    def to_yaml(self) -> dict[str, str]:
        """The form a config writes (export)."""
        return {self.source: self.name}

    def warning(self) -> str | None:
        """What a reviewer should know about this reference (validate reports it)."""
        if self.source == "file" and not self.name.startswith("/"):
            return (
                f"secret file {self.name} is a relative path: it is read from the directory "
                "cstool runs in"
            )
        return None


@dataclass(frozen=True)
class SecretUrl:
    """A URL whose user-info carries a secret (rbd://admin:SECRET@mon/pool): the URL without
    its password, and the reference put in at call time."""

    url: str
    ref: SecretRef

    def __str__(self) -> str:
        parts = urlsplit(self.url)
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:{self.ref}@{host}"))

    def to_json(self) -> dict[str, Any]:
        return {"secret_url": {"url": self.url, **self.ref.to_yaml()}}

    def with_value(self, value: str) -> str:
        """The URL to send (the applier calls this with the value it read)."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{value}@{host}"))


def parse(value: Any) -> SecretRef:
    """A secret field's YAML value -> its reference. Raises ValueError whose message never
    contains the value (it may be the secret)."""
    if isinstance(value, SecretRef):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(LITERAL_HINT)
    keys = [str(k) for k in value]
    if len(keys) != 1 or keys[0] not in SOURCES:
        raise ValueError(f"a secret reference has one key, env or file; {LITERAL_HINT}")
    source: Source = "env" if keys[0] == "env" else "file"
    name = value[keys[0]]
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{{{source}: ...}} needs a {_what(source)}; {LITERAL_HINT}")
    name = name.strip()
    if source == "env" and not ENV_NAME.fullmatch(name):
        raise ValueError(
            "{env: ...} needs an environment variable name (letters, digits and _, not "
            "starting with a digit)"
        )
    return SecretRef(source, name)


def _what(source: Source) -> str:
    return "variable name" if source == "env" else "file path"


def from_json(data: Any) -> SecretRef | SecretUrl | None:
    """A saved plan's secret parameter back (None when `data` is no secret form)."""
    if not isinstance(data, Mapping) or len(data) != 1:
        return None
    if isinstance(data.get("secret"), Mapping):
        return parse(data["secret"])
    inner = data.get("secret_url")
    if isinstance(inner, Mapping) and isinstance(inner.get("url"), str):
        ref = parse({k: w for k, w in inner.items() if k != "url"})
        return SecretUrl(inner["url"], ref)
    return None


def is_credential_key(name: str) -> bool:
    """Whether a details key names a credential (password, secretkey, accesskey, Swift's
    key): its value must be a reference."""
    return bool(_CREDENTIAL_KEY.search(name))


def url_password(url: str) -> bool:
    """Whether a URL carries a password in its user-info (rbd://admin:x@mon/pool)."""
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def refs_in(value: Any) -> list[SecretRef]:
    """Every reference in a value (a field's value, details, a call's parameters)."""
    if isinstance(value, SecretRef):
        return [value]
    if isinstance(value, SecretUrl):
        return [value.ref]
    if isinstance(value, Mapping):
        return [r for w in value.values() for r in refs_in(w)]
    if isinstance(value, list | tuple):
        return [r for w in value for r in refs_in(w)]
    return []
