"""Bad input gets a located, actionable message, never "internal error" or a traceback.

One test (or one parametrized set) per class of input: malformed Marvin configs, malformed
recordings for --replay, an output file in a missing directory, end of input at the
confirmation prompt, a config in a directory that cannot be read, malformed simulator
state files. cli.run keeps "internal error" for bugs in cstool itself.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from cstool.cli import app
from tests.conftest import CONFIGS, DATA, ROOT

runner = CliRunner()


def _clean(result: Result) -> str:
    """The output, after checking it is a handled error: exit 1, no internal error, and no
    exception but the exit itself."""
    assert "internal error" not in result.output, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    return result.output


# --- import-marvin: every malformed config names the file and the JSON path ----------------

MARVIN_BASE: dict[str, Any] = {
    "zones": [
        {
            "name": "z",
            "networktype": "Advanced",
            "dns1": "8.8.8.8",
            "internaldns1": "8.8.4.4",
            "physical_networks": [
                {
                    "name": "pn",
                    "isolationmethods": ["VLAN"],
                    "traffictypes": [{"typ": "Guest"}, {"typ": "Management"}, {"typ": "Public"}],
                    "providers": [{"name": "VirtualRouter"}],
                }
            ],
            "ipranges": [
                {
                    "gateway": "192.0.2.1",
                    "netmask": "255.255.255.0",
                    "startip": "192.0.2.10",
                    "endip": "192.0.2.20",
                }
            ],
            "pods": [
                {
                    "name": "p",
                    "gateway": "10.0.0.1",
                    "netmask": "255.255.255.0",
                    "startip": "10.0.0.10",
                    "endip": "10.0.0.20",
                }
            ],
        }
    ],
    "globalConfig": [{"name": "expunge.delay", "value": "60"}],
}


def _zone(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["zones"][0]  # type: ignore[no-any-return]


def _pn(doc: dict[str, Any]) -> dict[str, Any]:
    return _zone(doc)["physical_networks"][0]  # type: ignore[no-any-return]


MARVIN_EDITS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "zone without a name": (lambda d: _zone(d).pop("name"), "zones[0].name: missing"),
    "zone name an object": (
        lambda d: _zone(d).update(name={"a": 1}),
        "zones[0].name: expected a string, not an object",
    ),
    "unknown network type": (
        lambda d: _zone(d).update(networktype="Fancy"),
        "zones[0].networktype: 'Fancy' is not one of Advanced, Basic",
    ),
    "zone not an object": (
        lambda d: d.update(zones=[7]),
        "zones[0]: expected an object {...}, not a number",
    ),
    "physical networks a string": (
        lambda d: _zone(d).update(physical_networks="pn"),
        "zones[0].physical_networks: expected a list [...], not a string",
    ),
    "traffic type without typ": (
        lambda d: _pn(d)["traffictypes"].append({"kvm": "cloudbr0"}),
        "zones[0].physical_networks[0].traffictypes[3].typ: missing",
    ),
    "provider without a name": (
        lambda d: _pn(d)["providers"].append({}),
        "zones[0].physical_networks[0].providers[1].name: missing",
    ),
    "isolation methods a string": (
        lambda d: _pn(d).update(isolationmethods="VLAN"),  # not silently "V"
        "isolationmethods: expected a list of strings, not a string",
    ),
    "pod without a gateway": (
        lambda d: _zone(d)["pods"][0].pop("gateway"),
        "zones[0].pods[0].gateway: missing",
    ),
    "range without a start": (
        lambda d: _zone(d)["ipranges"][0].pop("startip"),
        "zones[0].ipranges[0].startip: missing",
    ),
    "bad boolean": (
        lambda d: _zone(d).update(securitygroupenabled="maybe"),
        "zones[0].securitygroupenabled: 'maybe' is not a boolean",
    ),
    "globalConfig an object": (
        lambda d: d.update(globalConfig={"expunge.delay": 60}),
        "globalConfig: expected a list [...], not an object",
    ),
    "setting without a name": (
        lambda d: d["globalConfig"].append({"value": 1}),
        "globalConfig[1].name: missing",
    ),
    "vmwaredc a list": (
        lambda d: _zone(d).update(vmwaredc=["dc"]),
        "zones[0].vmwaredc: expected an object {...}, not a list",
    ),
    "label a list": (
        lambda d: _pn(d)["traffictypes"][0].update(kvm=["cloudbr0"]),
        "traffictypes[0].kvm: expected a string, not a list",
    ),
}


def test_the_marvin_base_document_converts(tmp_path: Path) -> None:
    """The edits below break a document that converts cleanly."""
    path = tmp_path / "base.cfg"
    path.write_text(json.dumps(MARVIN_BASE))
    result = runner.invoke(app, ["import-marvin", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", sorted(MARVIN_EDITS))
def test_malformed_marvin_config_names_the_file_and_json_path(case: str, tmp_path: Path) -> None:
    edit, expected = MARVIN_EDITS[case]
    doc = copy.deepcopy(MARVIN_BASE)
    edit(doc)
    path = tmp_path / "bad.cfg"
    path.write_text("# a Marvin config\n" + json.dumps(doc, indent=2))
    output = _clean(runner.invoke(app, ["import-marvin", str(path)]))
    assert f"error: {path}: " in output and expected in output, output
    assert "hint: fix that value in the Marvin config" in output


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 100 levels"),
        (b'{"zones": [' * 60 + b"]}" * 60, "nested deeper than 100 levels"),
        (b'{"zones": [{"name": "\xff"}]}', ":1:22: not valid UTF-8 text: byte 0xff"),
        (b"[1, 2]", "not a Marvin config (no 'zones' list)"),
        (b'"zones"', "not a Marvin config (no 'zones' list)"),
        (b"# only a comment\n", "not a Marvin config: Expecting value"),
    ],
    ids=["100k-deep", "deep-zones", "not-utf8", "a-list", "a-string", "empty"],
)
def test_unreadable_marvin_documents_are_refused_clearly(
    data: bytes, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "x.cfg"
    path.write_bytes(data)
    output = _clean(runner.invoke(app, ["import-marvin", str(path)]))
    assert expected in output, output


def test_marvin_config_in_utf16_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.cfg"
    path.write_bytes(json.dumps(MARVIN_BASE).encode("utf-16"))
    result = runner.invoke(app, ["import-marvin", str(path)])
    assert result.exit_code == 0, result.output
    assert "name: z" in result.output


def test_marvin_extra_tags_are_named_not_dropped(tmp_path: Path) -> None:
    doc = copy.deepcopy(MARVIN_BASE)
    _pn(doc)["tags"] = ["a", "b"]
    path = tmp_path / "x.cfg"
    path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["import-marvin", str(path)])
    assert "kept tag a, skipped b" in result.output, result.output


# --- --replay: a malformed recording is located -------------------------------------------

HEAD = "cstool_recording: 1\nexchanges:\n"
ONE = "- {command: listZones, params: {}, status: 200, body: {}}\n"
RECORDINGS = {
    "not YAML": ("a: [\n", ":2:1: not a cstool recording: YAML:"),
    "a list": ("- 1\n", "not a cstool recording (no 'cstool_recording: 1'"),
    "no marker": ("exchanges: []\n", "not a cstool recording (no 'cstool_recording: 1'"),
    "exchanges text": (
        "cstool_recording: 1\nexchanges: abc\n",
        ":2:12: exchanges: expected a list",
    ),
    "exchange a number": (HEAD + "- 1\n", ":3:3: exchange 1: expected a mapping, not a number"),
    "no command": (HEAD + "- {status: 200, body: {}}\n", ":3:3: exchange 1: missing 'command'"),
    "no status": (HEAD + "- {command: listZones, body: {}}\n", "exchange 1: missing 'status'"),
    "no body": (HEAD + "- {command: listZones, status: 200}\n", "exchange 1: missing 'body'"),
    "typo key": (
        HEAD + ONE + "- {command: listPods, stauts: 200, body: {}}\n",
        ":4:31: exchange 2: unknown key 'stauts'",
    ),
    "status text": (
        HEAD + "- {command: listZones, status: ok, body: {}}\n",
        ":3:32: exchange 1 (listZones): status: expected an HTTP status 100-599, not 'ok'",
    ),
    "params a list": (
        HEAD + "- {command: listZones, params: [1], status: 200, body: {}}\n",
        "exchange 1 (listZones): params: expected a mapping, not a list",
    ),
    "param a mapping": (
        HEAD + "- {command: listZones, params: {id: {a: 1}}, status: 200, body: {}}\n",
        "exchange 1 (listZones): params: id: expected text, not a mapping",
    ),
    "body a date": (
        HEAD + "- {command: listZones, status: 200, body: {created: 2024-01-01}}\n",
        ":3:53: exchange 1 (listZones): body: a date is not a JSON value",
    ),
    "body binary": (
        HEAD + "- {command: listZones, status: 200, body: !!binary aGVsbG8=}\n",
        "body: binary data is not a JSON value",
    ),
    "python tag": (
        HEAD + "- !!python/object:object {}\n",
        "could not determine a constructor for the tag",
    ),
    "deep body": (
        HEAD + "- {command: listZones, status: 200, body: " + "[" * 500 + "]" * 500 + "}\n",
        "nested deeper than 100",
    ),
    "billion laughs": (
        "cstool_recording: 1\n"
        + "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
            for p, n in zip("abcdefg", "bcdefgh", strict=True)
        ).replace("b: &b [*a", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a", 1)
        + "exchanges:\n- {command: listZones, status: 200, body: [*h, *h, *h, *h]}\n",
        "exchange 1 (listZones): body: aliases expand the recording far past its size",
    ),
}


@pytest.mark.parametrize("case", sorted(RECORDINGS))
def test_malformed_recording_is_a_located_error(case: str, tmp_path: Path) -> None:
    text, expected = RECORDINGS[case]
    path = tmp_path / "rec.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["plan", str(CONFIGS / "basic"), "--replay", str(path)])
    output = _clean(result)
    assert f"error: {path}" in output and expected in output, output


def test_recording_that_is_a_directory_or_not_utf8_is_refused(tmp_path: Path) -> None:
    args = ["plan", str(CONFIGS / "basic"), "--replay"]
    output = _clean(runner.invoke(app, [*args, str(tmp_path)]))
    assert "cannot read the recording: not a regular file" in output
    path = tmp_path / "rec.yaml"
    path.write_bytes(b"cstool_recording: 1\nexchanges: []\n# \xff\n")
    output = _clean(runner.invoke(app, [*args, str(path)]))
    assert f"{path}:3: not a cstool recording: byte 0xff at byte offset" in output


def test_every_shipped_recording_still_loads() -> None:
    from cstool.cloud.record import Recording

    for path in sorted((DATA / "api").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        assert Recording.load(path).exchanges == raw["exchanges"], path


# --- output files -----------------------------------------------------------------------


def test_plan_out_into_a_missing_directory_fails_before_reading_the_cloud(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    out = tmp_path / "nope" / "plan.json"
    args = ["plan", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state), "--out"]
    output = _clean(runner.invoke(app, [*args, str(out)]))
    assert f"{out}: cannot write the plan: the directory {out.parent} does not exist" in output
    assert f"hint: create it first (mkdir -p {out.parent})" in output
    assert "plan saved" not in output and not state.exists()  # refused before any API call
    output = _clean(runner.invoke(app, [*args, str(tmp_path)]))
    assert f"{tmp_path}: cannot write the plan there: it is a directory" in output


def test_import_marvin_out_into_a_missing_directory(tmp_path: Path) -> None:
    cfg = tmp_path / "x.cfg"
    cfg.write_text(json.dumps(MARVIN_BASE))
    out = tmp_path / "missing" / "x.yaml"
    output = _clean(runner.invoke(app, ["import-marvin", str(cfg), "-o", str(out)]))
    assert f"{out}: cannot write the converted config: the directory" in output


# --- end of input at the confirmation prompt ---------------------------------------------


def test_ctrl_d_at_the_confirmation_prompt_is_a_no(tmp_path: Path) -> None:
    """A real terminal (a pty), so that apply asks; Ctrl-D (EOF) is the answer."""
    state = tmp_path / "sim.json"
    master, slave = pty.openpty()
    command = [sys.executable, "-m", "cstool", "apply", str(CONFIGS / "basic"), "--sim"]
    proc = subprocess.Popen(
        [*command, "--sim-state", str(state)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    os.close(slave)
    try:
        os.write(master, b"\x04")  # the terminal's end of input, read when apply asks
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert b"Apply these" in out
    assert proc.returncode == 1, err.decode()
    assert b"no answer (end of input): nothing applied" in err
    assert b"internal error" not in err and b"Traceback" not in err
    plan = runner.invoke(app, ["plan", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state)])
    assert plan.exit_code == 3  # nothing was applied


# --- a config that cannot be read --------------------------------------------------------


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory that cannot be traversed: os.stat, os.scandir and os.open of anything
    in it answer EACCES, as for a non-root user under `chmod 000` (the tests run as root in
    some places, where chmod would not refuse)."""
    folder = tmp_path / "locked"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.yaml").write_text("zones: []\n")
    (tmp_path / "ok.yaml").write_text("zones: []\n")
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "b.yaml").write_text("zones: []\n")

    def guarded(real: Callable[..., Any], inside: bool) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            text = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else ""
            if text.startswith(str(folder) + os.sep) or (inside and text == str(folder)):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), text)
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "stat", guarded(os.stat, inside=False))
    monkeypatch.setattr(os, "open", guarded(os.open, inside=False))
    monkeypatch.setattr(os, "scandir", guarded(os.scandir, inside=True))
    return folder


