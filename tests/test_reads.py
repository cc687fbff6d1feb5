"""How the live cloud is read: every list call at once (up to the reader's cap), the calls
made once per physical network as soon as the physical networks are known, the same State
whatever order the answers come in, and no more calls than kinds and parents need."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from cstool import ops
from cstool.cloud import reader
from cstool.cloud.api import Api, sim_target
from cstool.model.kinds import KINDS
from cstool.simulator.transport import Fault

LAB = Path(__file__).resolve().parent.parent / "configs" / "lab"


def _applied(tmp_path: Path) -> Path:
    state = tmp_path / "sim.json"
    desired = ops.desired_state([LAB]).state
    api = Api(sim_target(state))
    built, live = ops.plan(api, desired)
    assert ops.apply(api, built, live, parallelism=4).ok
    return state


def _read(state: Path, *faults: str) -> tuple[Api, list[tuple[float, str, str]]]:
    """An Api whose every list call is logged as (time, 'sent'|'answered', command)."""
    api = Api(sim_target(state, [Fault.parse(f) for f in faults]))
    events: list[tuple[float, str, str]] = []
    lock = threading.Lock()
    inner = api.list

    def logged(command: str, **params: object) -> list[dict[str, object]]:
        with lock:
            events.append((time.monotonic(), "sent", command))
        try:
            return inner(command, **params)
        finally:
            with lock:
                events.append((time.monotonic(), "answered", command))

    api.list = logged  # type: ignore[method-assign]
    return api, events


def test_traffic_types_are_read_as_soon_as_the_physical_networks_are_known(
    tmp_path: Path,
) -> None:
    state = _applied(tmp_path)
    api, events = _read(state, "listPods:latency=0.4")
    reader.read_live(api)
    pods_answered = next(t for t, what, c in events if what == "answered" and c == "listPods")
    traffic = [t for t, what, c in events if what == "sent" and c == "listTrafficTypes"]
    assert traffic and max(traffic) < pods_answered  # not held back by an unrelated list


def test_every_list_of_the_cloud_goes_out_at_once(tmp_path: Path) -> None:
    state = _applied(tmp_path)
    api, events = _read(state, "*:latency=0.2")
    reader.read_live(api)
    first_answer = min(t for t, what, _ in events if what == "answered")
    sent_before = {c for t, what, c in events if what == "sent" and t < first_answer}
    # the lab config models no compute or storage: those lists are not read (reader._opt_in);
    # nor does it write a kind managed only where written, or name an owner
    network = [
        k
        for k in KINDS.values()
        if not reader._opt_in(k) and reader._written(k, frozenset()) and not k.reference
    ]
    whole_cloud = {k.read.command for k in network if not k.read.per_parent}
    assert sent_before == whole_cloud and len(whole_cloud) > 5


def test_the_state_read_does_not_depend_on_the_order_of_the_answers(tmp_path: Path) -> None:
    state = _applied(tmp_path)
    plain = reader.read_live(Api(sim_target(state)))
    for slow in ("listZones", "listPhysicalNetworks", "listTrafficTypes", "listVlanIpRanges"):
        api, _ = _read(state, f"{slow}:latency=0.15")
        again = reader.read_live(api)
        assert list(again) == list(plain), slow
        assert [again[k].values for k in again] == [plain[k].values for k in plain], slow


def test_reads_are_one_call_per_command_and_one_per_physical_network(tmp_path: Path) -> None:
    state = _applied(tmp_path)
    api, events = _read(state)
    live = reader.read_live(api, zone_settings=())
    sent = [c for _, what, c in events if what == "sent"]
    networks = len(live.of_kind("physical_network"))
    assert sent.count("listTrafficTypes") == networks > 0
    assert all(sent.count(c) == 1 for c in set(sent) - {"listTrafficTypes"})
