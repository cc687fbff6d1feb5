"""The command line as a user meets it: help, the simulator server, retries, the schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from cs import CloudStack
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.model.loader import json_schema
from cstool.simulator.transport import Fault
from tests.conftest import CONFIGS, ROOT

runner = CliRunner()


def test_help_lists_every_command_and_version_prints() -> None:
    result = runner.invoke(app, ["--help"])
    for command in (
        "validate",
        "plan",
        "apply",
        "drift",
        "export",
        "import-marvin",
        "schema",
        "sim",
    ):
        assert command in result.output
    assert re.match(r"cstool \d+\.\d+\.\d+", runner.invoke(app, ["--version"]).output)


def test_sim_serve_answers_the_cs_client_over_http_from_the_same_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    built = runner.invoke(
        app, ["apply", str(CONFIGS / "basic"), "--sim", "--sim-state", str(state), "--yes"]
    )
    assert built.exit_code == 0  # the command saved the state and unlocked it as it ended
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cstool",
            "sim",
            "serve",
            "--port",
            "0",
            "--state",
            str(state),
            "--api-key",
            "k",
            "--secret-key",
            "s",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        endpoint = re.search(r"listening on (\S+)", first)
        assert endpoint, first
        exports = [server.stdout.readline() for _ in range(3)]
        assert exports[1].strip() == "export CLOUDSTACK_KEY=k"
        cs = CloudStack(endpoint.group(1), "k", "s", poll_interval=0, fetch_result=True)
        assert [z["name"] for z in cs.listZones(fetch_list=True)] == ["basic1"]
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def test_reads_are_retried_after_a_dropped_connection(tmp_path: Path) -> None:
    api = Api(
        sim_target(
            tmp_path / "s.json", [Fault.parse("listZones#1:drop"), Fault.parse("listPods#1:drop")]
        )
    )
    api.call("createZone", name="z", networktype="Basic", dns1="8.8.8.8", internaldns1="10.0.0.1")
    live = ops.read_for(api, ops.desired_state([CONFIGS / "basic"]).state)
    assert [r.key.path for r in live.of_kind("zone")] == [("z",)]
    assert api.calls["listZones"] == 1 and api.calls["listPods"] == 1  # one call each ...
    assert api.waits.retried["listZones"] == 1 and api.waits.retried["listPods"] == 1  # resent


def test_writes_are_never_retried(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "s.json", [Fault.parse("createZone#1:drop")]))
    result = runner.invoke(
        app,
        [
            "apply",
            str(CONFIGS / "basic"),
            "--sim",
            "--sim-state",
            str(tmp_path / "s.json"),
            "--yes",
            "--fault",
            "createZone#1:drop",
        ],
    )
    assert result.exit_code == 1 and "cannot reach" in result.output
    assert api.list("listZones") == []  # dropped before the server acted; not sent again


def _keys(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if "$ref" in node:
            stack.append(defs[node["$ref"].rsplit("/", 1)[-1]])
            continue
        for name, sub in node.get("properties", {}).items():
            out.add(name)
            stack.append(sub)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
        for key in ("anyOf", "oneOf"):
            stack.extend(node.get(key, []))
    return out


def test_every_key_of_the_format_appears_in_an_example_config() -> None:
    schema = json_schema()
    keys = _keys(schema, schema.get("$defs", {})) - {"kvm", "xen", "vmware", "hyperv", "ovm3"}
    text = "\n".join(p.read_text() for p in CONFIGS.rglob("*.yaml"))
    missing = sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}:", text))
    assert missing == []


def test_schema_is_json_schema_for_editors() -> None:
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"settings", "zones"} <= set(schema["properties"])


def test_bad_input_is_a_clear_error_never_an_internal_one(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{broken")
    lab = str(CONFIGS / "lab")
    cases = [
        (["plan", lab, "--sim", "--sim-state", str(broken)], "cannot read the simulator state"),
        (
            [
                "apply",
                lab,
                "--sim",
                "--sim-state",
                str(tmp_path / "s.json"),
                "--yes",
                "--fault",
                "bogus",
            ],
            "bad fault 'bogus'",
        ),
        (["plan", str(tmp_path / "missing.yaml"), "--sim"], "no such file or directory"),
        (["plan", lab, "--replay", str(tmp_path / "missing.yaml")], "cannot read the recording"),
        (
            ["apply", str(broken), "--sim", "--sim-state", str(tmp_path / "s.json"), "--yes"],
            "not a cstool plan file",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert message in result.output and "internal error" not in result.output, result.output