def test_config_in_an_untraversable_directory_is_a_located_problem(locked: Path) -> None:
    output = _clean(runner.invoke(app, ["validate", str(locked / "a.yaml")]))
    assert f"{locked / 'a.yaml'}:1:1: cannot read: permission denied" in output
    output = _clean(runner.invoke(app, ["validate", str(locked)]))
    assert f"{locked}: cannot read the directory: permission denied" in output


def test_untraversable_directory_under_a_named_one_is_never_skipped(locked: Path) -> None:
    """--prune would delete what a silently skipped file describes."""
    parent = locked.parent
    result = runner.invoke(app, ["plan", str(parent), "--sim", "--sim-state", str(parent / "s")])
    output = _clean(result)
    assert f"{locked}: cannot read the directory: permission denied" in output


# --- simulator state files --------------------------------------------------------------

STATES = {
    "not JSON": ("{", "cannot read the simulator state"),
    "a list": ("[]", "not a cstool simulator state file"),
    "another format": ('{"format": 99}', "not a cstool simulator state file"),
    "NUL bytes": ("\x00\x00", "cannot read the simulator state"),
}


@pytest.mark.parametrize("case", sorted(STATES))
def test_malformed_simulator_state_is_a_clear_error(case: str, tmp_path: Path) -> None:
    text, expected = STATES[case]
    state = tmp_path / "sim.json"
    state.write_text(text)
    result = runner.invoke(
        app, ["plan", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state)]
    )
    output = _clean(result)
    assert f"{state}: {expected}" in output
    assert "hint: delete the file to start from an empty cloud" in output


