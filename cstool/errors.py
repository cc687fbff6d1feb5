"""Origins, problems, the error family and exit codes.

Imports nothing of cstool's own: every other module may import this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


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
        super().__init__(message)
        if hint is not None:
            self.hint = hint


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
