"""The Typer app: the only module that prints and that maps errors to exit codes."""

from __future__ import annotations

from cstool import interrupts  # handlers installed by the package (cstool/__init__.py)

# isort: split
import json
import math
import os
import secrets
import shlex
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from cstool import __version__, ops
from cstool.cli_help import CleanGroup
from cstool.cloud.applier import ApplyReport, Status, StepResult
from cstool.errors import ConfigInvalid, CstoolError, ExitCode, redact
from cstool.model.zones import check_zones, only_zones, saved_zones
from cstool.render.rows import Drift, RunInfo, label

app = typer.Typer(
    help="Keep the infrastructure of an Apache CloudStack cloud as code: zones, pods, physical "
    "networks, traffic types, providers, IP ranges and settings in YAML.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold API secrets
    cls=CleanGroup,  # help names values by a word (FILE, N), never a Python type
)
sim_app = typer.Typer(
    help="The built-in CloudStack API simulator.", no_args_is_help=True, cls=CleanGroup
)
app.add_typer(sim_app, name="sim")

TARGET = "Target"
Configs = Annotated[
    list[Path],
    typer.Argument(
        metavar="CONFIG...",
        help="YAML files or directories (read recursively)",
        show_default=False,
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="show the full traceback of a failure")]
Sim = Annotated[
    bool,
    typer.Option("--sim", help="use the built-in simulator (in-process)", rich_help_panel=TARGET),
]
SimState = Annotated[
    Path,
    typer.Option(
        "--sim-state", metavar="FILE", help="the simulator's state file", rich_help_panel=TARGET
    ),
]


def _check_version(value: str | None) -> str | None:
    from cstool.cloud.versions import parse

    if value is not None and parse(value) is None:
        raise typer.BadParameter(f"{value!r} is not a CloudStack version, e.g. 4.20.1.0")
    return value


SimVersion = Annotated[
    str | None,
    typer.Option(
        "--sim-version",
        metavar="VERSION",
        help="the CloudStack version the simulator pretends to be (default 4.22.0.0)",
        callback=_check_version,
        rich_help_panel=TARGET,
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="a section of cloudstack.ini or a CloudMonkey (~/.cmk/config) profile",
        rich_help_panel=TARGET,
    ),
]


def _check_format(fmt: str) -> str:
    from cstool.render import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


Format = Annotated[
    str,
    typer.Option(
        "--format", "-f", metavar="FORMAT", help="text, markdown or json", callback=_check_format
    ),
]


def _check_record(path: Path | None) -> Path | None:
    """Refuse a --record path that cannot take the file before anything runs: otherwise the
    whole command runs and only then fails to save (an apply done, reported as failed).
    The file is replaced by a rename, which would also replace a device such as /dev/null."""
    if path is not None and path.is_dir():
        example = path / "recording.yaml"
        raise typer.BadParameter(f"{path} is a directory; name the file, e.g. {example}")
    if path is not None and path.exists() and not path.is_file():
        raise typer.BadParameter(f"{path} is not a regular file; name a file to write")
    return path


Record = Annotated[
    Path | None,
    typer.Option(
        "--record",
        metavar="FILE",
        help="write every API exchange to this YAML file (no credentials)",
        rich_help_panel=TARGET,
        callback=_check_record,
    ),
]
RecordEndpoint = Annotated[
    bool,
    typer.Option(
        "--record-endpoint", help="keep the endpoint host in the recording", rich_help_panel=TARGET
    ),
]
Replay = Annotated[
    Path | None,
    typer.Option(
        "--replay",
        metavar="FILE",
        help="answer from a recording instead of a cloud",
        rich_help_panel=TARGET,
    ),
]
DEFAULT_STATE = Path(".cstool/sim.json")


