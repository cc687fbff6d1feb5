"""Connect to a target (simulator, cloudstack.ini / CloudMonkey profile, environment) and
give the rest of cstool a typed call/list surface; cs's exceptions stop here.
"""

from __future__ import annotations

import configparser
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cs import CloudStack, CloudStackApiException, CloudStackException, read_config

from cstool.errors import ApiError, CstoolError, JobTimeout, NoTarget, ReplayMiss, Unreachable

SIM_KEY = "cstool-simulator-key"
SIM_SECRET = "cstool-simulator-secret"  # the in-process simulator's own; not a credential
READ_RETRIES = 3


@dataclass
class Target:
    """Where the API calls go. `name` is what outputs show: never a key or secret."""

    name: str
    endpoint: str
    key: str | None
    secret: str | None = field(repr=False)
    session: requests.Session = field(default_factory=requests.Session)
    verify: bool | str = True
    timeout: int = 30
    poll_interval: float = 1.0
    simulator: Any = None  # the in-process Simulator, when --sim


def replay_target(path: Path) -> Target:
    """Answers from a recording (no cloud, no credentials)."""
    from cstool.cloud.record import REPLAY_ENDPOINT

    return Target(
        f"replay of {path}",
        REPLAY_ENDPOINT,
        "replay",
        "replay",
        requests.Session(),
        poll_interval=0.0,
    )


def sim_target(state: Path, faults: list[Any] | None = None, job_polls: int = 1) -> Target:
    """The built-in simulator, in-process, with its state in `state`."""
    from cstool.simulator.transport import IN_PROCESS_ENDPOINT, Faults, SimAdapter, Simulator

    try:
        sim = Simulator.shared(state, keys={SIM_KEY: SIM_SECRET})
    except ValueError as exc:
        raise CstoolError(str(exc), hint="delete the file to start from an empty cloud") from None
    session = requests.Session()
    adapter = SimAdapter(sim, Faults(faults or []), job_polls)
    session.mount(IN_PROCESS_ENDPOINT.rsplit("/client", 1)[0] + "/", adapter)
    return Target(
        f"simulator ({state})",
        IN_PROCESS_ENDPOINT,
        SIM_KEY,
        SIM_SECRET,
        session,
        poll_interval=0.0,
        simulator=sim,
    )


def _cmk_profile(name: str) -> dict[str, str] | None:
    """A CloudMonkey profile (~/.cmk/config): url, apikey, secretkey."""
    path = Path(os.environ.get("CMK_CONFIG", Path.home() / ".cmk" / "config"))
    if not path.exists():
        return None
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_section(name):
        return None
    section = parser[name]
    return {
        "endpoint": section.get("url", ""),
        "key": section.get("apikey", ""),
        "secret": section.get("secretkey", ""),
        "verify": section.get("verifycert", "true"),
    }


def configured_target(profile: str | None) -> Target:
    """A target from --profile (cloudstack.ini or cmk) or the CLOUDSTACK_* environment."""
    if profile:
        conf: dict[str, Any] | None = None
        try:
            ini = read_config(profile)
            if ini.get("endpoint"):
                conf = ini
        except (SystemExit, ValueError, configparser.Error):  # cs exits when no ini exists
            conf = None
        conf = conf or _cmk_profile(profile)
        if not conf or not conf.get("endpoint"):
            raise NoTarget(
                f"profile '{profile}' was not found in cloudstack.ini "
                "(CLOUDSTACK_CONFIG, ./cloudstack.ini, ~/.cloudstack.ini) nor in "
                "~/.cmk/config"
            )
        verify = str(conf.get("verify", "true")).lower() not in ("false", "0", "no")
        return Target(
            f"{conf['endpoint']} (profile {profile})",
            conf["endpoint"],
            conf.get("key"),
            conf.get("secret"),
            verify=verify,
            timeout=int(conf.get("timeout") or 30),
        )
    endpoint = os.environ.get("CLOUDSTACK_ENDPOINT")
    if endpoint:
        key, secret = os.environ.get("CLOUDSTACK_KEY"), os.environ.get("CLOUDSTACK_SECRET")
        if not key or not secret:
            raise NoTarget(
                "CLOUDSTACK_ENDPOINT is set but CLOUDSTACK_KEY or CLOUDSTACK_SECRET is not"
            )
        return Target(endpoint, endpoint, key, secret)
    raise NoTarget("no CloudStack target is configured")


