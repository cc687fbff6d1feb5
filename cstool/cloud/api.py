"""The typed call/list surface the rest of cstool uses; cs's exceptions stop here.
Targets (where calls go) live in targets.py.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from collections import Counter
from typing import Any

import requests
from cs import CloudStack, CloudStackApiException, CloudStackException
from requests.adapters import BaseAdapter

from cstool.cloud import versions
from cstool.cloud.identity import host_of
from cstool.cloud.targets import (
    SIM_KEY,
    SIM_SECRET,
    Target,
    configured_target,
    not_the_api,
    refusal_hint,
    replay_target,
    sim_target,
    unreachable,
)
from cstool.cloud.waits import (
    POLL_FIRST,
    DeadlineExceeded,
    FirstPolls,
    Interrupted,
    JobStillRunning,
    Waits,
    poll_delays,
)
from cstool.cloud.waits import install as install_waits
from cstool.cloud.wire import REPLAY_ENDPOINT, is_query, request_params
from cstool.errors import (
    ApiError,
    CstoolError,
    JobTimeout,
    NotCloudStack,
    ReplayMiss,
    Unreachable,
)

# the targets are re-exported: callers import them from here beside Api
__all__ = [
    "SIM_KEY",
    "SIM_SECRET",
    "Api",
    "Target",
    "configured_target",
    "replay_target",
    "sim_target",
]
PAGE_SIZE = 500  # what the cs client asks for (cs.client.PAGE_SIZE) until a server says less
Items = list[dict[str, Any]]
# BaseListCmd.getPageSize: pagesize above default.page.size (read once, at the server's start)
PAGE_SIZE_REFUSED = re.compile(r"Page size can't exceed max allowed page size value: (-?\d+)")


class Api:
    """Typed calls to CloudStack. Thread-safe; counts the calls it makes.

    Reads go by the target's method (GET unless cs's `method` says post); every other command
    goes by POST, which every version accepts and which a server with
    enforce.post.requests.and.timestamps=true requires (ApiServlet.isStateChangingCommandUsingPOST).
    """

    def __init__(
        self,
        target: Target,
        job_timeout: float = 600.0,
        deadline: float | None = None,
        parallelism: int = 4,
        call_timeout: float | None = None,
    ) -> None:
        """job_timeout: seconds to wait for each async job; deadline: seconds for every
        network wait of the run together (None: no limit); parallelism: async jobs polled
        at once; call_timeout: seconds for one request and its whole answer (default: the
        target's timeout)."""
        if not job_timeout > 0 or (deadline is not None and not deadline > 0):
            raise CstoolError("the job timeout and the deadline must be above 0 seconds")
        self.target = target
        self.job_timeout = job_timeout
        self.waits = Waits(float(call_timeout or target.timeout), deadline)
        self.polls = 0  # queryAsyncJobResult requests sent (not counted in `calls`)
        self._poll_slots = threading.BoundedSemaphore(max(1, parallelism))
        self._first_polls = FirstPolls(min(POLL_FIRST, target.poll_interval))
        self.calls: Counter[str] = Counter()
        self.jobs_waiting: set[str] = set()  # async jobs polled and still pending
        self.page_size: int | None = None  # set when the server refused cs's page size
        self._version: str | None = None  # the server's, read once per run when first needed
        self._lock = threading.Lock()
        self._version_lock = threading.Lock()
        replay = target.endpoint == REPLAY_ENDPOINT
        threaded = target.simulator is None and not replay
        install_waits(
            target.session, target.endpoint, self.waits, threaded=threaded, retries=not replay
        )
        target.session.hooks["response"].append(self._watch_jobs)
        _run_session_hooks(target.session, target.endpoint)
        _LIVE.add(self)
        self._reader = self._client(target.method)
        self._writer = self._client("post")

    def _client(self, method: str) -> CloudStack:
        target = self.target
        return CloudStack(
            target.endpoint,
            target.key,
            target.secret,
            timeout=math.ceil(target.timeout),  # unused: waits.Patient times every request
            method=method,
            verify=target.verify,
            session=target.session,
            poll_interval=target.poll_interval,
            job_timeout=None,  # cstool polls async jobs itself (_job_result)
            retry=0,
        )

    def _count(self, command: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls[command] += 1

    def _watch_jobs(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep track of the async jobs cs is polling (for the progress display)."""
        request = response.request
        body = request.body if request is not None else None
        body = body.decode(errors="replace") if isinstance(body, bytes) else body
        text = f"{request.url} {body or ''}" if request is not None else ""
        if "queryAsyncJobResult" not in text:
            return
        try:
            job = response.json()["queryasyncjobresultresponse"]
            jobid, pending = str(job["jobid"]), job.get("jobstatus") == 0
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            (self.jobs_waiting.add if pending else self.jobs_waiting.discard)(jobid)

    def server_version(self) -> str:
        """The server's cloudstackversion (listCapabilities), asked once per Api."""
        with self._version_lock:
            if self._version is None:
                reply = self.call("listCapabilities")
                self._version = str(reply.get("capability", {}).get("cloudstackversion") or "")
            return self._version

    def _check_version(self, command: str, params: dict[str, Any]) -> None:
        """Refuse a command or parameter newer than the server. The version is asked only
        when something newer than the oldest supported version is about to be sent (or it
        is known already), so the usual run makes no extra call."""
        needs = versions.requirements(command, params)
        if self._version is None:
            needs = versions.beyond_oldest(needs)
        if not needs:
            return
        try:
            version = self.server_version()
        except CstoolError as exc:
            what, since = needs[0]
            raise versions.ServerTooOld(
                f"{what} needs CloudStack {versions.show(since)} or newer, and the server's "
                f"version could not be read: {exc}"
            ) from None
        versions.check(needs, version)

    def list(self, command: str, **params: Any) -> Items:
        """Every item of a list command (all pages). Throttling, 5xx and connection errors
        are retried request by request, under every call (waits.Patient)."""
        self._check_version(command, params)
        return self._list_pages(command, params)

    def _list_pages(self, command: str, params: dict[str, Any]) -> Items:
        """All pages, at cs's page size until the server refuses it (a default.page.size
        below 500); then at the size the server names, which is kept for the whole run."""
        while True:
            size = self.page_size
            sent = params if size is None or "pagesize" in params else {**params, "pagesize": size}
            self._count(command, params)
            try:
                return list(self._send(self._reader, command, fetch_list=True, **sent) or [])
            except ApiError as exc:
                smaller = _allowed_page_size(exc, size or PAGE_SIZE)
                if smaller is None or "pagesize" in params:
                    raise
                with self._lock:
                    self.page_size = smaller

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        """Run a command; async jobs are waited for and their result returned."""
        self._check_version(command, params)
        self._count(command, params)
        client = self._reader if is_query(command) else self._writer
        reply = dict(self._send(client, command, **params) or {})
        if "jobid" in reply and command != "queryAsyncJobResult":
            return self._job_result(command, str(reply["jobid"]))
        return reply

    def _job_result(self, command: str, jobid: str) -> dict[str, Any]:
        """Poll the job until it ends, soon at first, then less and less often (waits.
        poll_delays), within the job timeout; no more than `parallelism` polls at once.
        Replaces cs's fixed-interval loop (CloudStack._jobresult) so that Ctrl-C and the
        run's deadline stop the wait at once. The target's poll_interval, when below
        POLL_FIRST, is the first wait (0: the simulator and replays answer by count); the
        first wait then follows how soon this command's earlier jobs ended (FirstPolls)."""
        started = time.monotonic()
        first = self._first_polls.first(command) if self.target.poll_interval > 0 else 0.0
        try:
            for n, delay in enumerate(poll_delays(first)):
                left = self.job_timeout - (time.monotonic() - started)
                if left <= 0:
                    break
                self.waits.sleep(min(delay, left))
                with self._poll_slots:
                    with self._lock:
                        self.polls += 1
                    job = self._send(self._reader, "queryAsyncJobResult", jobid=jobid)
                done = job.get("jobstatus") != 0  # AsyncJobResult: 0 pending, 1 done, 2 failed
                if n == 0 and first > 0:
                    self._first_polls.learn(command, first, done)
                if done:
                    return _job_outcome(command, jobid, job)
        except Interrupted:
            raise JobStillRunning(command, jobid, "interrupted") from None
        except DeadlineExceeded as exc:
            raise JobStillRunning(command, jobid, str(exc)) from None
        except Unreachable as exc:
            raise JobStillRunning(command, jobid, str(exc)) from None
        raise JobTimeout(command, jobid, self.job_timeout)

    def interrupt(self) -> None:
        """Stop every wait of this Api now: polls, retry pauses and reads in flight return
        at once (writes in flight are let finish, so their outcome is known)."""
        self.waits.cancel()

    def _send(self, client: CloudStack, command: str, **params: Any) -> Any:  # untyped: cs
        try:
            return getattr(client, command)(**params)
        except CloudStackApiException as exc:
            error = exc.error if isinstance(exc.error, dict) else {}
            jobid = None
            if exc.args and exc.args[0] == "Job failure":
                jobid = _jobid(exc.response)
            # an answer without an errorcode (a proxy's JSON 404) is named by its HTTP status
            code = error.get("errorcode") or getattr(exc.response, "status_code", None)
            failure = ApiError(command, code, str(error.get("errortext") or exc), jobid)
            failure.hint = refusal_hint(self.target, code) or failure.hint
            raise failure from None
        except CloudStackException as exc:
            if exc.args and exc.args[0] == "Timeout waiting for async job result":
                raise _JobTimeout(str(exc.args[1])) from None
            raise not_the_api(self.target, command, exc) from exc  # --debug shows it, redacted
        except requests.RequestException as exc:
            request = exc.request
            if "Connection refused by Responses" in str(exc) and isinstance(
                request, requests.PreparedRequest
            ):
                sent = request_params(request)
                shown = " ".join(f"{k}={v}" for k, v in sent.items() if k != "command")
                raise ReplayMiss(
                    f"the recording has no answer for {command} {shown}".rstrip(),
                    hint="record it again against a cloud that has it",
                ) from None
            raise unreachable(self.target, exc) from exc
        except SystemExit as exc:  # cs exits on missing config; never let it leak
            raise CstoolError(f"the cs client stopped: {exc}") from None
        except (TypeError, AttributeError) as exc:
            # the cs client reads a list answer as final_data.extend(data[key]): an envelope
            # that is not a mapping, or a list that is not a list, fails inside it
            raise NotCloudStack(
                host_of(self.target.endpoint),
                200,
                f"an answer to {command} that is not shaped like CloudStack's ({exc})",
            ) from None


class _SessionHooks(BaseAdapter):
    """Runs the session's response hooks. The cs client prepares its requests itself
    (requests.Request.prepare, not Session.prepare_request), so Session.send dispatches only
    the request's own hooks and never the session's: this adapter, mounted on the endpoint,
    dispatches them."""

    def __init__(self, inner: BaseAdapter, session: requests.Session) -> None:
        super().__init__()
        self.inner = inner
        self.session = session

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = self.inner.send(request, **kwargs)
        own = request.hooks.get("response", [])
        for hook in list(self.session.hooks.get("response", [])):
            if hook not in own:
                hook(response, **kwargs)
        return response

    def close(self) -> None:
        self.inner.close()


def _run_session_hooks(session: requests.Session, endpoint: str) -> None:
    """Mount _SessionHooks on the endpoint once per session."""
    adapter: Any = session.get_adapter(endpoint)
    while adapter is not None:
        if isinstance(adapter, _SessionHooks):
            return
        adapter = getattr(adapter, "inner", None)
    prefix = endpoint.split("/client/", 1)[0] + "/"
    session.mount(prefix, _SessionHooks(session.get_adapter(endpoint), session))


_LIVE: weakref.WeakSet[Api] = weakref.WeakSet()


def interrupt_all() -> None:
    """Ctrl-C or SIGTERM (cli.py): every Api of this process stops waiting."""
    for api in list(_LIVE):
        api.interrupt()


def _job_outcome(command: str, jobid: str, job: dict[str, Any]) -> dict[str, Any]:
    """The result of a finished job, or its failure as an ApiError naming the job."""
    result = job.get("jobresult")
    if job.get("jobstatus") == 1 and not job.get("jobresultcode"):
        return dict(result) if isinstance(result, dict) else {}
    error = result if isinstance(result, dict) else {}
    code = error.get("errorcode") or job.get("jobresultcode")
    text = str(error.get("errortext") or f"the async job ended with status {job.get('jobstatus')}")
    raise ApiError(command, code, text, jobid)


def _allowed_page_size(error: ApiError, current: int) -> int | None:
    """The page size to try after `error`, or None when it is not a page-size refusal.

    The server's text names its limit (BaseListCmd.getPageSize); should a server word it
    otherwise, halving still converges.
    """
    if error.code != 431 or "Page size can't exceed" not in error.text:
        return None
    named = PAGE_SIZE_REFUSED.search(error.text)
    allowed = int(named.group(1)) if named else current // 2
    return allowed if 0 < allowed < current else None


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