def _seconds(value: float | None) -> float | None:
    """A duration in seconds: fractions welcome; 0, negatives and non-numbers refused."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g} is not a duration: give seconds above 0, e.g. 0.5")
    return value


Deadline = Annotated[
    float | None,
    typer.Option(
        "--deadline",
        metavar="SECONDS",
        help="give up when the run's network waits (calls, retries, async jobs) take longer",
        callback=_seconds,
        rich_help_panel=TARGET,
    ),
]
PruneScope = Annotated[
    list[str] | None,
    typer.Option(
        "--prune-scope",
        metavar="PATH",
        help="prune only under this zone or path (lab1, lab1/pod2); implies --prune; repeatable",
    ),
]
OtherCloud = Annotated[
    bool,
    typer.Option(
        "--allow-other-cloud",
        help="run even though the config's `cloud:` (or a saved plan) names another cloud",
        rich_help_panel=TARGET,
    ),
]


def _zone_names(incomplete: str) -> list[str]:
    """Shell completion of --zone: the zones of the configs on the command line so far. Click
    stops parsing at the value-less --zone, before the configs argument is parsed, so they
    are taken from the words the shell passes (typer's completion classes read the same
    variables): those naming a directory or a YAML file."""
    from cstool.model.zones import config_zones

    line = os.environ.get("_TYPER_COMPLETE_ARGS") or os.environ.get("COMP_WORDS") or ""
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote
        words = line.split()
    paths = [Path(w) for w in words if w.endswith((".yaml", ".yml")) or Path(w).is_dir()]
    try:
        state = ops.check_config(paths).state if paths else None
    except Exception:  # a half-typed command line: no suggestions, never a traceback
        return []
    return [z for z in config_zones(state) if z.startswith(incomplete)] if state else []


Zones = Annotated[
    list[str] | None,
    typer.Option(
        "--zone",
        metavar="NAME",
        help="only this zone of the config: its resources and zone settings, not the global "
        "settings; repeatable",
        autocompletion=_zone_names,
    ),
]
COLORS = ("auto", "always", "never")


def _check_color(value: str) -> str:
    if value not in COLORS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(COLORS)}")
    return value


Color = Annotated[
    str,
    typer.Option(
        "--color",
        metavar="WHEN",
        help="auto (on a terminal, unless NO_COLOR is set), always or never",
        callback=_check_color,
    ),
]
LogApi = Annotated[
    bool,
    typer.Option(
        "--log-api",
        "-v",
        help="log every API call on stderr: command, parameters (no secrets), HTTP status, "
        "time in ms, async job id",
        rich_help_panel=TARGET,
    ),
]


def _err(text: str) -> None:
    """Every message to stderr: credentials redacted (errors.redact)."""
    typer.echo(redact(text), err=True)


def _traceback(err: BaseException) -> None:
    """--debug: the full traceback, chained causes included, redacted like every message
    (a transport error's text holds the signed URL)."""
    _err("".join(traceback.format_exception(err)).rstrip())


def run(action: Callable[[], ExitCode], debug: bool = False) -> NoReturn:
    """Run a command body; the one place that turns errors into messages and exit codes."""
    try:
        try:
            code = action()
        finally:  # the command is over: a first signal from here on is ignored, so that
            interrupts.stopping()  # its result is reported and the program ends quietly
    except CstoolError as err:
        if debug:
            _traceback(err)
        report(err)
        code = err.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = ExitCode.ERROR
    except Exception as err:  # a bug in cstool, not a user error
        if debug:
            _traceback(err)
        _err(f"internal error: {type(err).__name__}: {err}")
        _err("re-run with --debug for the traceback, and please report it")
        code = ExitCode.ERROR
    raise typer.Exit(int(code))


def report(err: CstoolError) -> None:
    if isinstance(err, ConfigInvalid):
        for problem in err.problems:
            _err(str(problem))
    _err(f"error: {err}")
    if err.hint:
        _err(f"hint: {err.hint}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cstool {__version__}")
        raise typer.Exit()


@contextmanager
def _api(
    opts: TargetOptions,
    job_timeout: float = 600.0,
    faults: list[str] | None = None,
    deadline: float | None = None,
    parallelism: int = 4,
) -> Iterator[Any]:
    """The composition root: pick the target (never silently the simulator), record, replay."""
    from cstool.cloud.api import Api, configured_target, replay_target, sim_target
    from cstool.cloud.record import Recording, Replay, note_cloudstack_version, start_recording
    from cstool.cloud.targets import one_source

    one_source(opts.sim, opts.profile, opts.replay)  # exactly one target (docs/targets.md)
    with ExitStack() as stack:
        if opts.replay is not None:
            target = replay_target(opts.replay)
            stack.enter_context(Replay(Recording.load(opts.replay), target.endpoint))
        elif opts.sim:
            from cstool.simulator.transport import Fault, Simulator

            try:
                parsed = [Fault.parse(f) for f in faults or []]
            except ValueError as exc:
                raise CstoolError(str(exc)) from None
            target = sim_target(opts.sim_state, parsed, version=opts.sim_version)
            stack.callback(Simulator.release_shared, opts.sim_state)  # saved, file unlocked
        else:
            target = configured_target(opts.profile)
        api = Api(target, job_timeout=job_timeout, deadline=deadline, parallelism=parallelism)
        if opts.log_api:
            from cstool.cloud.log import log_calls

            log_calls(api, _err)  # stderr: stdout stays the report (a plan, YAML, JSON)
        if opts.record is not None:
            recording = start_recording(api, opts.record_endpoint)
            note_cloudstack_version(api, recording)
            stack.callback(_save_recording, recording, opts.record)
        yield api


def _save_recording(recording: Any, path: Path) -> None:
    recording.save(path)
    _err(f"recorded {len(recording.exchanges)} API exchange(s) to {path}")


@dataclass
class TargetOptions:
    sim: bool = False
    sim_state: Path = Path(".cstool/sim.json")
    profile: str | None = None
    record: Path | None = None
    record_endpoint: bool = False
    replay: Path | None = None
    sim_version: str | None = None  # None: the simulator's default
    log_api: bool = False  # -v: a line on stderr per API call (cloud/log.py)


def _color(when: str = "auto") -> bool:
    """Whether stdout gets colour: --color always or never says so; auto means a terminal
    unless NO_COLOR is set to anything but the empty string (https://no-color.org)."""
    if when == "always":
        return True
    if when == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _show(report: str, colored: bool) -> None:
    """A report on stdout. Coloured, it is written as it is (click strips colour codes
    when stdout is no terminal, which --color always overrides)."""
    typer.echo(report, nl=False, color=True if colored else None)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """cstool: CloudStack infrastructure as code."""


@app.command()
def validate(configs: Configs, debug: Debug = False) -> None:
    """Check configs offline: schema, then CloudStack's network rules. Exit 0 valid, 1 invalid.

    Every problem is printed as file:line:col: message. Warnings do not fail validation.
    """

    def action() -> ExitCode:
        checked = ops.check_config(configs)
        for problem in checked.problems:
            typer.echo(str(problem))
        errors, warnings = len(checked.errors), len(checked.warnings)
        summary = (
            f"{errors} error(s), {warnings} warning(s) in {checked.files} file(s)"
            if errors
            else f"valid: {len(checked.state)} resources in {checked.files} file(s)"
            + (f", {warnings} warning(s)" if warnings else "")
        )
        typer.echo(summary)
        return ExitCode.ERROR if errors else ExitCode.OK

    run(action, debug)


@app.command()
def plan(
    configs: Configs,
    fmt: Format = "text",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="save the plan (JSON) for `apply FILE`"),
    ] = None,
    zone: Zones = None,
    color: Color = "auto",
    max_chars: Annotated[
        int,
        typer.Option(
            "--max-chars",
            metavar="N",
            min=0,
            help="-f markdown only: shorten the comment to N characters (0: no limit); "
            "the picture, the API calls, the field details and the per-zone tables are left "
            "out in that order, every zone and its counts kept",
        ),
    ] = 65_000,
    prune: Annotated[
        bool, typer.Option(help="delete what the cloud has and the config lacks")
    ] = False,
    prune_scope: PruneScope = None,
    rotate_secrets: Annotated[
        bool,
        typer.Option(
            "--rotate-secrets",
            help="send the secrets of existing hosts and VMware datacenters again (drift "
            "never compares secrets: the server does not return them)",
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="CONFIG|GIT_REF",
            help="the config before this change (a path, or a git ref such as origin/main: "
            "the same config paths at that commit); steps are shown as from this change "
            "or reverting drift",
            show_default=False,
        ),
    ] = None,
    sim: Sim = False,
    sim_state: SimState = DEFAULT_STATE,
    sim_version: SimVersion = None,
    profile: Profile = None,
    record: Record = None,
    record_endpoint: RecordEndpoint = False,
    replay: Replay = None,
    other_cloud: OtherCloud = False,
    deadline: Deadline = None,
    log_api: LogApi = False,
    debug: Debug = False,
) -> None:
    """Show what apply would change, as the exact API calls in CloudStack's order.

    Exit 0 when there is nothing to do, 3 when there are changes, 1 on error.
    """
    from cstool.render import render_plan

    def action() -> ExitCode:
        if out is not None:
            ops.check_output(out, "plan")  # before the cloud is read
        desired = ops.desired_state(configs)
        check_zones(zone or (), desired.state)  # a usage error, before any read
        based = ops.base_config(base, configs) if base is not None else None  # before any read
        opts = TargetOptions(sim, sim_state, profile, record, record_endpoint, replay, sim_version)
        opts.log_api = log_api
        with _api(opts, deadline=deadline) as api:
            result, _live = ops.plan(
                api,
                desired.state,
                prune,
                other_cloud,
                prune_scope=prune_scope or (),
                zones=zone or (),
                base=based,
                rotate=rotate_secrets,
            )
            cloud = ops.identity_of(api, _live)
        shown = {
            "desired": only_zones(desired.state, zone or ()),  # --zone: the picture too
            "live": only_zones(_live, zone or ()),
            "max_chars": max_chars,
        }
        shown["full_plan"] = str(out) if out is not None else None
        colored = _color(color) and fmt == "text"
        _show(render_plan(fmt, result, api.target.name, color=colored, **shown), colored)
        if out is not None:
            saved = ops.saved_plan(result, desired.state, api.target.name, cloud, zone or ())
            ops.write_output(out, json.dumps(saved, indent=1, sort_keys=True) + "\n", "plan")
            _err(f"plan saved to {out} (checksum {saved['checksum']})")
        return ExitCode.OK if result.empty else ExitCode.CHANGES

    run(action, debug)


