"""Ansible's CloudStack modules against `cstool sim serve` (bench/ansible_sim.py).

The end-to-end run is marked slow: it needs the separate .venv-ansible (the script creates it
from PyPI when it is missing) and takes about half a minute, so the default run deselects it
(`pytest -m slow` runs it). The judging of task results is tested in the default run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import ansible_sim  # noqa: E402

MODULES = (
    "cs_zone",
    "cs_pod",
    "cs_physical_network",
    "cs_traffic_type",
    "cs_vlan_ip_range",
    "cs_configuration",
)


def _entry(name: str, **result: Any) -> dict[str, Any]:
    duration = {"start": "2026-11-26T10:00:00.000000Z", "end": "2026-11-26T10:00:00.250000Z"}
    return {"task": {"name": name, "duration": duration}, "hosts": {"localhost": result}}


def test_outcomes_judge_each_task_by_the_result_its_name_expects() -> None:
    report = {
        "plays": [
            {
                "tasks": [
                    _entry("cs_zone | create | changed", changed=True),
                    _entry("cs_zone | re-run | ok", changed=True),
                    _entry("cs_zone | refused | failed", failed=True, msg="431 nope"),
                    _entry("cs_pod | create | changed", failed=True, msg="530 broken"),
                ]
            }
        ]
    }
    results = ansible_sim.outcomes(report)
    assert [(r.module, r.flow, r.got, r.passed) for r in results] == [
        ("cs_zone", "create", "changed", True),
        ("cs_zone", "re-run", "changed", False),
        ("cs_zone", "refused", "failed", True),
        ("cs_pod", "create", "failed", False),
    ]
    assert results[0].seconds == pytest.approx(0.25)
    text = ansible_sim.table(results)
    assert text.count("FAIL") == 2 and "-> 530 broken" in text and "431 nope" not in text


def test_a_task_name_without_an_expectation_is_refused() -> None:
    with pytest.raises(RuntimeError, match=re.escape("'<module> | <flow> | <expected>'")):
        ansible_sim.outcomes({"plays": [{"tasks": [_entry("cs_zone create", changed=True)]}]})


def test_the_playbook_runs_every_flow_of_the_six_modules() -> None:
    (play,) = yaml.safe_load(ansible_sim.PLAYBOOK.read_text())
    tasks = [(t, *(p.strip() for p in t["name"].split("|"))) for t in play["tasks"]]
    assert len(tasks) == ansible_sim.expected_tasks()
    flows: dict[str, set[str]] = {m: set() for m in MODULES}
    for i, (task, module, flow, expected) in enumerate(tasks):
        assert expected in ansible_sim.EXPECTED, task["name"]
        if module in flows:
            flows[module].add("check" if task.get("check_mode") else flow.split(" (")[0])
        if task.get("check_mode"):  # a check reports a change; the next task proves it made none
            _, after_module, after_flow, after_expected = tasks[i + 1]
            assert expected == "changed" and after_module == module, task["name"]
            proof = (after_flow, after_expected) == ("create", "changed") or (
                after_flow.startswith("re-run") and "check" in after_flow and after_expected == "ok"
            )
            assert proof, task["name"]
    for module in MODULES:
        assert "check" in flows[module], module
        assert any(f.startswith("re-run") for f in flows[module]), module
    for module in set(MODULES) - {"cs_configuration"}:  # a setting is never created or deleted
        assert {"create", "delete", "delete again"} <= flows[module], module
    for module in set(MODULES) - {"cs_vlan_ip_range"}:  # the module cannot update a range
        assert any(f.startswith("update") for f in flows[module]), module


@pytest.mark.slow
def test_ansible_modules_against_the_simulator() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ansible_sim.py")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " unexpected;" in done.stdout and " 0 unexpected;" in done.stdout
