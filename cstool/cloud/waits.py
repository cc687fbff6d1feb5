"""How cstool waits on the network: retries, deadlines, interruption and job polling.

One `Waits` per run holds the clock: a deadline per call (connect and the whole answer, not
only each read), an optional deadline for the run (`--deadline`), and the interruption flag
that Ctrl-C and SIGTERM set. `Patient` is the requests adapter every API request goes through:
it enforces the per-call deadline and retries what is safe to retry.

What is retried (with exponential backoff and jitter, honouring Retry-After):
- reads (commands the server treats as read-only, wire.is_query): HTTP 429, 5xx other than
  CloudStack's own error codes, connection errors and timeouts;
- writes only when the server cannot have acted: 429 (ApiServer.verifyRequest refuses a
  throttled call before the command runs), CloudStack's own 503 (ApiServer.queueCommand
  refuses an async command before queueing it while the server shuts down), and a connection
  that was never set up (refused, name not resolved, connect timeout). Never after the
  request may have reached the server (read timeout, dropped connection, 5xx from a proxy):
  that outcome is unknown, and a second create could make a duplicate.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from cstool.cloud.wire import is_query, sent_params
from cstool.errors import CstoolError

READ_ATTEMPTS = 5  # a read is sent at most this many times
WRITE_ATTEMPTS = 4  # a write the server did not act on, likewise
BACKOFF_FIRST = 0.25  # seconds before the first retry, doubling ...
BACKOFF_CAP = 8.0  # ... up to this
RETRY_AFTER_CAP = 60.0  # a server asking for a longer pause is not waited for longer
POLL_FIRST = 0.1  # the first wait before asking for an async job's result, doubling ...
POLL_CAP = 2.0  # ... up to this
POLL_MIN = 0.01  # a command whose jobs end at once is first polled this soon (FirstPolls)
IMMEDIATE_POLLS = 3  # a target without waits (simulator, replay) is asked this often at once
JITTER = 0.2  # waits are shortened by up to this share, so parallel clients spread out
CONNECT_TIMEOUT = 10.0
CHUNK = 65536
# ApiErrorCode: CloudStack's own answers (511 two-factor, 530-537 refusals) are final, not
# transient, whatever their HTTP class
CLOUDSTACK_FINAL = frozenset({511, *range(530, 538)})
# ApiRateLimitServiceImpl.throwExceptionDueToApiRateLimitReached: the server names the pause
# in its text (it sends no Retry-After header)
_CLOUDSTACK_PAUSE = re.compile(r"retry after \[(\d+)\] ms")

_random = random.Random()
_MAIN = threading.main_thread()


class Interrupted(CstoolError):
    """Ctrl-C or SIGTERM: waiting stopped."""

    def __init__(self) -> None:
        super().__init__("interrupted")


class DeadlineExceeded(CstoolError):
    """The run's --deadline passed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the run's deadline of {seconds:g} s passed",
            hint="raise --deadline if the cloud is slow; what was done stays done, and the "
            "next run plans only what is left",
        )


class JobStillRunning(CstoolError):
    """cstool stopped waiting for an async job that may still be running on the server."""

    def __init__(self, command: str, jobid: str, reason: str) -> None:
        self.command = command
        self.jobid = jobid
        super().__init__(
            f"{command}: async job {jobid} may still be running on the server "
            f"(stopped waiting: {reason})",
            hint=f"follow it with `cs queryAsyncJobResult jobid={jobid}`; the next run reads "
            "the cloud again and plans only what is left",
        )


class CallTimeout(requests.Timeout):
    """No complete answer within the per-call deadline (connect and the whole answer)."""


def jittered(seconds: float) -> float:
    """`seconds` shortened by up to JITTER, at random."""
    return seconds * (1.0 - JITTER * _random.random())


def backoff(attempt: int) -> float:
    """The pause before retry number `attempt` + 1: exponential, capped, with jitter."""
    return jittered(min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt))


def poll_delays(first: float) -> Iterator[float]:
    """The waits before each queryAsyncJobResult: `first`, doubling up to POLL_CAP, with
    jitter. A target that needs no wait (first <= 0: the simulator, a replay) is asked
    IMMEDIATE_POLLS times at once, then backed off like any other."""
    if first <= 0:
        yield from [0.0] * IMMEDIATE_POLLS
        first = POLL_FIRST
    delay = first
    while True:
        yield jittered(min(delay, POLL_CAP))
        delay *= 2


