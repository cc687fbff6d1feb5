"""`-v`/`--log-api`: one line for every API request a run sends, for an operator to see what
cstool asks of the cloud and how long the cloud takes.

A line says the method, the command, its parameters as a recording keeps them (signing
parameters dropped, credentials redacted by name: wire.request_params), the HTTP status, the
time to the answer in milliseconds, and the async job an answer starts or a poll asks about.
The whole line passes through errors.redact as well, so a secret registered for the run
(the target's key and secret, a password) cannot show even inside another value. The
adapter wraps everything under the endpoint, so retries of a request (waits.Patient) are
inside one line and its time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter

from cstool.cloud.api import Api
from cstool.cloud.wire import is_query, request_params
from cstool.errors import redact

Write = Callable[[str], None]
JOB_STATUS = {"0": "pending", "1": "done", "2": "failed"}  # AsyncJobResult.Status, by number


class ApiLog(BaseAdapter):
    """Wraps the adapter that sends (as record.RecordingAdapter does); writes a line per
    request once its answer, or its failure, is in."""

    def __init__(self, inner: BaseAdapter, write: Write) -> None:
        super().__init__()
        self.inner = inner  # the name the other wrappers walk (waits.install)
        self.write = write
        self._lock = threading.Lock()  # apply sends from several threads: whole lines

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        started = time.monotonic()
        try:
            response = self.inner.send(request, **kwargs)
        except Exception as exc:
            self._line(request, f"{type(exc).__name__}", started, "")
            raise
        self._line(request, str(response.status_code), started, _job(request, response))
        return response

    def _line(
        self, request: requests.PreparedRequest, outcome: str, started: float, job: str
    ) -> None:
        millis = (time.monotonic() - started) * 1000
        with self._lock:
            self.write(redact(f"api: {describe(request)} -> {outcome} in {millis:.0f} ms{job}"))

    def close(self) -> None:
        self.inner.close()


def describe(request: requests.PreparedRequest) -> str:
    """METHOD command name=value ..., credentials redacted, signing parameters left out."""
    params = request_params(request)
    command = params.pop("command", "?")
    shown = " ".join(f"{k}={v}" for k, v in params.items())
    return f"{request.method or '?'} {command} {shown}".rstrip()


def _job(request: requests.PreparedRequest, response: requests.Response) -> str:
    """`, job ID` for an answer that starts an async job; `, job ID STATUS` for a poll.
    Read only for commands that are not queries (list answers can be large), and polls."""
    command = request_params(request).get("command", "")
    if is_query(command) and command != "queryAsyncJobResult":
        return ""
    try:
        body = response.json()
        reply = next(iter(body.values())) if isinstance(body, dict) and len(body) == 1 else {}
    except ValueError:
        return ""
    if not isinstance(reply, dict) or "jobid" not in reply:
        return ""
    status = JOB_STATUS.get(str(reply.get("jobstatus")), "")
    return f", job {reply['jobid']}" + (f" {status}" if status else "")


def log_calls(api: Api, write: Write) -> None:
    """Log every request `api` sends from now on through `write` (cli.py: stderr)."""
    target = api.target
    prefix = target.endpoint.split("/client/", 1)[0] + "/"
    target.session.mount(prefix, ApiLog(target.session.get_adapter(target.endpoint), write))