@app.command()
def drift(
    configs: Configs,
    fmt: Format = "text",
    zone: Zones = None,
    color: Color = "auto",
    sim: Sim = False,
    sim_state: SimState = DEFAULT_STATE,
    sim_version: SimVersion = None,
    profile: Profile = None,
    record: Record = None,
    record_endpoint: RecordEndpoint = False,
    replay: Replay = None,
    deadline: Deadline = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="also write the report as JSON to FILE (for CI upload)"
        ),
    ] = None,
    log_api: LogApi = False,
    accept: Annotated[
        bool,
        typer.Option(
            "--accept",
            help="keep the cloud's values: write them into the YAML files in place (comments, "
            "order and quoting kept), for all drift or for the RESOURCEs named after the "
            "config, e.g. `drift configs/lab --accept pod lab1/pod1 lab1/203.0.113.10`",
        ),
    ] = False,
    debug: Debug = False,
) -> None:
    """Report what differs between the cloud and the config: changed, deleted or added
    outside cstool.

    Exit 0 in sync, 3 on drift, 1 on error.

    With --accept: 0 when no drift is left, 3 when some that was not accepted is.
    """
    from cstool.render import render_drift

    configs, words = ops.accept_args(configs) if accept else (configs, [])

    def action() -> ExitCode:
        if out is not None:
            ops.check_output(out, "drift report")  # before the cloud is read
        started = time.monotonic()
        if accept and not configs:
            raise CstoolError(
                "--accept: no config file or directory among the arguments",
                hint="give the config first: cstool drift CONFIG --accept [RESOURCE ...]",
            )
        desired = ops.desired_state(configs)
        check_zones(zone or (), desired.state)  # a usage error, before any read
        opts = TargetOptions(sim, sim_state, profile, record, record_endpoint, replay, sim_version)
        opts.log_api = log_api
        with _api(opts, deadline=deadline) as api:
            found = ops.drift(api, desired.state, zone or ())
            info = _drift_info(api, configs, opts, started, zone or ())
            found = replace(found, info=info)
        if accept:
            return _accept(found, configs, words, list(zone or ()))
        colored = _color(color) and fmt == "text"
        _show(render_drift(fmt, found, api.target.name, color=colored), colored)
        if out is not None:
            ops.write_output(out, render_drift("json", found, api.target.name), "drift report")
            _err(f"drift report saved to {out}")
        return ExitCode.OK if found.in_sync else ExitCode.CHANGES

    run(action, debug)