class FirstPolls:
    """How long to wait before the first poll of a command's job, learnt from its earlier
    jobs in this run: halved (down to POLL_MIN) while they are done at the first poll,
    doubled (up to `ceiling`) when one is still pending. A server whose jobs end in a few
    milliseconds is not waited on for `ceiling` per job (10,000 jobs at 0.1 s each are 17
    minutes of waiting); one whose jobs take longer is polled as before, at the cost of at
    most one early poll now and then."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling
        self._waits: dict[str, float] = {}
        self._lock = threading.Lock()

    def first(self, command: str) -> float:
        with self._lock:
            return self._waits.get(command, self.ceiling)

    def learn(self, command: str, waited: float, done: bool) -> None:
        """The job waited `waited` before its first poll, and was `done` at that poll."""
        with self._lock:
            if done:
                self._waits[command] = max(POLL_MIN, min(self.ceiling, waited / 2))
            else:
                self._waits[command] = min(self.ceiling, max(POLL_MIN, waited * 2))


def retry_after(response: requests.Response, now: datetime | None = None) -> float | None:
    """The pause the server asks for, in seconds (at most RETRY_AFTER_CAP), or None.

    Retry-After (RFC 9110 10.2.3) is delay-seconds or an HTTP date; proxies and load
    balancers send it with 429 and 503. CloudStack itself names the pause in its 429 text
    ("please retry after [N] ms", ApiRateLimitServiceImpl.throwExceptionDueToApiRateLimitReached).
    """
    header = (response.headers.get("Retry-After") or "").strip()
    seconds: float | None = None
    if header:
        try:
            seconds = float(header)
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
                seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds is None:
        text = f"{response.headers.get('X-Description') or ''} {response.text[:2000]}"
        named = _CLOUDSTACK_PAUSE.search(text)
        seconds = int(named.group(1)) / 1000 if named else None
    if seconds is None or seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def not_sent(exc: BaseException) -> bool:
    """True when the request never reached the server: the connection was refused, the name
    did not resolve, or connecting timed out (urllib3 NewConnectionError, NameResolutionError,
    ConnectTimeoutError, found anywhere in the chain requests wraps them in)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NewConnectionError | ConnectTimeoutError):
            return True
        stack += [a for a in e.args if isinstance(a, BaseException)]
        for linked in (getattr(e, "reason", None), e.__cause__, e.__context__):
            if isinstance(linked, BaseException):
                stack.append(linked)
    return False


def _transient(exc: requests.RequestException) -> bool:
    """A failure a read may simply try again (never a TLS error or a replay miss)."""
    if isinstance(exc, requests.exceptions.SSLError) or "by Responses" in str(exc):
        return False
    return isinstance(
        exc,
        requests.ConnectionError
        | requests.Timeout
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    )


def _cloudstack_refusal(response: requests.Response) -> bool:
    """The answer is CloudStack's own error envelope ({"<command>response": {"errorcode"}})
    rather than a proxy's page."""
    try:
        body = response.json()
        (inner,) = body.values()
        return isinstance(inner, dict) and "errorcode" in inner
    except (ValueError, AttributeError, TypeError):
        return False


def retry_wait(response: requests.Response, read: bool, attempt: int) -> float | None:
    """How long to wait before sending the same request again, or None: do not."""
    status = response.status_code
    before_acting = status == 429 or (status == 503 and _cloudstack_refusal(response))
    transient = status >= 500 and status not in CLOUDSTACK_FINAL
    if before_acting or (read and transient):
        asked = retry_after(response)
        return asked if asked else backoff(attempt)
    return None


class Waits:
    """The clock of one run: the per-call deadline, the run's deadline, interruption.

    An interruption stops the waits of the helper threads (apply's steps, the reader's
    lists), now and from then on. The main thread is stopped by the KeyboardInterrupt the
    signal raises in it, and may then still call the cloud: to release what the run holds
    and to restore what it disabled.
    """

    def __init__(self, call_timeout: float, deadline: float | None = None) -> None:
        self.call_timeout = call_timeout
        self.deadline = deadline
        self.ends = time.monotonic() + deadline if deadline is not None else None
        self.cancelled = threading.Event()
        self.retried: Counter[str] = Counter()  # requests sent again, by command
        self._wakers: set[threading.Event] = set()
        self._lock = threading.Lock()

    def remaining(self) -> float | None:
        return None if self.ends is None else self.ends - time.monotonic()

    def stopped(self) -> bool:
        """Interrupted, for the calling thread."""
        return self.cancelled.is_set() and threading.current_thread() is not _MAIN

    def check(self) -> None:
        """Raise when no more waiting may start: interrupted, or the run's deadline passed."""
        if self.stopped():
            raise Interrupted()
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlineExceeded(self.deadline or 0)

    def budget(self) -> float:
        """Seconds the next call may take: the per-call deadline within the run's."""
        self.check()
        left = self.remaining()
        return self.call_timeout if left is None else min(self.call_timeout, left)

    def can_wait(self, seconds: float) -> bool:
        left = self.remaining()
        return not self.stopped() and (left is None or seconds < left)

    def sleep(self, seconds: float) -> None:
        """Wait, but stop at once when interrupted; never past the run's deadline."""
        self.check()
        left = self.remaining()
        pause = seconds if left is None else min(seconds, left)
        if threading.current_thread() is _MAIN:
            threading.Event().wait(max(pause, 0))  # Ctrl-C raises KeyboardInterrupt here
        elif pause > 0 and self.cancelled.wait(pause):
            raise Interrupted()
        self.check()

    def cancel(self) -> None:
        """Stop every wait now (Ctrl-C): sleeps, polls and reads in flight return at once."""
        self.cancelled.set()
        with self._lock:
            for event in self._wakers:
                event.set()

    @contextlib.contextmanager
    def waker(self, event: threading.Event) -> Iterator[None]:
        """Set `event` too when the run is cancelled, while in this block (helper threads
        only: see the class)."""
        if threading.current_thread() is _MAIN:
            yield
            return
        with self._lock:
            self._wakers.add(event)
        if self.cancelled.is_set():
            event.set()
        try:
            yield
        finally:
            with self._lock:
                self._wakers.discard(event)


