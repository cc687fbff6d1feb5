"""The routine features of the command line: --zone on plan, apply and drift, shell
completion, --color and NO_COLOR, the -v/--log-api log of API calls, export -o, and help
that names values by a word (FILE, N, SECONDS) with examples, never by a Python type."""

from __future__ import annotations

import json
import re
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
import typer.main
from typer.testing import CliRunner, Result

from cstool import cli
from cstool.cli import app
from cstool.cli_help import EXAMPLES
from cstool.cloud.log import describe
from cstool.cloud.targets import SIM_KEY, SIM_SECRET
from cstool.errors import ExitCode
from cstool.simulator.transport import Simulator, make_server
from tests.conftest import CONFIGS

runner = CliRunner()
REGION = str(CONFIGS / "region")  # two zones, fra1 and fra2
ANSI = "\x1b["


@pytest.fixture
def settled(tmp_path: Path) -> str:
    """The region config with a global setting the simulator does not have yet."""
    copy = tmp_path / "region"
    copy.mkdir()
    for path in (CONFIGS / "region").glob("*.yaml"):
        (copy / path.name).write_text(path.read_text())
    settings = copy / "settings.yaml"
    text = settings.read_text()
    assert "check.pod.cidrs: true" in text
    settings.write_text(text.replace("check.pod.cidrs: true", "check.pod.cidrs: false"))
    return str(copy)


def _sim(tmp_path: Path) -> list[str]:
    return ["--sim", "--sim-state", str(tmp_path / "sim.json")]


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


def _plan_json(tmp_path: Path, *extra: str, config: str = REGION) -> dict[str, Any]:
    result = _run("plan", config, *_sim(tmp_path), "-f", "json", *extra)
    assert result.exit_code == ExitCode.CHANGES, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _zones_of(plan: dict[str, Any]) -> set[str]:
    """The zone each step acts in; `-` for a global setting."""
    return {
        s["resource"].split(":", 1)[1].split("/")[0] if s["kind"] != "setting" else "-"
        for s in plan["steps"]
    }


# --- --zone ------------------------------------------------------------------------------


def test_plan_with_zone_plans_only_that_zone_and_leaves_global_settings(
    tmp_path: Path, settled: str
) -> None:
    assert _zones_of(_plan_json(tmp_path, config=settled)) == {"fra1", "fra2", "-"}
    assert _zones_of(_plan_json(tmp_path, "--zone", "fra2", config=settled)) == {"fra2"}
    both = _plan_json(tmp_path, "--zone", "fra1", "--zone", "fra2", config=settled)
    assert _zones_of(both) == {"fra1", "fra2"}


@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_an_unknown_zone_is_a_usage_error_naming_the_config_zones(
    tmp_path: Path, command: str
) -> None:
    extra = ["--yes"] if command == "apply" else []
    result = _run(command, REGION, *_sim(tmp_path), "--zone", "fra3", *extra)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "--zone fra3" in result.output and "fra1, fra2" in result.output


