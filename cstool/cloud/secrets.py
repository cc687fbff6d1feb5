"""Secret values, read at call time from the references a plan carries.

A plan holds `{env: NAME}` and `{file: PATH}` references (model/secrets.SecretRef), also
inside a URL's user-info (SecretUrl) and inside the values of `details` maps; never the
values. Right before a request, `resolve` reads each value and registers it with
errors.register_secret, so that any error text, log record or recording that later quotes
it is redacted by value. `preflight` reads every reference of a plan before its first step,
so that a missing variable or file fails the run before anything changed.

A URL's secret goes into its user-info as model/secrets.SecretUrl.with_value puts it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cstool.errors import CstoolError, register_secret
from cstool.model.secrets import SecretRef, SecretUrl, refs_in

MAX_SECRET_FILE = 64 * 1024  # a password or key file; anything larger is not one
# a referenced secret this long or longer is redacted by its value wherever it appears
# (shorter ones only by the parameter that carries it: see errors.register_secret)
DECLARED_SHORTEST = 4


class SecretMissing(CstoolError):
    """A reference whose value cannot be read (an unset variable, an unreadable file)."""


def read(ref: SecretRef) -> str:
    """The value a reference names: the environment variable, or the file's text with one
    trailing newline removed (what `echo x > file` leaves). Registered for redaction before
    it is returned, so nothing can quote it unredacted from then on."""
    if ref.source == "env":
        value = os.environ.get(ref.name)
        if value is None:
            raise SecretMissing(
                f"the environment variable {ref.name} is not set (needed for {ref})",
                hint=f"export {ref.name}=... before running cstool",
            )
    elif ref.source == "file":
        value = _read_file(Path(ref.name), ref)
    else:
        raise SecretMissing(f"unknown secret source in {str(ref)}")
    if value == "":
        raise SecretMissing(f"{str(ref)} is empty")
    register_secret(value, shortest=DECLARED_SHORTEST)
    return value


def _read_file(path: Path, ref: SecretRef) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise SecretMissing(
            f"cannot read the secret file {ref.name}: {exc.strerror or type(exc).__name__}"
        ) from None
    if len(data) > MAX_SECRET_FILE:
        raise SecretMissing(f"the secret file {ref.name} is larger than {MAX_SECRET_FILE} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretMissing(f"the secret file {ref.name} is not UTF-8 text") from None
    return text[:-1] if text.endswith("\n") else text


def resolve_value(value: Any) -> Any:
    """A parameter value with every reference in it replaced by its value (recursing into
    mappings and lists, as details maps hold them)."""
    if isinstance(value, SecretUrl):
        return value.with_value(read(value.ref))
    if isinstance(value, SecretRef):
        return read(value)
    if isinstance(value, Mapping):
        return {k: resolve_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(resolve_value(v) for v in value)
    return value


def resolve(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with their references replaced by values (see resolve_value)."""
    return {k: resolve_value(v) for k, v in params.items()}


def preflight(params: Iterable[Mapping[str, Any]]) -> None:
    """Read every reference of a plan's calls (their params); raise one SecretMissing that
    lists each one that cannot be read, before any step runs."""
    seen: dict[str, SecretRef] = {}
    for each in params:
        for ref in refs_in(dict(each)):
            seen.setdefault(str(ref), ref)
    missing = []
    for ref in seen.values():
        try:
            read(ref)
        except SecretMissing as exc:
            missing.append(str(exc))
    if missing:
        raise SecretMissing(
            "the plan needs secrets that cannot be read:\n  " + "\n  ".join(missing),
            hint="set the variables and create the files the config references; "
            "nothing was applied",
        )