class _Exchange:
    """One request sent from a helper thread, so that its caller can stop waiting for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.finished = False
        self.abandoned = False
        self.response: requests.Response | None = None
        self.error: BaseException | None = None

    def run(
        self, inner: BaseAdapter, request: requests.PreparedRequest, kw: dict[str, Any]
    ) -> None:
        try:
            response = inner.send(request, stream=True, **kw)
            response._content = self._body(response)  # as requests' Response.content keeps it
            response._content_consumed = True  # type: ignore[attr-defined]
            self.response = response
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            self.finished = True
            self.done.set()

    def _body(self, response: requests.Response) -> bytes:
        """The whole body, read as it arrives; given up as soon as the caller stopped
        waiting (a server that dribbles a byte at a time keeps no thread forever)."""
        chunks: list[bytes] = []
        raw = response.raw
        if not hasattr(raw, "read1"):  # not a urllib3 answer: nothing to read piecemeal
            return response.content
        try:
            while not self.abandoned:
                data = raw.read1(CHUNK, decode_content=True)
                if not data:
                    return b"".join(chunks)
                chunks.append(data)
        except ProtocolError as exc:  # as requests' iter_content maps them
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        except ReadTimeoutError as exc:
            raise requests.ConnectionError(exc) from None
        response.close()
        raise CallTimeout("abandoned")


class Patient(BaseAdapter):
    """The adapter under every API request: the per-call deadline, retries, interruption.

    `threaded`: the request goes out on a helper thread, so that neither a server that
    dribbles its answer nor one that never answers keeps the caller past the deadline
    (requests' read timeout applies to each read, not to the whole answer). Only real
    sockets need it (requests' own HTTPAdapter underneath); the in-process simulator and
    replays answer directly.
    """

    def __init__(
        self, inner: BaseAdapter, waits: Waits, threaded: bool = True, retries: bool = True
    ) -> None:
        super().__init__()
        self.inner = inner
        self.waits = waits
        self.threaded = threaded
        self.retries = retries

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kw: Any
    ) -> requests.Response:
        command = sent_params(request).get("command", "")
        read = is_query(command)
        attempts = (READ_ATTEMPTS if read else WRITE_ATTEMPTS) if self.retries else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._once(request, read, kw)
            except requests.RequestException as exc:
                wait = backoff(attempt)
                if last or not (_transient(exc) if read else not_sent(exc)):
                    raise
                if not self.waits.can_wait(wait):
                    raise
            else:
                answer = retry_wait(response, read, attempt)
                if answer is None or last or not self.waits.can_wait(answer):
                    return response
                wait = answer
                response.close()
            self.waits.sleep(wait)
            with self.waits._lock:
                self.waits.retried[command] += 1
        raise AssertionError("unreachable")

    def _once(
        self, request: requests.PreparedRequest, read: bool, kw: dict[str, Any]
    ) -> requests.Response:
        budget = self.waits.budget()
        kw = {**kw, "timeout": (min(CONNECT_TIMEOUT, budget), budget)}
        if not (self.threaded and isinstance(self.inner, HTTPAdapter)):
            return self.inner.send(request, **kw)
        exchange = _Exchange()
        thread = threading.Thread(
            target=exchange.run, args=(self.inner, request, kw), daemon=True, name="cstool-http"
        )
        # a read is abandoned at once on Ctrl-C; a write is waited for (within the deadline)
        # so that its outcome is known
        wake = self.waits.waker(exchange.done) if read else contextlib.nullcontext()
        with wake:
            thread.start()
            exchange.done.wait(budget)
        if exchange.finished:
            if exchange.error is not None:
                raise exchange.error
            assert exchange.response is not None
            return exchange.response
        exchange.abandoned = True
        if self.waits.stopped() and read:
            raise Interrupted()
        outcome = "" if read else f"; the outcome of {command_of(request)} is unknown"
        raise CallTimeout(f"no complete answer within {budget:g} s{outcome}", request=request)

    def close(self) -> None:
        self.inner.close()


def command_of(request: requests.PreparedRequest) -> str:
    return sent_params(request).get("command", "the request")


def install(session: requests.Session, endpoint: str, waits: Waits, **options: bool) -> None:
    """Put a Patient adapter under the endpoint (once per session; a later Api's clock
    replaces an earlier one's)."""
    adapter: Any = session.get_adapter(endpoint)
    while adapter is not None:
        if isinstance(adapter, Patient):
            adapter.waits = waits
            return
        adapter = getattr(adapter, "inner", None)
    prefix = endpoint.split("/client/", 1)[0] + "/"
    session.mount(prefix, Patient(session.get_adapter(endpoint), waits, **options))
