"""Origins, problems, the error family, exit codes, and redaction.

Imports nothing of cstool's own: every other module may import this one.

Redaction lives here because every error passes through this module: `redact(text)` is the
one place that removes credentials from text. It knows the run's secrets (`register_secret`:
a target's key and secret, a password in its endpoint URL or profile) and the shapes a
credential takes in text (`apiKey=`, `signature=`, `secretkey=`, ... in a signed URL or form,
`'password': '...'` in a dict's repr, `scheme://user:password@`). CstoolError's message and
hint, cli.py's error printer and `--debug` traceback, log records, the `Target:` line and
recordings all go through it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "<redacted>"
# A known secret shorter than this is not searched for in text: it would blank out ordinary
# words (a test rig's key "k"). CloudStack's generated keys and secrets are 86 characters;
# the shapes below still catch a short one where it is sent (apiKey=k).
MIN_SECRET_IN_TEXT = 8
# Names whose value is a credential (a parameter, a form field, a dict key), matched at the
# end of the name so that details[0].password and api_key match; signatureVersion does not.
_CREDENTIAL = (
    r"(?:api_?key|secret_?key|access_?key|private_?key|session_?key|signature|"
    r"password|passwd|secret|token|credentials?)"
)
# The signing parameters of a signed URL or form (what ApiServer.verifyRequest reads): dropped
# whole, separator included, so that no `signature=` or `apiKey=` is left to be mistaken for
# a leak; what was asked (command and parameters) stays readable.
_SIGNER = r"(?:api_?key|signature|signature_?version|expires|session_?key)=[^&\s'\"<>),;]*"
_SIGNING = re.compile(rf"(?i)(?P<sep>[?&]?)(?<![\w.\[\]-]){_SIGNER}(?:&{_SIGNER})*(?P<end>&?)")
# name=value, as in a query string, a form body or a message quoting either
_ASSIGNED = re.compile(
    rf"(?i)(?P<name>(?<![A-Za-z0-9])[\w.\[\]-]*?{_CREDENTIAL})=(?P<value>[^&\s'\"<>),;]+)"
)
# 'name': 'value' or "name": "value", as in the repr of a dict or a JSON document
_QUOTED = re.compile(
    rf"(?i)(?P<q>['\"])(?P<name>[\w.\[\]-]*?{_CREDENTIAL})(?P=q)\s*:\s*"
    rf"(?P<v>['\"])(?P<value>(?:(?!(?P=v)).)+)(?P=v)"
)
# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<pw>[^/@\s]+)@")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_logging_redacted = False


def register_secret(*values: str | None, shortest: int = MIN_SECRET_IN_TEXT) -> None:
    """Make `redact` remove these values (and their URL-encoded forms) from now on.
    Called when a target is made, for its key, secret and any password it carries, and
    for each secret a config references (with a lower `shortest`: a value the operator
    declared secret is not a guess, but a value of one or two characters would blank out
    ordinary text)."""
    with _secrets_lock:
        for value in values:
            if value and len(value) >= shortest:
                _secrets.update({value, quote(value, safe=""), quote_plus(value)})
    _redact_logging()


def redact(text: str) -> str:
    """The text without credentials: registered secrets, credential-named values, URL
    passwords. Everything else is kept as it is (no guessing by a value's shape)."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: forms overlap
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _SIGNING.sub(lambda m: m["sep"] if m["sep"] == "?" or m["end"] else "", text)
    text = _ASSIGNED.sub(lambda m: f"{m['name']}={REDACTED}", text)
    text = _QUOTED.sub(
        lambda m: (
            f"{m['q']}{m['name']}{m['q']}: {m['v']}{REDACTED}{m['v']}"
            if m["value"] != REDACTED
            else m[0]
        ),
        text,
    )
    return _URL_PASSWORD.sub(
        lambda m: m[0] if m["pw"] == REDACTED else f"{m['head']}{REDACTED}@", text
    )


def redact_data(value: Any) -> Any:
    """`redact` applied to every string of a JSON-like value (mapping keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def _redact_logging() -> None:
    """Redact every log record made from now on, whoever logs it (urllib3 logs request URLs,
    signatures included, at DEBUG) and whichever handler writes it: the record factory is the
    one place all records pass through."""
    global _logging_redacted
    with _secrets_lock:
        if _logging_redacted:
            return
        _logging_redacted = True
    make = logging.getLogRecordFactory()

    def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: logging reports it itself
            return record
        record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(redacted_record)


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2  # Click's own
    CHANGES = 3  # plan found changes, drift found differences


@dataclass(frozen=True, order=True)
class Origin:
    """Where a fact came from: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in the configuration."""

    origin: Origin | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = str(self.origin) if self.origin else "<config>"
        prefix = "warning: " if self.warning else ""
        return f"{where}: {prefix}{self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        o = self.origin
        return (o.file, o.line, o.column, self.message) if o else ("", 0, 0, self.message)


class CstoolError(Exception):
    """A user-facing error: cli.py prints it and exits with exit_code."""

    exit_code = ExitCode.ERROR
    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(redact(message))
        if hint is not None:
            self.hint = redact(hint)

    def __str__(self) -> str:
        return redact(super().__str__())  # a secret registered after the error was made


class ConfigInvalid(CstoolError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = sum(1 for p in self.problems if not p.warning)
        super().__init__(f"{errors} problem(s) in the configuration")


class ConfigNotFound(CstoolError):
    pass


class NoTarget(CstoolError):
    hint = (
        "set one of: --sim (the built-in simulator), --profile NAME (a section of cloudstack.ini "
        "or a CloudMonkey profile), or the environment variables CLOUDSTACK_ENDPOINT, "
        "CLOUDSTACK_KEY and CLOUDSTACK_SECRET"
    )


class TargetConflict(CstoolError):
    """More than one target source named on the command line (a usage error)."""

    exit_code = ExitCode.USAGE


class TargetConfigError(CstoolError):
    """A cloudstack.ini or CloudMonkey config that cannot be used, located (file:line)."""


class ApiError(CstoolError):
    """CloudStack refused a call (an HTTP error or a failed async job)."""

    def __init__(self, command: str, code: int | None, text: str, jobid: str | None = None):
        self.command = command
        self.code = code
        self.text = text
        self.jobid = jobid
        where = f" (async job {jobid})" if jobid else ""
        super().__init__(f"{command} failed{where}: ({code}) {text}")


class Unreachable(CstoolError):
    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"cannot reach CloudStack at {endpoint}: {detail}")


class NotCloudStack(CstoolError):
    """The endpoint answered, but not as the CloudStack API (an HTML page, broken JSON)."""

    def __init__(self, host: str, status: int, got: str, hint: str | None = None) -> None:
        self.status = status
        super().__init__(
            f"reached {host} but it did not answer as the CloudStack API (got {got})", hint
        )


class JobTimeout(CstoolError):
    def __init__(self, command: str, jobid: str, seconds: float) -> None:
        self.command = command
        self.jobid = jobid
        super().__init__(
            f"{command}: async job {jobid} did not finish within {seconds:g} s",
            hint=f"check the job with `cs queryAsyncJobResult jobid={jobid}` and the management "
            "server log; raise --job-timeout if the cloud is slow",
        )


class UnsafePlan(CstoolError):
    pass


class StalePlan(CstoolError):
    hint = "run `cstool plan ... --out PLAN.json` again and review the new plan"


class ApplyFailed(CstoolError):
    pass


class ReplayMiss(CstoolError):
    pass
