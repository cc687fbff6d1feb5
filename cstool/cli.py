"""The Typer app: the only module that prints and that maps errors to exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cstool import __version__, ops
from cstool.errors import ConfigInvalid, CstoolError, ExitCode

app = typer.Typer(
    help="Keep the infrastructure of an Apache CloudStack cloud as code: zones, pods, physical "
    "networks, traffic types, providers, IP ranges and settings in YAML.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold API secrets
    add_completion=False,
)
sim_app = typer.Typer(help="The built-in CloudStack API simulator.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")

Configs = Annotated[list[Path], typer.Argument(help="YAML files or directories (read recursively)",
                                               show_default=False)]
Debug = Annotated[bool, typer.Option("--debug", help="show the full traceback of a failure")]


def _err(text: str) -> None:
    typer.echo(text, err=True)


def run(action: Callable[[], ExitCode], debug: bool = False) -> NoReturn:
    """Run a command body; the one place that turns errors into messages and exit codes."""
    try:
        code = action()
    except CstoolError as err:
        if debug:
            raise
        report(err)
        code = err.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = ExitCode.ERROR
    except Exception as err:  # a bug in cstool, not a user error
        if debug:
            raise
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


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
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
        summary = (f"{errors} error(s), {warnings} warning(s) in {checked.files} file(s)"
                   if errors else
                   f"valid: {len(checked.state)} resources in {checked.files} file(s)"
                   + (f", {warnings} warning(s)" if warnings else ""))
        typer.echo(summary)
        return ExitCode.ERROR if errors else ExitCode.OK

    run(action, debug)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config format (for yaml-language-server and editors)."""
    from cstool.model.loader import json_schema

    typer.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


def main() -> None:
    app(prog_name="cstool")


if __name__ == "__main__":
    sys.exit(main())