def _accept(found: Drift, configs: list[Path], words: list[str], zones: list[str]) -> ExitCode:
    """`drift --accept`: write the accepted drift into the files, say what changed in each."""
    from cstool.model.accept import write_all

    result, after = ops.accept_drift(found, configs, words, zones)
    write_all(
        {Path(file): text for file, text in result.texts.items()},
        read={Path(file): text for file, text in result.read.items()},
    )
    for file, lines in result.changes.items():
        typer.echo(f"{file}:")
        typer.echo("".join(f"  {line}\n" for line in lines), nl=False)
    accepted = sum(len(lines) for lines in result.changes.values())
    left = len(after.changed) + len(after.missing) + len(after.unmanaged)
    typer.echo(
        f"Accepted {accepted} change(s) in {len(result.texts)} file(s)"
        + (f"; {left} drift item(s) not accepted remain." if left else "; no drift is left.")
    )
    return ExitCode.CHANGES if left else ExitCode.OK


def _drift_info(
    api: Any, configs: list[Path], opts: TargetOptions, started: float, zones: Sequence[str] = ()
) -> RunInfo:
    """The drift report's header: when, how long, which cstool and which CloudStack, and the
    config, zone and target options the footer's commands repeat."""
    from datetime import UTC, datetime

    # ManagementServerImpl.listCapabilities puts cloudStackVersion in its answer only while
    # the setting expose.cloudstack.version.api.list.capabilities is true, and a recording
    # may not hold the call: the version is then unknown (null), never a failure
    try:
        version = api.server_version() or None
    except CstoolError:
        version = None
    args = [arg for name in zones for arg in ("--zone", name)]
    if opts.sim:
        args.append("--sim")
        if opts.sim_state != DEFAULT_STATE:
            args += ["--sim-state", str(opts.sim_state)]
    if opts.profile is not None:
        args += ["--profile", opts.profile]
    return RunInfo(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration=round(time.monotonic() - started, 3),
        cstool_version=__version__,
        cloudstack_version=version,
        configs=tuple(str(c) for c in configs),
        args=tuple(args),
    )