class Api:
    """Typed calls to CloudStack. Thread-safe; counts the calls it makes."""

    def __init__(self, target: Target, job_timeout: float = 600.0) -> None:
        self.target = target
        self.job_timeout = job_timeout
        self.calls: Counter[str] = Counter()
        self.jobs_waiting: set[str] = set()  # async jobs polled and still pending
        self._lock = threading.Lock()
        target.session.hooks["response"].append(self._watch_jobs)
        self._client = CloudStack(
            target.endpoint,
            target.key,
            target.secret,
            timeout=target.timeout,
            verify=target.verify,
            session=target.session,
            poll_interval=target.poll_interval,
            job_timeout=int(job_timeout) if job_timeout else None,
            retry=0,
        )

    def _count(self, command: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls[command] += 1

    def _watch_jobs(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep track of the async jobs cs is polling (for the progress display)."""
        request = response.request
        text = f"{request.url} {request.body or ''}" if request is not None else ""
        if "queryAsyncJobResult" not in text:
            return
        try:
            job = response.json()["queryasyncjobresultresponse"]
            jobid, pending = str(job["jobid"]), job.get("jobstatus") == 0
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            (self.jobs_waiting.add if pending else self.jobs_waiting.discard)(jobid)

    def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list command (all pages); retried on connection errors and 5xx."""
        for attempt in range(READ_RETRIES + 1):
            try:
                self._count(command, params)
                result = self._send(command, fetch_list=True, **params)
                return list(result or [])
            except (Unreachable, ApiError) as exc:
                retriable = (
                    isinstance(exc, Unreachable)
                    or (exc.code or 0) >= 500
                    and exc.code not in (530, 531, 532, 533, 534, 535, 536, 537)
                )
                if not retriable or attempt == READ_RETRIES:
                    raise
                time.sleep(min(0.2 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        """Run a command; async jobs are waited for and their result returned."""
        self._count(command, params)
        started = time.monotonic()
        try:
            result = self._send(command, fetch_result=True, **params)
        except _JobTimeout as exc:
            raise JobTimeout(command, exc.jobid, time.monotonic() - started) from None
        return dict(result or {})

    def _send(self, command: str, **params: Any) -> Any:  # the only untyped spot
        try:
            return getattr(self._client, command)(**params)
        except CloudStackApiException as exc:
            error = exc.error if isinstance(exc.error, dict) else {}
            jobid = None
            if exc.args and exc.args[0] == "Job failure":
                jobid = _jobid(exc.response)
            raise ApiError(
                command, error.get("errorcode"), str(error.get("errortext") or exc), jobid
            ) from None
        except CloudStackException as exc:
            if exc.args and exc.args[0] == "Timeout waiting for async job result":
                raise _JobTimeout(str(exc.args[1])) from None
            raise Unreachable(self.target.name, str(exc.args[0] if exc.args else exc)) from None
        except requests.RequestException as exc:
            if "Connection refused by Responses" in str(exc) and exc.request is not None:
                from cstool.cloud.record import request_params

                sent = request_params(exc.request)
                shown = " ".join(f"{k}={v}" for k, v in sent.items() if k != "command")
                raise ReplayMiss(
                    f"the recording has no answer for {command} {shown}".rstrip(),
                    hint="record it again against a cloud that has it",
                ) from None
            raise Unreachable(self.target.name, type(exc).__name__ + ": " + str(exc)) from None
        except SystemExit as exc:  # cs exits on missing config; never let it leak
            raise CstoolError(f"the cs client stopped: {exc}") from None


def _jobid(response: Any) -> str | None:
    """The id of a failed job, from the queryAsyncJobResult answer cs kept."""
    try:
        return str(response.json()["queryasyncjobresultresponse"]["jobid"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


class _JobTimeout(Exception):
    def __init__(self, jobid: str) -> None:
        super().__init__(jobid)
        self.jobid = jobid
