"""Apply progress for the terminal (rich) or one line per step when piped.

Imported only by cli.py; it returns lines and drives rich's live display.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn
from rich.progress import TimeElapsedColumn

from cstool.cloud.applier import ApplyReport, Status, StepResult
from cstool.render.rows import label


def _name(result: StepResult) -> str:
    step = result.step
    return f"{step.title} {label(step.key.kind, step.key.path)}"


class Progress:
    """Steps done/total and what is running, on a terminal; a line per finished step if not."""

    def __init__(self, total: int, terminal: bool) -> None:
        self.total = total
        self.done = 0
        self.running: dict[int, str] = {}
        self.lock = threading.Lock()
        self.terminal = terminal
        self.console = Console(highlight=False)
        self.bar: RichProgress | None = None
        self.task: Any = None

    def __enter__(self) -> Progress:
        if self.terminal:
            self.bar = RichProgress(TextColumn("[bold]apply"), BarColumn(), MofNCompleteColumn(),
                                    TimeElapsedColumn(), TextColumn("{task.description}"),
                                    console=self.console, transient=False)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def event(self, kind: str, result: StepResult) -> None:
        with self.lock:
            if kind == "start":
                self.running[result.index] = _name(result)
            else:
                self.running.pop(result.index, None)
                self.done += 1
            line = f"[{self.done}/{self.total}] {result.status.value}: {_name(result)}"
            if result.error:
                line += f" - {result.error}"
            if self.bar is not None:
                now = ", ".join(list(self.running.values())[:3])
                self.bar.update(self.task, completed=self.done, description=now)
                if kind != "start":
                    self.bar.console.print(line, markup=False)
            elif kind != "start":
                self.console.print(line, markup=False, soft_wrap=True)

    def summary(self, report: ApplyReport) -> list[str]:
        lines = [f"Apply: {report.count(Status.DONE)} done, {report.count(Status.FAILED)} "
                 f"failed, {report.count(Status.NOT_STARTED)} not started"
                 + (" (interrupted)" if report.interrupted else "") + "."]
        for r in report.failed:
            where = f"{r.step.origin}: " if r.step.origin else ""
            lines.append(f"{where}{_name(r)} failed: {r.error}")
        pending = [r for r in report.results if r.status is Status.NOT_STARTED]
        if pending:
            lines.append("Not started:")
            lines += [f"  {_name(r)}" for r in pending[:20]]
            if len(pending) > 20:
                lines.append(f"  ... and {len(pending) - 20} more")
        return lines