@app.command()
def apply(
    configs: Annotated[
        list[Path],
        typer.Argument(
            metavar="CONFIG...|PLAN.json",
            help="YAML files or directories, or one PLAN.json saved by `plan --out`",
            show_default=False,
        ),
    ],
    zone: Zones = None,
    color: Color = "auto",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    prune: Annotated[bool, typer.Option(help="also delete what the config lacks")] = False,
    prune_scope: PruneScope = None,
    allow_delete: Annotated[bool, typer.Option(help="allow deletes and replaces")] = False,
    force: Annotated[bool, typer.Option(help="allow a plan above the safety threshold")] = False,
    rotate_secrets: Annotated[
        bool,
        typer.Option(
            "--rotate-secrets",
            help="send the secrets of existing hosts and VMware datacenters again (drift "
            "never compares secrets: the server does not return them)",
        ),
    ] = False,
    parallelism: Annotated[
        int, typer.Option(metavar="N", min=1, max=64, help="steps run at once")
    ] = 4,
    job_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="seconds to wait for each async job", callback=_seconds
        ),
    ] = 600,
    sim: Sim = False,
    sim_state: SimState = DEFAULT_STATE,
    sim_version: SimVersion = None,
    profile: Profile = None,
    record: Record = None,
    record_endpoint: RecordEndpoint = False,
    replay: Replay = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CMD[#N]:KIND[=V]",
            help="with --sim: inject a fault, e.g. createPod#1:error=431",
            hidden=True,
        ),
    ] = None,
    other_cloud: OtherCloud = False,
    deadline: Deadline = None,
    log_api: LogApi = False,
    debug: Debug = False,
) -> None:
    """Carry out the plan: confirm, then run it in dependency order. Exit 0 done, 1 error."""
    opts = TargetOptions(sim, sim_state, profile, record, record_endpoint, replay, sim_version)
    opts.log_api = log_api

    def action() -> ExitCode:
        with _api(opts, job_timeout, fault, deadline, parallelism) as api:
            return _apply(
                api,
                configs,
                yes,
                prune,
                allow_delete,
                force,
                parallelism,
                other_cloud,
                prune_scope or [],
                zone or [],
                color,
                rotate_secrets,
            )

    run(action, debug)


def _apply(
    api: Any,
    configs: list[Path],
    yes: bool,
    prune: bool,
    allow_delete: bool,
    force: bool,
    parallelism: int,
    other_cloud: bool = False,
    prune_scope: list[str] | None = None,
    zones: list[str] | None = None,
    color: str = "auto",
    rotate: bool = False,
) -> ExitCode:
    """plan, show, check, confirm, execute, report. A saved plan applies the zones it was
    made for (`plan --zone`); --zone with it must name the same ones."""
    from cstool.errors import ApplyFailed, UnsafePlan
    from cstool.model.plan import check_safety
    from cstool.render import render_plan

    if ops.is_saved_plan(configs):
        saved, desired = ops.load_saved_plan(configs[0])
        scope = saved.get("prune_scope") or ()
        zones = saved_zones(saved, zones or ())
        # a plan saved with --rotate-secrets holds its rotation steps: planned again with it
        rotate = ops.saved_rotate(saved, rotate)
        result, live = ops.plan(
            api,
            desired,
            bool(saved.get("prune")),
            other_cloud,
            prune_scope=scope,
            zones=zones,
            rotate=rotate,
        )
        cloud = ops.identity_of(api, live)
        ops.check_saved(saved, result, cloud, api.target.name, other_cloud)
        _err(f"saved plan {configs[0]} still matches the cloud (checksum {saved['checksum']})")
    else:
        desired = ops.desired_state(configs).state
        check_zones(zones or (), desired)
        result, live = ops.plan(
            api,
            desired,
            prune,
            other_cloud,
            prune_scope=prune_scope or (),
            zones=zones or (),
            rotate=rotate,
        )
    _show(render_plan("text", result, api.target.name, color=_color(color)), _color(color))
    if result.empty:
        return ExitCode.OK
    check_safety(result, allow_delete or result.prune, force)
    if not yes:
        if not _interactive():
            raise UnsafePlan(
                "refusing to apply without confirmation: no terminal to ask on",
                hint="pass --yes to apply non-interactively",
            )
        try:
            confirmed = _confirm(result, api.target)
        except typer.Abort:  # end of input (Ctrl-D) or Ctrl-C at the prompt: a "no"
            _err("\nno answer (end of input): nothing applied")
            return ExitCode.ERROR
        if not confirmed:
            _err("nothing applied")
            return ExitCode.ERROR
    waiting = lambda: len(api.jobs_waiting)  # noqa: E731
    with ops.cloud_lock(api) as lock:  # two operators never apply to one cloud at once
        scope = saved.get("prune_scope") or () if ops.is_saved_plan(configs) else prune_scope
        result, live = ops.recheck(api, result, desired, scope or (), zones or ())
        terminal = sys.stdout.isatty()
        with Progress(len(result.steps), terminal, waiting, _color(color)) as progress:
            outcome = ops.apply(api, result, live, parallelism, progress.event, lock, _restoring)
    for line in progress.summary(outcome):
        typer.echo(line)
    for line in lock.problems if lock is not None else []:
        _err(f"warning: the lock on the cloud was not released: {line}")
    if outcome.stopped_by:
        _err(f"apply stopped: {outcome.stopped_by}")
    for line in _restore_lines(outcome.restores):
        _err(line)
    if not outcome.ok:
        raise ApplyFailed(
            "apply stopped: "
            + ("interrupted" if outcome.interrupted else f"{len(outcome.failed)} step(s) failed"),
            hint="fix the cause and run the same command again: it plans only what remains",
        )
    return ExitCode.OK


