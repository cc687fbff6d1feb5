"""Secrets by reference: read at call time, sent, and never shown. The grep plugin of
tests/conftest.py checks every test's output and every file the run wrote; these tests check
the pieces it relies on and that the plugin itself fails a leaking test."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud import secrets as cloud_secrets
from cstool.cloud.api import Api, sim_target
from cstool.cloud.record import _scrub
from cstool.cloud.wire import REDACTED, meaningful
from cstool.errors import redact
from cstool.model.secrets import SecretRef, SecretUrl
from tests import secrets as test_secrets
from tests.conftest import ROOT

runner = CliRunner()

ZONE = """\
zones:
  - name: sec1
    network_type: Advanced
    dns: [192.0.2.53]
    internal_dns: [10.30.0.53]
    physical_networks:
      - name: physnet
        isolation: VLAN
        vlan_ranges: [600-699]
        traffic: [{type: Management}, {type: Guest}, {type: Public}]
        providers: {VirtualRouter: enabled}
    public_ranges:
      - {start: 203.0.113.10, end: 203.0.113.40, gateway: 203.0.113.1, netmask: 255.255.255.0}
    pods:
      - name: pod1
        gateway: 10.30.10.1
        netmask: 255.255.255.0
        management_ranges: [{start: 10.30.10.10, end: 10.30.10.40}]
        clusters:
          - name: c1
            hypervisor: Simulator
            hosts:
              - {name: sim-h1, url: "http://sim/c1/h1", username: root,
                 password: {env: CSTOOL_TEST_HOST_PASSWORD}}
