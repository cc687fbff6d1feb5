"""Async jobs are polled by cstool itself: soon at first, then backing off to a cap, within
the job timeout, never more than `parallelism` polls at once, and stopped at once on Ctrl-C."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from cstool.cloud import waits
from cstool.cloud.api import Api, Target
from cstool.cloud.waits import JobStillRunning
from cstool.cloud.wire import sent_params
from cstool.errors import ApiError, JobTimeout
from cstool.simulator.transport import IN_PROCESS_ENDPOINT, Fault, Faults, SimAdapter, Simulator

ZONE = {"name": "z1", "networktype": "Advanced", "dns1": "8.8.8.8", "internaldns1": "10.0.0.1"}


def _api(
    tmp_path: Path, *faults: str, poll_interval: float = 1.0, job_polls: int = 0, **kw: Any
) -> tuple[Api, list[tuple[float, str]]]:
    """An Api on an in-process simulator, polling as on a real target (poll_interval 1.0 is
    the default of a configured target); also every request sent, with its time."""
    sim = Simulator(tmp_path / "s.json", keys={"k": "s"}, job_polls=job_polls)
    session = _session(sim, [Fault.parse(f) for f in faults])
    sent: list[tuple[float, str]] = []
    session.hooks["response"].append(
        lambda r, *a, **k: sent.append((time.monotonic(), sent_params(r.request)["command"]))
    )
    target = Target("test", IN_PROCESS_ENDPOINT, "k", "s", session, poll_interval=poll_interval)
    return Api(target, **kw), sent


def test_poll_waits_start_soon_and_double_to_a_cap_with_jitter() -> None:
    delays = waits.poll_delays(0.1)
    for full in [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]:
        delay = next(delays)
        assert full * (1 - waits.JITTER) <= delay <= full
    immediate = waits.poll_delays(0)  # the simulator and replays: by count, then backing off
    assert [next(immediate) for _ in range(waits.IMMEDIATE_POLLS)] == [0.0] * 3
    assert 0.08 <= next(immediate) <= 0.1


def test_a_job_pending_for_a_while_is_polled_soon_and_then_less_often(tmp_path: Path) -> None:
    api, sent = _api(tmp_path, "createPhysicalNetwork:job-time=0.5")
    zone = api.call("createZone", **ZONE)["zone"]
    started = time.monotonic()
    result = api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
    took = time.monotonic() - started
    assert result["physicalnetwork"]["name"] == "pn"
    polls = [t for t, command in sent if command == "queryAsyncJobResult"]
    # 0.1, 0.2, 0.4 (minus jitter): done at the third or fourth poll, not after a fixed second
    assert 3 <= len(polls) <= 4 and 0.5 <= took < 1.2
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert polls[0] - started <= 0.15 and all(b > a for a, b in zip(gaps, gaps[1:], strict=False))
    assert api.polls == len(polls) and "queryAsyncJobResult" not in api.calls


def test_the_job_time_fault_keeps_a_job_pending_for_that_long(tmp_path: Path) -> None:
    sim = Simulator(tmp_path / "s.json", keys={"k": "s"}, job_polls=0)
    faults = [Fault.parse("createPhysicalNetwork:job-time=0.3")]
    api = Api(Target("t", IN_PROCESS_ENDPOINT, "k", "s", _session(sim, faults), poll_interval=0))
    zone = api.call("createZone", **ZONE)["zone"]
    reply = api._send(api._writer, "createPhysicalNetwork", zoneid=zone["id"], name="pn")
    first = api._send(api._reader, "queryAsyncJobResult", jobid=reply["jobid"])
    time.sleep(0.35)
    later = api._send(api._reader, "queryAsyncJobResult", jobid=reply["jobid"])
    assert first["jobstatus"] == 0 and "completed" not in first
    assert later["jobstatus"] == 1 and later["jobresult"]["physicalnetwork"]["name"] == "pn"


def _session(sim: Simulator, faults: list[Fault]) -> requests.Session:
    session = requests.Session()
    session.mount("http://simulator.cstool.invalid/", SimAdapter(sim, Faults(faults)))
    return session


def test_a_job_beyond_the_job_timeout_fails_naming_the_job(tmp_path: Path) -> None:
    api, _sent = _api(tmp_path, "createPhysicalNetwork:job-time=30", job_timeout=0.5)
    zone = api.call("createZone", **ZONE)["zone"]
    started = time.monotonic()
    with pytest.raises(JobTimeout) as info:
        api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
    assert 0.5 <= time.monotonic() - started < 1.0
    assert f"async job {info.value.jobid} did not finish within 0.5 s" in str(info.value)


def test_a_failed_job_is_an_api_error_naming_the_job(tmp_path: Path) -> None:
    api, _sent = _api(tmp_path, "createPhysicalNetwork:job", poll_interval=0)
    zone = api.call("createZone", **ZONE)["zone"]
    with pytest.raises(ApiError) as info:
        api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
    assert info.value.code == 530 and info.value.jobid and info.value.jobid in str(info.value)


def test_pending_jobs_are_polled_concurrently_but_never_beyond_parallelism(
    tmp_path: Path,
) -> None:
    api, _sent = _api(
        tmp_path,
        "createPhysicalNetwork:job-time=0.3",
        "queryAsyncJobResult:latency=0.05",
        parallelism=2,
    )
    zone = api.call("createZone", **ZONE)["zone"]
    polling, most = 0, 0
    lock = threading.Lock()
    inner = api._send

    def counted(client: Any, command: str, **params: Any) -> Any:
        nonlocal polling, most
        if command != "queryAsyncJobResult":
            return inner(client, command, **params)
        with lock:
            polling += 1
            most = max(most, polling)
        try:
            return inner(client, command, **params)
        finally:
            with lock:
                polling -= 1

    api._send = counted  # type: ignore[method-assign]
    names = [f"pn{i}" for i in range(6)]
    create = "createPhysicalNetwork"
    threads = [
        threading.Thread(target=api.call, args=(create,), kwargs={"zoneid": zone["id"], "name": n})
        for n in names
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most == 2  # concurrent (two at once), and capped at parallelism
    listed = {p["name"] for p in api.list("listPhysicalNetworks", zoneid=zone["id"])}
    assert set(names) <= listed


def test_an_interrupt_stops_a_job_wait_at_once_and_names_the_job(tmp_path: Path) -> None:
    api, _sent = _api(tmp_path, "createPhysicalNetwork:job-time=60")
    zone = api.call("createZone", **ZONE)["zone"]
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=wait)  # apply's steps run on helper threads
    worker.start()
    time.sleep(0.5)
    stopped = time.monotonic()
    api.interrupt()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - stopped < 0.2
    (error,) = raised
    assert isinstance(error, JobStillRunning)
    assert f"async job {error.jobid} may still be running" in str(error)
    assert "interrupted" in str(error) and f"jobid={error.jobid}" in (error.hint or "")


def test_a_job_time_for_every_command_is_not_renewed_by_the_polls(tmp_path: Path) -> None:
    """`*:job-time=S` also matches queryAsyncJobResult: only the call that starts a job sets
    its time, or a job polled more often than S would never end."""
    api, _sent = _api(tmp_path, "*:job-time=0.3")
    zone = api.call("createZone", **ZONE)["zone"]
    started = time.monotonic()
    api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")
    assert 0.3 <= time.monotonic() - started < 0.7


def test_the_first_wait_follows_how_soon_a_commands_jobs_end() -> None:
    learnt = waits.FirstPolls(0.1)
    assert learnt.first("createPod") == 0.1
    for _ in range(10):  # done at every first poll: halved down to the floor
        learnt.learn("createPod", learnt.first("createPod"), done=True)
    assert learnt.first("createPod") == waits.POLL_MIN
    assert learnt.first("createVlanIpRange") == 0.1  # per command
    learnt.learn("createPod", waits.POLL_MIN, done=False)  # pending: doubled back ...
    assert learnt.first("createPod") == 2 * waits.POLL_MIN
    for _ in range(10):
        learnt.learn("createPod", learnt.first("createPod"), done=False)
    assert learnt.first("createPod") == 0.1  # ... never beyond the target's first wait


def test_jobs_that_end_at_once_are_polled_sooner_and_sooner(tmp_path: Path) -> None:
    api, sent = _api(tmp_path, poll_interval=0.1)
    zone = api.call("createZone", **ZONE)["zone"]
    firsts = []
    for i in range(6):
        started = time.monotonic()
        api.call("createPhysicalNetwork", zoneid=zone["id"], name=f"pn{i}")
        polled = [t for t, c in sent if c == "queryAsyncJobResult" and t > started]
        firsts.append(polled[0] - started)
    assert firsts[0] >= 0.1 * (1 - waits.JITTER)  # the first job: the target's first wait
    assert api.polls == 6  # one poll per job
    # halved after each job done at its first poll: 0.1 s down to 0.1 / 2**6, at the floor
    assert api._first_polls.first("createPhysicalNetwork") == waits.POLL_MIN


def test_a_slow_job_after_fast_ones_is_still_waited_for(tmp_path: Path) -> None:
    api, sent = _api(tmp_path, "createPhysicalNetwork#5:job-time=0.3", poll_interval=0.1)
    zone = api.call("createZone", **ZONE)["zone"]
    for i in range(4):
        api.call("createPhysicalNetwork", zoneid=zone["id"], name=f"fast{i}")
    assert api.polls == 4
    started = time.monotonic()
    assert api.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")["physicalnetwork"]
    # first polled soon (learnt), pending, then backed off from there: a few polls, and
    # never done before the job's time
    assert time.monotonic() - started >= 0.3 and 4 + 2 <= api.polls <= 4 + 7
    # the pending first poll doubled the command's first wait back up from the floor
    assert api._first_polls.first("createPhysicalNetwork") > waits.POLL_MIN