def _interactive() -> bool:
    return sys.stdin.isatty()


def confirm_word(target: Any) -> str:
    """What an operator types to apply a destructive or disruptive plan: the host of the
    cloud's endpoint (`simulator` for the built-in one), so a plan meant for another cloud
    cannot be waved through with a reflex `y`."""
    from urllib.parse import urlsplit

    if getattr(target, "simulator", None) is not None:
        return "simulator"
    return urlsplit(str(target.endpoint)).hostname or str(target.name)


def _confirm(result: Any, target: Any) -> bool:
    """y/N for a plan that only creates and updates; the target's name typed out for one
    that deletes, replaces or takes something out of service."""
    from cstool.render.rows import disruption_note

    risks = []
    if result.destructive():
        risks.append(f"deletes or replaces {len({s.key for s in result.destructive()})}")
    if result.disruptions():
        risks.append(f"takes {len(result.disruptions())} out of service")
    if not risks:
        return bool(typer.confirm(f"Apply these {len(result.steps)} steps?"))
    note = disruption_note(result)
    word = confirm_word(target)
    answer = typer.prompt(
        (note + "\n" if note else "")
        + f"This plan {' and '.join(risks)} resource(s) in {len(result.steps)} steps. "
        f"Type the target's name ({word}) to apply",
        default="",
        show_default=False,
    )
    if str(answer).strip() == word:
        return True
    _err(f"the answer was not {word!r}")
    return False


def _restoring(key: Any, command: str) -> None:
    """Said before each restore: should the program be killed meanwhile, the way back is
    on the screen already."""
    _err(f"restoring {label(key.kind, key.path)} (should this not finish: {command})")


def _restore_lines(restores: list[Any]) -> list[str]:
    """What was put back after the stop; loud, with the command, what could not be."""
    from cstool.cloud.restore import Outcome

    lines = []
    for r in restores:
        name = label(r.key.kind, r.key.path)
        if r.outcome is Outcome.RESTORED:
            lines.append(f"restored: {name} is enabled again (this apply had disabled it)")
        elif r.outcome is Outcome.IN_SERVICE:
            lines.append(f"checked: {name} is enabled")
        else:
            lines += [
                f"!!! {name} IS STILL DISABLED: this apply disabled it and could not enable "
                f"it again: {r.error}",
                f"!!! enable it by hand: {r.command}",
            ]
    return lines


# --- apply progress: a live bar on a terminal, a line per finished step when piped ---


def _name(result: StepResult) -> str:
    step = result.step
    return f"{step.title} {label(step.key.kind, step.key.path)}"


def _failed(result: StepResult) -> str:
    return "outcome unknown" if result.status is Status.UNKNOWN else "failed"


