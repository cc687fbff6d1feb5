"""bench/apply_hosts.py: its zone is a valid config, and its bounds count what they claim
(the benchmark itself takes seconds per run and is run by hand; its figures are in the notes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from cstool import ops

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import apply_hosts  # noqa: E402


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> object:
    tmp = tmp_path_factory.mktemp("bench-hosts")
    path = tmp / "zone.yaml"
    path.write_text(yaml.safe_dump(apply_hosts.config(), sort_keys=False))
    checked = ops.check_config([path])
    assert checked.errors == [], checked.errors
    return apply_hosts.first_plan(path, tmp / "sim.json")


def test_the_bench_zone_has_every_host_pool_and_store(plan: apply_hosts.Plan) -> None:
    kinds = [s.key.kind for s in plan.steps]
    pods, clusters, hosts = apply_hosts.PODS, apply_hosts.CLUSTERS, apply_hosts.HOSTS
    assert kinds.count("host") == pods * clusters * hosts
    assert kinds.count("cluster") == kinds.count("primary_storage") == pods * clusters
    assert kinds.count("image_store") == 1
    assert sum(apply_hosts.waits_for_host(s) for s in plan.steps) == pods * clusters * hosts


def test_the_critical_path_holds_two_host_waits_first_host_first(
    plan: apply_hosts.Plan,
) -> None:
    """A cluster's other hosts wait for its first (ResourceManagerImpl.discoverHostsFull: no
    cluster GUID before the first host connects), so two connect times lie on the path."""
    latency, connect = 0.05, 2.0
    b = apply_hosts.bounds(plan, latency, connect, 8)
    assert connect * 2 < b.path_s < connect * 3
    assert b.width_s == pytest.approx(b.requests * latency / 8)
    assert b.serial_hosts_s == pytest.approx(b.host_steps * (connect + 2 * latency))
    assert b.path_hosts == 2