"""


def _local_value() -> str:
    """A secret made here (not one of tests/secrets.py's), for files this test writes."""
    return "local-" + os.urandom(8).hex()


def test_a_reference_is_read_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = _local_value()
    monkeypatch.setenv("CSTOOL_T_LOCAL", value)
    assert cloud_secrets.read(SecretRef("env", "CSTOOL_T_LOCAL")) == value
    path = tmp_path / "pw"
    path.write_text(value + "\n")  # one trailing newline, as `echo` leaves it, is not part
    assert cloud_secrets.read(SecretRef("file", str(path))) == value
    # once read, it is redacted from any text (errors, logs, recordings)
    assert value not in redact(f"failed with password {value}")
    url = SecretUrl("rbd://admin@mon.example/pool", SecretRef("env", "CSTOOL_T_LOCAL"))
    sent = cloud_secrets.resolve({"url": url, "details[0].value": SecretRef("file", str(path))})
    assert sent == {"url": f"rbd://admin:{value}@mon.example/pool", "details[0].value": value}
    path.unlink()


def test_a_missing_reference_names_itself_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CSTOOL_T_UNSET", raising=False)
    with pytest.raises(cloud_secrets.SecretMissing, match="CSTOOL_T_UNSET is not set"):
        cloud_secrets.read(SecretRef("env", "CSTOOL_T_UNSET"))
    with pytest.raises(cloud_secrets.SecretMissing, match="cannot read the secret file"):
        cloud_secrets.read(SecretRef("file", str(tmp_path / "absent")))
    big = tmp_path / "big"
    big.write_bytes(b"x" * (cloud_secrets.MAX_SECRET_FILE + 1))
    with pytest.raises(cloud_secrets.SecretMissing, match="larger than"):
        cloud_secrets.read(SecretRef("file", str(big)))


def test_preflight_fails_before_the_first_request_listing_every_missing_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "zone.yaml"
    config.write_text(ZONE)
    api = Api(sim_target(tmp_path / "sim.json"))
    monkeypatch.delenv("CSTOOL_TEST_HOST_PASSWORD", raising=False)
    plan, live = ops.plan(api, ops.desired_state([config]).state)
    before = dict(api.calls)
    with pytest.raises(cloud_secrets.SecretMissing) as info:
        ops.apply(api, plan, live)
    assert "{env: CSTOOL_TEST_HOST_PASSWORD}" in str(info.value)
    assert "nothing was applied" in (info.value.hint or "")
    assert dict(api.calls) == before  # not one request more


def test_key_value_pairs_are_redacted_by_their_key_in_requests_and_answers() -> None:
    short = "pw1"  # too short to be found by value: only its pair's key says what it is
    sent = {
        "command": "addImageStore",
        "details[0].key": "password",
        "details[0].value": short,
        "details[1].key": "domain",
        "details[1].value": "example",
        "details[2].name": "secretkey",
        "details[2].value": short,
    }
    kept = meaningful(sent)
    assert kept["details[0].value"] == REDACTED and kept["details[2].value"] == REDACTED
    assert kept["details[1].value"] == "example" and kept["details[0].key"] == "password"
    body = {
        "imagestore": {
            "name": "s3",
            "details": [{"name": "accesskey", "value": short}, {"name": "bucket", "value": "b"}],
        }
    }
    scrubbed = _scrub(body, ())
    assert scrubbed["imagestore"]["details"] == [
        {"name": "accesskey", "value": REDACTED},
        {"name": "bucket", "value": "b"},
    ]


def test_apply_sends_the_value_and_shows_records_and_stores_only_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_secrets.set_all(monkeypatch)
    config = tmp_path / "zone.yaml"
    config.write_text(ZONE)
    state, recording, saved = tmp_path / "sim.json", tmp_path / "rec.yaml", tmp_path / "plan.json"
    common = ["--sim", "--sim-state", str(state)]
    planned = runner.invoke(app, ["plan", str(config), *common, "--out", str(saved)])
    assert planned.exit_code == 3, planned.output
    assert "password={env: CSTOOL_TEST_HOST_PASSWORD}" in planned.output
    applied = runner.invoke(
        app, ["apply", str(saved), "--yes", *common, "--record", str(recording)]
    )
    assert applied.exit_code == 0, applied.output
    # the value went to the server: the simulator keeps its digest (as the server keeps it
    # encrypted), which a reference or a redacted value would not match
    sim = Api(sim_target(state)).target.simulator
    (host,) = sim.store.tables["host"].values()
    expected = hashlib.sha256(f"cstool-simulator:{test_secrets.HOST_PASSWORD}".encode())
    assert host["_secret_digest"] == expected.hexdigest()
    for path in (state, recording, saved):
        assert not test_secrets.found_in(path.read_text()), path
    assert not test_secrets.found_in(applied.output + planned.output)


LEAKY_TEST = """
from tests.secrets import HOST_PASSWORD

def test_leaks():
    print("the password is", HOST_PASSWORD)

def test_quiet():
    print("nothing to see")
"""


def test_the_grep_plugin_fails_a_test_that_shows_a_secret(tmp_path: Path) -> None:
    leaky = tmp_path / "test_leaky.py"
    leaky.write_text(LEAKY_TEST)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", str(leaky)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 passed" in run.stdout
    assert "a secret value was shown (CSTOOL_TEST_HOST_PASSWORD)" in run.stdout


def test_the_file_scan_finds_a_secret_in_any_file_below_a_root(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    leak = tmp_path / "deep" / "plan.json"
    leak.write_text("password=" + test_secrets.CEPH_KEY)
    try:
        assert test_secrets.files_holding([tmp_path]) == [f"{leak}: CSTOOL_TEST_CEPH_KEY"]
    finally:
        leak.unlink()  # the session-end scan of this run's files must not find it
    assert test_secrets.files_holding([tmp_path]) == []


def test_a_swift_key_in_a_details_pair_is_redacted_by_its_pair() -> None:
    """Swift's credential detail is named just `key`: a short one is found by its pair in
    logs and recordings (requests: key/value form; answers: {name, value} lists)."""
    sent = meaningful(
        {"command": "addImageStore", "details[1].key": "key", "details[1].value": "sw1ft"}
    )
    assert sent["details[1].value"] == REDACTED
    from cstool.cloud.record import _scrub_pair

    assert _scrub_pair({"name": "key", "value": "sw1ft"}, ())["value"] == REDACTED
    assert _scrub_pair({"name": "bucket", "value": "b1"}, ())["value"] == "b1"


def test_a_short_referenced_secret_is_redacted_by_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value the config declares secret is hidden wherever it appears from four characters
    on (a target's own key and secret, guessed at, from eight)."""
    monkeypatch.setenv("CSTOOL_TEST_SHORT", "q7Zx")
    assert cloud_secrets.read(SecretRef("env", "CSTOOL_TEST_SHORT")) == "q7Zx"
    assert "q7Zx" not in redact("the server said: bad password q7Zx for root")
    monkeypatch.setenv("CSTOOL_TEST_TINY", "ab")
    cloud_secrets.read(SecretRef("env", "CSTOOL_TEST_TINY"))
    assert redact("a cab") == "a cab"  # two characters would blank out ordinary words