class Progress:
    """Steps done/total and what is running, on a terminal; a line per finished step if not."""

    def __init__(
        self, total: int, terminal: bool, waiting: Callable[[], int], color: bool = True
    ) -> None:
        self.total = total
        self.waiting = waiting  # how many async jobs are pending
        self.done = 0
        self.running: dict[int, str] = {}
        self.lock = threading.Lock()
        self.terminal = terminal
        self.console = Console(highlight=False, no_color=not color)  # --color, NO_COLOR
        self.bar: RichProgress | None = None
        self.task: Any = None

    def __enter__(self) -> Progress:
        if self.terminal:
            self.bar = RichProgress(
                TextColumn("[bold]apply"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def event(self, kind: str, result: StepResult) -> None:
        if kind == "state":  # a wait saw a new state (a host Connecting, then Up)
            self._state(result)
            return
        with self.lock:
            if kind in ("start", "call"):
                self.running[result.index] = result.call or "..."
            else:
                self.running.pop(result.index, None)
                self.done += 1
            if self.bar is not None:
                jobs = self.waiting()
                calls = sorted(set(self.running.values()))
                now = f"{len(self.running)} running: {', '.join(calls[:3])}"
                now += ", ..." if len(calls) > 3 else ""
                now += f" · {jobs} async job(s) waiting" if jobs else ""
                self.bar.update(self.task, completed=self.done, description=now)
            if kind in ("start", "call"):
                return
            line = f"[{self.done}/{self.total}] {result.status.value}: {_name(result)}"
            if result.error:
                line += f" - {redact(result.error)}"
            elif result.note:
                line += f" ({redact(result.note)})"
            if self.bar is not None:
                self.bar.console.print(line, markup=False)
            else:
                self.console.print(line, markup=False, soft_wrap=True)

    def _state(self, result: StepResult) -> None:
        """A waiting step's state: in the bar's text on a terminal, a line when piped."""
        with self.lock:
            text = f"{_name(result)}: {result.state}"
            self.running[result.index] = text
            if self.bar is not None:
                self.bar.update(self.task, description=f"{len(self.running)} running · {text}")
            else:
                self.console.print(f"[{self.done}/{self.total}] {text}", markup=False)

    def summary(self, report: ApplyReport) -> list[str]:
        lines = [
            f"Apply: {report.count(Status.DONE)} done, {report.count(Status.FAILED)} "
            f"failed, {report.count(Status.NOT_STARTED)} not started"
            + (f", {n} outcome unknown" if (n := report.count(Status.UNKNOWN)) else "")
            + (" (interrupted)" if report.interrupted else "")
            + "."
        ]
        for r in report.failed:
            where = f"{r.step.origin}: " if r.step.origin else ""
            lines.append(f"{where}{_name(r)} {_failed(r)}: {redact(r.error or '')}")
        pending = [r for r in report.results if r.status is Status.NOT_STARTED]
        if pending:
            lines.append("Not started:")
            lines += [f"  {_name(r)}" for r in pending[:20]]
            if len(pending) > 20:
                lines.append(f"  ... and {len(pending) - 20} more")
        return lines


def _sim_owners(sim: Any, domains: list[str], accounts: list[str], projects: list[str]) -> None:
    """Give the simulator the domains, accounts (PATH:NAME) and projects (PATH:NAME) that
    configs reference; ValueError names a malformed one."""
    for path in domains:
        sim.add_domain(path)
    for option, items, add in (
        ("--account", accounts, sim.add_account),
        ("--project", projects, sim.add_project),
    ):
        for item in items:
            path, colon, name = item.rpartition(":")
            if not colon or not path or not name:
                raise ValueError(f"{option} {item!r}: write PATH:NAME, e.g. ROOT/customers:acme")
            add(path, name)


@sim_app.command("serve")
def sim_serve(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="port to listen on")] = 8080,
    state: Annotated[
        Path, typer.Option(metavar="FILE", help="state file (shared with --sim-state)")
    ] = DEFAULT_STATE,
    api_key: Annotated[
        str | None,
        typer.Option(metavar="KEY", help="API key clients sign with (random if unset)"),
    ] = None,
    secret_key: Annotated[
        str | None, typer.Option(metavar="SECRET", help="secret key (random if unset)")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CMD[#N]:KIND[=V]",
            help="inject a fault: COMMAND or COMMAND#N (its Nth call), then :latency=S, "
            ":error=CODE, :job, :drop or :lose; repeatable",
        ),
    ] = None,
    job_polls: Annotated[
        int, typer.Option(metavar="N", min=0, help="times queryAsyncJobResult says 'pending'")
    ] = 1,
    cloudstack_version: Annotated[
        str,
        typer.Option(
            "--cloudstack-version",
            metavar="VERSION",
            help="the version to pretend to be: listCapabilities reports it, newer commands "
            "are unknown (401) and newer parameters ignored",
            callback=_check_version,
        ),
    ] = "4.22.0.0",
    host_connect: Annotated[
        float,
        typer.Option(
            "--host-connect",
            metavar="SECONDS",
            min=0,
            help="seconds an added host stays Connecting before it is Up (a slow agent)",
        ),
    ] = 0.0,
    domain: Annotated[
        list[str] | None,
        typer.Option(
            "--domain",
            metavar="PATH",
            help="a domain to have (ROOT/a/b, with its parents); repeatable",
        ),
    ] = None,
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account", metavar="PATH:NAME", help="an account NAME in domain PATH; repeatable"
        ),
    ] = None,
    project: Annotated[
        list[str] | None,
        typer.Option(
            "--project", metavar="PATH:NAME", help="a project NAME in domain PATH; repeatable"
        ),
    ] = None,
) -> None:
    """Serve the simulator over HTTP at /client/api for any CloudStack client."""
    from cstool.simulator.transport import Fault, Simulator, make_server

    key = api_key or secrets.token_urlsafe(24)
    secret = secret_key or secrets.token_urlsafe(32)
    try:
        faults = [Fault.parse(f) for f in fault or []]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    try:
        sim = Simulator(
            state,
            keys={key: secret},
            faults=faults,
            job_polls=job_polls,
            version=cloudstack_version,
            host_connect=host_connect,
        )
    except (ValueError, CstoolError) as exc:  # a damaged state file, or one in use
        report(exc if isinstance(exc, CstoolError) else CstoolError(str(exc)))
        raise typer.Exit(int(ExitCode.ERROR)) from None
    try:
        _sim_owners(sim, domain or [], account or [], project or [])
    except ValueError as exc:
        sim.close()
        raise typer.BadParameter(str(exc)) from None
    try:
        server = make_server(sim, host, port)
    except OSError as exc:
        sim.close()
        _err(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(int(ExitCode.ERROR)) from None
    endpoint = f"http://{host}:{server.server_address[1]}/client/api"
    typer.echo(f"CloudStack simulator listening on {endpoint} (state: {state})")
    for name, value in (("ENDPOINT", endpoint), ("KEY", key), ("SECRET", secret)):
        typer.echo(f"export CLOUDSTACK_{name}={shlex.quote(value)}")  # for eval "$(...)"
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        try:
            sim.close()  # saves what is pending and unlocks the state file
        except CstoolError as exc:
            report(exc)
            raise typer.Exit(int(ExitCode.ERROR)) from None


@app.command()
def export(
    zone: Annotated[
        list[str] | None,
        typer.Option("--zone", metavar="NAME", help="only this zone (repeatable)"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="write the YAML to FILE, not stdout"),
    ] = None,
    split: Annotated[
        Path | None, typer.Option("--split", help="write one file per zone into DIR", metavar="DIR")
    ] = None,
    sim: Sim = False,
    sim_state: SimState = DEFAULT_STATE,
    sim_version: SimVersion = None,
    profile: Profile = None,
    record: Record = None,
    record_endpoint: RecordEndpoint = False,
    replay: Replay = None,
    deadline: Deadline = None,
    log_api: LogApi = False,
    debug: Debug = False,
) -> None:
    """Write the live cloud as config YAML (stdout, -o FILE, or --split DIR); its plan is
    empty."""
    from cstool import __version__
    from cstool.model.export import dump

    if out is not None and split is not None:
        raise typer.BadParameter("give -o FILE or --split DIR, not both", param_hint="'-o'")

    def action() -> ExitCode:
        if out is not None:
            ops.check_output(out, "export")  # a missing directory: said before the cloud is read
        opts = TargetOptions(sim, sim_state, profile, record, record_endpoint, replay, sim_version)
        opts.log_api = log_api
        with _api(opts, deadline=deadline) as api:
            config = ops.export(api, zone or [])
            header = f"Exported from {api.target.name} by cstool {__version__}."
        if out is not None:
            ops.write_output(out, dump(config, header), "export")
            _err(f"wrote {out}")
            return ExitCode.OK
        if split is None:
            typer.echo(dump(config, header), nl=False)
            return ExitCode.OK
        for path in ops.write_split(config, split, header):
            _err(f"wrote {path}")
        return ExitCode.OK

    run(action, debug)


@app.command("import-marvin")
def import_marvin(
    cfg: Annotated[
        Path, typer.Argument(metavar="FILE.cfg", help="a Marvin deployDataCenter config")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="FILE", help="write the YAML here")
    ] = None,
    debug: Debug = False,
) -> None:
    """Convert a Marvin zone config into cstool YAML, then validate it.

    Passwords and keys become {env: NAME} references; a note names each variable to set.
    What cstool does not model (external devices) is listed as a warning.
    Exit 0 when the result validates, 1 when it does not.
    """

    def action() -> ExitCode:
        text, warnings, notes = ops.import_marvin(cfg)
        for warning in warnings:
            _err(f"{cfg}: warning: {warning}")
        for note in notes:
            _err(f"{cfg}: note: {note}")
        if out is None:
            typer.echo(text, nl=False)
        else:
            ops.write_output(out, text, "converted config")
            _err(f"wrote {out}")
        checked = ops.check_text(text, str(out) if out else "<stdout>")
        for problem in checked.problems:
            _err(str(problem))
        return ExitCode.ERROR if checked.errors else ExitCode.OK

    run(action, debug)