def test_apply_and_drift_with_zone_touch_only_that_zone(tmp_path: Path) -> None:
    applied = _run("apply", REGION, *_sim(tmp_path), "--zone", "fra2", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "fra1" not in applied.stdout
    assert _run("drift", REGION, *_sim(tmp_path), "--zone", "fra2").exit_code == ExitCode.OK
    whole = _run("drift", REGION, *_sim(tmp_path), "-f", "json")
    assert whole.exit_code == ExitCode.CHANGES
    assert "fra1" in whole.stdout  # the other zone was left alone: still to be made
    assert _zones_of(_plan_json(tmp_path)) == {"fra1"}


def test_a_zone_of_clusters_hosts_and_storage_keeps_them_under_zone(tmp_path: Path) -> None:
    """--zone keeps what the config says of its cloud, the compute and storage it manages
    too: with them dropped, the hosts and pools read back would be planned again."""
    compute = str(CONFIGS / "compute")
    assert _run("apply", compute, *_sim(tmp_path), "--yes").exit_code == ExitCode.OK
    again = _run("plan", compute, *_sim(tmp_path), "--zone", "compute1")
    assert again.exit_code == ExitCode.OK, again.stdout


def test_a_saved_plan_keeps_its_zones_and_applies_exactly_them(tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    planned = _run("plan", REGION, *_sim(tmp_path), "--zone", "fra1", "--out", str(saved))
    assert planned.exit_code == ExitCode.CHANGES, planned.output
    body = json.loads(saved.read_text())
    assert body["zones"] == ["fra1"]
    assert {d["resource"].split(":")[1].split("/")[0] for d in body["desired"]} == {"fra1"}
    other = _run("apply", str(saved), *_sim(tmp_path), "--zone", "fra2", "--yes")
    assert other.exit_code == ExitCode.USAGE and "made for --zone fra1" in other.output
    applied = _run("apply", str(saved), *_sim(tmp_path), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "still matches the cloud" in applied.output
    assert _run("drift", REGION, *_sim(tmp_path), "--zone", "fra1").exit_code == ExitCode.OK
    assert _zones_of(_plan_json(tmp_path)) == {"fra2"}


# --- colour ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "no_color", "tty", "expected"),
    [
        ("auto", None, True, True),
        ("auto", None, False, False),
        ("auto", "1", True, False),
        ("auto", "", True, True),  # an empty NO_COLOR is no request (no-color.org)
        ("always", "1", False, True),
        ("never", None, True, False),
    ],
)
def test_colour_follows_color_then_no_color_then_the_terminal(
    monkeypatch: pytest.MonkeyPatch, when: str, no_color: str | None, tty: bool, expected: bool
) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: tty, raising=False)
    assert cli._color(when) is expected


def test_color_always_colours_a_piped_plan_and_never_does_not(tmp_path: Path) -> None:
    always = _run("plan", REGION, *_sim(tmp_path), "--color", "always", env={"NO_COLOR": "1"})
    assert always.exit_code == ExitCode.CHANGES and ANSI in always.stdout
    piped = _run("plan", REGION, *_sim(tmp_path))
    assert ANSI not in piped.stdout
    drift = _run("drift", REGION, *_sim(tmp_path), "--color", "never")
    assert drift.exit_code == ExitCode.CHANGES and ANSI not in drift.stdout
    bad = _run("plan", REGION, *_sim(tmp_path), "--color", "sometimes")
    assert bad.exit_code == ExitCode.USAGE and "auto, always, never" in bad.output


# --- -v / --log-api ----------------------------------------------------------------------

LINE = re.compile(
    r"^api: (GET|POST) (\w+)(?: (.*))? -> (\d{3}) in (\d+) ms(?:, job (\S+)(?: (\w+))?)?$"
)


def _log(stderr: str) -> list[re.Match[str]]:
    found = [LINE.match(line) for line in stderr.splitlines() if line.startswith("api: ")]
    assert all(found), stderr
    return [m for m in found if m]


def test_log_api_shows_every_call_with_status_time_and_async_job(tmp_path: Path) -> None:
    quiet = _run("apply", REGION, *_sim(tmp_path), "--zone", "fra1", "--yes")
    assert quiet.exit_code == 0 and "api: " not in quiet.output
    result = _run("apply", REGION, *_sim(tmp_path), "--zone", "fra2", "--yes", "-v")
    assert result.exit_code == 0, result.output
    calls = _log(result.stderr)
    assert "api: " not in result.stdout  # the log is on stderr only
    commands = [m[2] for m in calls]
    assert "listZones" in commands and "createZone" in commands
    zone = next(m for m in calls if m[2] == "createZone")
    assert zone[1] == "POST" and "name=fra2" in zone[3] and zone[4] == "200"
    started = {m[6]: m[2] for m in calls if m[6] and m[2] != "queryAsyncJobResult"}
    assert started  # an async command's answer names its job
    polls = [m for m in calls if m[2] == "queryAsyncJobResult"]
    assert {m[6] for m in polls} == set(started)  # every job is polled, by the same id
    assert {m[7] for m in polls} >= {"pending", "done"}


def test_log_api_on_plan_drift_and_export(tmp_path: Path) -> None:
    for args in (
        ["plan", REGION, "--log-api"],
        ["drift", REGION, "-v"],
        ["export", "-v"],
    ):
        result = _run(*args, *_sim(tmp_path))
        assert any(m[2] == "listZones" for m in _log(result.stderr)), args


@pytest.fixture
def http_sim() -> Iterator[str]:
    """The simulator over HTTP on 127.0.0.1, signing with the simulator's key and secret."""
    sim = Simulator(keys={SIM_KEY: SIM_SECRET})
    server = make_server(sim, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        sim.close()


def test_log_api_never_shows_a_credential(http_sim: str, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "-".join(("endpoint", "pa55" + "word", "QrS"))  # no credential-shaped literal
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", f"http://ops:{password}@{http_sim}/client/api")
    monkeypatch.setenv("CLOUDSTACK_KEY", SIM_KEY)
    monkeypatch.setenv("CLOUDSTACK_SECRET", SIM_SECRET)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    result = _run("apply", str(CONFIGS / "basic"), "--yes", "-v")
    assert result.exit_code == 0, result.output
    assert len(_log(result.stderr)) > 10
    for needle in (SIM_KEY, SIM_SECRET, password, "sign" + "ature", "api" + "key=", "expires"):
        assert needle.lower() not in result.output.lower(), needle


def test_a_logged_call_redacts_credential_parameters_and_url_passwords() -> None:
    secret = "-".join(("host", "pa55" + "word", "Abc"))
    request = requests.Request(
        "POST",
        "http://cloud.example/client/api",
        data={
            "command": "addHost",
            "url": "http://10.0.0.5",
            "pass" + "word": secret,
            "details[0]." + "pass" + "word": secret,
            "storageurl": f"rbd://admin:{secret}@ceph/pool",
            "api" + "Key": secret,
            "sign" + "ature": secret,
        },
    ).prepare()
    line = describe(request)
    assert line.startswith("POST addHost ") and "url=http://10.0.0.5" in line
    assert secret not in line and "<redacted>" in line


# --- export -o ---------------------------------------------------------------------------


def test_export_writes_to_a_file_and_refuses_a_missing_directory(tmp_path: Path) -> None:
    assert _run("apply", REGION, *_sim(tmp_path), "--yes").exit_code == 0
    out = tmp_path / "fra1.yaml"
    written = _run("export", *_sim(tmp_path), "--zone", "fra1", "-o", str(out))
    assert written.exit_code == 0, written.output
    assert written.stdout == "" and "name: fra1" in out.read_text()
    plan = _run("plan", str(out), *_sim(tmp_path))
    assert plan.exit_code == ExitCode.OK, plan.output  # what was written is the cloud
    missing = tmp_path / "no" / "such" / "x.yaml"
    refused = _run("export", *_sim(tmp_path), "-o", str(missing))
    assert refused.exit_code == ExitCode.ERROR
    assert f"the directory {missing.parent} does not exist" in refused.output
    both = _run("export", *_sim(tmp_path), "-o", str(out), "--split", str(tmp_path / "d"))
    assert both.exit_code == ExitCode.USAGE


# --- shell completion --------------------------------------------------------------------


def _complete(words: str) -> list[str]:
    env = {"_CSTOOL_COMPLETE": "complete_bash", "COMP_WORDS": words}
    env["COMP_CWORD"] = str(len(shlex.split(words)) - (0 if words.endswith(" ") else 1))
    result = runner.invoke(app, [], prog_name="cstool", env=env)
    return result.stdout.split()


def test_shell_completion_is_offered_and_completes_commands_and_zones() -> None:
    helped = _run("--help")
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout
    # the script for the shell `--show-completion` finds (it detects the shell of the
    # process; under CI or a detached job there may be none, so the detection says bash)
    with mock.patch("shellingham.detect_shell", return_value=("bash", "/bin/bash")):
        script = runner.invoke(app, ["--show-completion"], prog_name="cstool")
    assert script.exit_code == 0 and "_CSTOOL_COMPLETE=complete_bash" in script.stdout
    assert _complete("cstool pl") == ["plan"]
    assert _complete(f"cstool plan {REGION} --zone ") == ["fra1", "fra2"]
    assert _complete(f"cstool drift {REGION} --zone fra2 --zone fra1") == ["fra1"]


# --- help: words, not Python types; examples ---------------------------------------------


def _command_paths() -> list[list[str]]:
    """Every command and group, as the words that name it."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(group: Any, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            paths.append([*prefix, name])
            if hasattr(command, "commands"):
                walk(command, [*prefix, name])

    walk(root, [])
    return paths


PYTHON_TYPES = re.compile(r"<[a-z]|list\[|\{\w+\}|[<>]=?\s*x|x\s*[<>]=?|\b(?:bool|str|int|float)\b")


@pytest.mark.parametrize("words", _command_paths(), ids=lambda w: " ".join(w) or "cstool")
def test_help_names_values_by_words_and_shows_examples(words: list[str]) -> None:
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "200"}, prog_name="cstool")
    assert result.exit_code == 0, result.output
    assert not PYTHON_TYPES.search(result.stdout), PYTHON_TYPES.search(result.stdout)
    if words and words != ["sim"]:
        assert "Examples:" in result.stdout
        for line in EXAMPLES[" ".join(words)]:
            assert line in result.stdout


def test_every_help_example_parses() -> None:
    """Each example names options the command has and values they accept."""
    root = typer.main.get_command(app)
    for path, lines in EXAMPLES.items():
        for line in lines:
            args = shlex.split(line.split(" > ")[0])[1:]
            ctx = root.make_context("cstool", list(args))
            command: Any = root
            rest = args
            while hasattr(command, "commands"):
                name, command, rest = command.resolve_command(ctx, rest)
                ctx = command.make_context(name, list(rest), parent=ctx)
            assert ctx.command_path.split()[1:] == path.split(), line