# Store.load (cstool/simulator/store.py) checks every part the store itself relies on.
BROKEN_STATES = {
    "format only": {"format": 1},
    "seq not a number": {"format": 1, "seed": "x", "seq": "abc", "jobs": {}, "tables": {}},
    "tables a list": {"format": 1, "seed": "x", "seq": 0, "jobs": {}, "tables": []},
    "jobs a list": {"format": 1, "seed": "x", "seq": 0, "jobs": [], "tables": {}},
    "a row without _seq": {
        "format": 1,
        "seed": "x",
        "seq": 0,
        "jobs": {},
        "tables": {"zone": {"a": {}}},
    },
}


@pytest.mark.parametrize("case", sorted(BROKEN_STATES))
def test_state_file_with_malformed_parts_is_a_clear_error(case: str, tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    state.write_text(json.dumps(BROKEN_STATES[case]))
    args = ["apply", str(CONFIGS / "basic"), "--yes", "--sim", "--sim-state", str(state)]
    output = _clean(runner.invoke(app, args))
    assert f"{state}: " in output and "Internal error" not in output


def test_state_file_nested_too_deep_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    state.write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(
        app, ["plan", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state)]
    )
    assert f"{state}: " in _clean(result)


# --- answers of the wrong shape ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"listzonesresponse": "x"}, {"listzonesresponse": {"count": 1, "zone": None}}],
    ids=["envelope-text", "list-null"],
)
def test_answer_whose_envelope_is_not_a_mapping_is_a_clear_error(
    body: dict[str, Any], tmp_path: Path
) -> None:
    """What a proxy or a broken server might answer with status 200; replayed here."""
    raw = yaml.safe_load((DATA / "api" / "lab-read-applied.yaml").read_text())
    for exchange in raw["exchanges"]:
        if exchange["command"] == "listZones":
            exchange["body"] = body
    path = tmp_path / "rec.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["plan", str(CONFIGS / "lab"), "--replay", str(path)])
    assert "listZones" in _clean(result)


def test_answer_whose_list_item_is_not_a_mapping_is_a_clear_error(tmp_path: Path) -> None:
    raw = yaml.safe_load((DATA / "api" / "basic-apply.yaml").read_text())
    for exchange in raw["exchanges"]:
        if exchange["command"] == "listConfigurations":
            exchange["body"]["listconfigurationsresponse"]["configuration"][3] = "LAB1"
            break
    path = tmp_path / "rec.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["plan", str(CONFIGS / "basic"), "--replay", str(path)])
    assert "listConfigurations" in _clean(result)


def test_setting_value_of_thousands_of_digits_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("settings:\n  expunge.delay: " + "1" * 5000 + "\n")
    assert "expunge.delay" in _clean(runner.invoke(app, ["validate", str(path)]))