@app.command()
def graph(
    configs: Configs,
    live: Annotated[
        bool, typer.Option("--live", help="draw the live cloud (the config's zones) via a target")
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="mermaid, svg or dot", metavar="FORMAT")
    ] = "mermaid",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the picture here", metavar="FILE")
    ] = None,
    sim: Sim = False,
    sim_state: SimState = DEFAULT_STATE,
    sim_version: SimVersion = None,
    profile: Profile = None,
    record: Record = None,
    record_endpoint: RecordEndpoint = False,
    replay: Replay = None,
    deadline: Deadline = None,
    log_api: LogApi = False,
    debug: Debug = False,
) -> None:
    """Draw each zone: physical networks, traffic labels, providers, public ranges, pods.

    From the config; with --live, the cloud as a target reads it (only the config's zones).
    """
    from cstool.render import graph as drawing

    def action() -> ExitCode:
        if fmt not in drawing.FORMATS:
            raise CstoolError(f"--format {fmt}: one of {', '.join(drawing.FORMATS)}")
        if out is not None:
            ops.check_output(out, "picture")
        state = ops.desired_state(configs).state
        if live:
            opts = TargetOptions(
                sim, sim_state, profile, record, record_endpoint, replay, sim_version, log_api
            )
            with _api(opts, deadline=deadline) as api:
                state = drawing.zones_only(ops.read_for(api, state), state)
        text = drawing.render(fmt, state)
        if out is None:
            typer.echo(text, nl=False)
        else:
            ops.write_output(out, text, "picture")
            _err(f"wrote {out}")
        return ExitCode.OK

    run(action, debug)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config format (for yaml-language-server and editors)."""
    from cstool.model.loader import json_schema

    typer.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


def main() -> None:
    interrupts.install()  # Ctrl-C and SIGTERM alike (cstool/interrupts.py)
    interrupts.running()
    try:
        app(prog_name="cstool")
    finally:
        interrupts.stopping()


if __name__ == "__main__":
    main()
