"""The simulator's wire: signature checks, envelopes, async jobs and injected faults,
served in-process (a requests adapter under the cs client) or over HTTP (`cstool sim serve`).

Never imports cstool.model or cstool.cloud.
"""

from __future__ import annotations

import atexit
import base64
import email.utils
import functools
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from cstool import apispec
from cstool.simulator.commands import COMMANDS, ApiRefusal, P, ParamError, tenancy
from cstool.simulator.commands.compute import tick
from cstool.simulator.commands.core import setting
from cstool.simulator.settings import seed
from cstool.simulator.store import Store, public

API_PATH = "/client/api"
IN_PROCESS_ENDPOINT = "http://simulator.cstool.invalid/client/api"
CONTENT_TYPE = "application/json; charset=UTF-8"
FORM = "application/x-www-form-urlencoded"
EXPIRES_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z")
DEFAULT_VERSION = "4.22.0.0"
# ApiServer.verifyRequest: with enforce.post.requests.and.timestamps, expires at most 15 min ahead
MAX_EXPIRES_AHEAD = timedelta(minutes=15)


# --- signatures (ApiServer.verifyRequest) ------------------------------------------------


def java_encode(value: str) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8") with '+' turned into %20 (and '~' encoded)."""
    return quote(value, safe="*").replace("~", "%7E")


def signature(params: dict[str, str], secret: str) -> str:
    """CloudStack's request signature: sorted name=value, lower-cased, HMAC-SHA1, Base64."""
    text = "&".join(
        f"{k}={java_encode(v)}" for k, v in sorted(params.items()) if k != "signature"
    ).lower()
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@functools.lru_cache(maxsize=64)
def _expires(value: str | None) -> datetime | None:
    """The `expires` time (DateUtil.parseTZDateString), or None when absent or unreadable.
    Cached: a client sends the same text for a second or more of calls."""
    for fmt in EXPIRES_FORMATS:
        try:
            return datetime.strptime((value or "").replace("Z", "+0000"), fmt)
        except ValueError:
            continue
    return None


def _timestamp_refused(lower: dict[str, str], enforced: bool) -> bool:
    """ApiServer.verifyRequest: signature version 3 needs a readable `expires` in the future;
    with enforce.post.requests.and.timestamps it is mandatory and at most 15 minutes ahead."""
    now = datetime.now(UTC)
    if lower.get("signatureversion") == "3":
        when = _expires(lower.get("expires"))
        return when is None or when <= now or (enforced and when > now + MAX_EXPIRES_AHEAD)
    return enforced


# --- versions (the `since` of commands and parameters, cstool/data/api-spec.json) ---------


def version_tuple(text: str | None) -> tuple[int, int, int, int] | None:
    """4.20 / 4.21.0 / 4.22.0.0-SNAPSHOT -> (4, 21, 0, 0); None when it names no version."""
    m = re.match(r"^\s*(\d+(?:\.\d+)*)", text or "")
    if not m:
        return None
    parts = [int(x) for x in m.group(1).split(".")[:4]] + [0, 0, 0, 0]
    return (parts[0], parts[1], parts[2], parts[3])


def _newer(since: str | None, version: tuple[int, int, int, int]) -> bool:
    when = version_tuple(since)
    return when is not None and when > version


# ApiServlet.GET_REQUEST_COMMANDS / GET_REQUEST_COMMANDS_LIST: what may still come by GET
_GET_COMMANDS = re.compile(r"^(get|list|query|find)\w+$")
_GET_COMMAND_NAMES = frozenset(
    {
        "isaccountallowedtocreateofferingswithtags",
        "readyforshutdown",
        "cloudianisenabled",
        "quotabalance",
        "quotasummary",
        "quotatarifflist",
        "quotaisenabled",
        "quotastatement",
        "verifyoauthcodeandgetuser",
    }
)
ENFORCE_POST = "enforce.post.requests.and.timestamps"


def post_refusal(command: str | None, method: str, params: dict[str, str]) -> str | None:
    """The 400 text a server with enforce.post.requests.and.timestamps gives a state-changing
    command not sent by POST, else None. Copies ApiServlet.isStateChangingCommandUsingPOST and
    the message of ApiServlet.processRequestInContext: a command is read-only when its
    lower-cased name matches ^(get|list|query|find)... or is in a short list; updateConfiguration
    by GET is allowed only for this very setting (so it can be turned off)."""
    if command is None:
        return "State changing command null needs to be sent using POST request"
    name = command.lower()
    if method.upper() == "POST" or _GET_COMMANDS.match(name) or name in _GET_COMMAND_NAMES:
        return None
    if name == "updateconfiguration":
        if params.get("name", "").lower() == ENFORCE_POST:
            return None
        if "name" in params:
            return f"Changes for configuration {params['name']} needs to be sent using POST request"
    return f"State changing command {command} needs to be sent using POST request"


def envelope(command: str) -> str:
    """The key a command's answers and errors come in: BaseCmd.getCommandName, the lower-cased
    name + "response" unless the command overrides it (api-spec.json `response_name`, e.g.
    enableStorageMaintenance's prepareprimarystorageformaintenanceresponse)."""
    spec = apispec.command(command)
    return spec.response_name if spec else f"{command.lower()}response"


def _params(command: str, params: dict[str, str]) -> P:
    """The parameters as a handler sees them. ParamProcessWorker:186-197 names the command in
    its texts ("Unable to execute API command x due to missing parameter y") by
    getCommandName() minus "response": the overridden envelope's stem where there is one."""
    p = P(command, params)
    stem = envelope(command).removesuffix("response")
    if stem != command.lower():
        p.command = stem
    return p


def _class_name(command: str) -> str:
    spec = apispec.command(command)
    return spec.class_name if spec else f"org.apache.cloudstack.api.command.admin.{command}Cmd"


# --- faults ------------------------------------------------------------------------------

_FAULT = re.compile(
    r"^(?P<cmd>[A-Za-z0-9*]+)(?:#(?P<nth>\d+))?:"
    r"(?P<action>latency|error|job-time|job|drop|lose|throttle|connect-time|host-state|"
    r"maint-polls|maint-error)(?:=(?P<value>.+))?$"
)
# faults the command handlers read (Store.call_faults), not the transport
HANDLER_FAULTS = ("connect-time", "host-state", "maint-polls", "maint-error")


def _host_state(text: str) -> str:
    """host-state takes a connection state a host can be left in (com.cloud.host.Status)."""
    if text not in ("Alert", "Down"):
        raise ValueError(text)
    return text


# the value each action takes: (reader, what to write); None: the action takes no value
_FAULT_VALUES: dict[str, tuple[Any, str] | None] = {
    "latency": (float, "seconds"),
    "error": (int, "an HTTP status code (400-599)"),
    "job-time": (float, "seconds"),
    "throttle": (int, "milliseconds"),
    "connect-time": (float, "seconds"),
    "host-state": (_host_state, "Alert or Down"),
    "maint-polls": (int, "a number of listHosts reads"),
    "maint-error": None,
    "job": None,
    "drop": None,
    "lose": None,
}
# outside these the handler itself would fail (time.sleep's OverflowError, a status line
# clients refuse: org.apache.cloudstack.api.ApiErrorCode's codes are 401-537); NaN fails too
_FAULT_RANGE = {"error": (400, 599)}


@dataclass
class Fault:
    """One injected fault: for `command` ('*' = every command), on its nth call or on every call.

    actions: latency=SECONDS, error=CODE (an API error), job (the async job fails),
    drop (the connection drops before the server acts), lose (it acts, then the reply is lost),
    job-time=SECONDS (the async job stays pending at least that long, as a real server's do),
    throttle[=MS] (refused as a throttled account, 429, before the command runs).
    For the handlers (compute.py): connect-time=SECONDS (an added host is Connecting that
    long), host-state=Alert|Down (it stays so), maint-polls=N (a host stays in
    PrepareForMaintenance N listHosts reads), maint-error (it ends ErrorInPrepareForMaintenance).
    """

    command: str
    action: str
    nth: int | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Fault:
        m = _FAULT.match(text.strip())
        if not m:
            raise ValueError(
                f"bad fault {text!r}: write COMMAND[#N]:latency=S|error=CODE|job|"
                "drop|lose|job-time=S|throttle[=MS]|connect-time=S|host-state=Alert|Down|"
                "maint-polls=N|maint-error, e.g. createPod#2:error=431, "
                "'*:latency=0.05' or 'addHost:connect-time=2'"
            )
        kind = _FAULT_VALUES[m["action"]]
        if m["value"] is not None:
            try:
                number = kind[0](m["value"]) if kind else None
            except ValueError:
                number = None
            low, high = _FAULT_RANGE.get(m["action"], (0, 86400))
            if number is None or (not isinstance(number, str) and not low <= number <= high):
                what = kind[1] if kind else "no value"
                raise ValueError(f"bad fault {text!r}: {m['action']} takes {what}")
        return cls(m["cmd"], m["action"], int(m["nth"]) if m["nth"] else None, m["value"])

    def matches(self, command: str, count: int) -> bool:
        return self.command in ("*", command) and (self.nth is None or self.nth == count)


class Dropped(Exception):
    """The simulated connection dropped."""


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        return json.dumps(self.body).encode()


# --- the simulator -----------------------------------------------------------------------


class Faults:
    """Faults for one client of the simulator, with that client's call counts."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self.faults = list(faults)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def for_call(self, command: str) -> list[Fault]:
        with self._lock:
            self.calls[command] += 1
            count = self.calls[command]
        return [f for f in self.faults if f.matches(command, count)]


_SHARED: dict[Path, Simulator] = {}
_SHARED_USERS: Counter[Path] = Counter()  # holders of each shared simulator (release_shared)
_SHARED_LOCK = threading.Lock()


class Simulator:
    """A CloudStack management server in memory (optionally kept in a state file)."""

    def __init__(
        self,
        state: Path | None = None,
        keys: dict[str, str] | None = None,
        faults: Iterable[Fault] = (),
        job_polls: int = 1,
        version: str = DEFAULT_VERSION,
        host_connect: float = 0.0,
    ) -> None:
        self.store = Store.load(state)
        self.store.host_connect = host_connect  # seconds an added host takes to be Up
        try:
            with self.store.transaction():
                seed(self.store)
                tenancy.seed(self.store)  # ROOT, system, admin: fixed ids, none from the sequence
            self.store.flush()
            self.keys = dict(keys or {})
            self.faults = Faults(faults)
            self.job_polls = job_polls  # queryAsyncJobResult answers "pending" this many times
            self.version = DEFAULT_VERSION
            self.pretend(version)
            self._read_startup_settings()
        except BaseException:
            self.store.close()  # the state file is free again for whoever tries next
            raise

    def pretend(self, version: str) -> None:
        """Be this CloudStack version: listCapabilities reports it; newer commands are unknown
        and newer parameters ignored, as on a server of that version."""
        parsed = version_tuple(version)
        if parsed is None:
            raise ValueError(f"not a CloudStack version: {version!r} (write e.g. 4.20.1.0)")
        self.version, self._version = version, parsed

    def _read_startup_settings(self) -> None:
        """Settings the server reads once, when it starts; changing them later takes a
        restart (here: a new Simulator on the same state)."""
        with self.store.lock:
            # ApiServer.start: isPostRequestsAndTimestampsEnforced = EnforcePostRequests...value()
            self.enforce_post = setting(self.store, ENFORCE_POST).strip().lower() == "true"
            # ConfigurationManagerImpl.configure: _defaultPageSize = NumbersUtil.parseLong(
            # default.page.size, 500); BaseListCmd.configure keeps it in static s_maxPageSize
            try:
                self.max_page_size = int(setting(self.store, "default.page.size").strip())
            except ValueError:
                self.max_page_size = 500

    @classmethod
    def shared(cls, state: Path, keys: dict[str, str], version: str | None = None) -> Simulator:
        """One simulator per state file in this process (saved at exit at the latest),
        pretending to be `version` (the default when None) from now on. It keeps the state
        file locked until every holder has called release_shared."""
        path = state.resolve()
        with _SHARED_LOCK:
            sim = _SHARED.get(path)
            if sim is None:
                sim = _SHARED[path] = cls(state)
            _SHARED_USERS[path] += 1
            sim.keys.update(keys)
            sim.pretend(version or DEFAULT_VERSION)
            return sim

    @staticmethod
    def release_shared(state: Path) -> None:
        """One holder of the shared simulator of `state` is done; the last one saves it and
        lets the file go, so another process can use it while this one goes on."""
        path = state.resolve()
        with _SHARED_LOCK:
            _SHARED_USERS[path] -= 1
            if _SHARED_USERS[path] > 0:
                return
            del _SHARED_USERS[path]
            sim = _SHARED.pop(path, None)
        if sim is not None:
            sim.close()

    def close(self) -> None:
        """Save what is pending and unlock the state file."""
        self.store.close()

    # --- owners a test or `sim serve` gives (cstool references them, never creates them) --

    def add_domain(self, path: str) -> str:
        """The domain at `path` (ROOT/a/b), created with its parents when missing; its id.
        Given owners take fixed ids, none from the id sequence."""
        with self.store.transaction() as store:
            return str(tenancy.add_domain(store, path)["id"])

    def add_account(self, path: str, name: str) -> str:
        """A user account `name` in the domain at `path` (created when missing); its id."""
        with self.store.transaction() as store:
            return str(tenancy.add_account(store, path, name)["id"])

    def add_project(self, path: str, name: str) -> str:
        """A project `name` in the domain at `path`, with its project account; its id."""
        with self.store.transaction() as store:
            return str(tenancy.add_project(store, path, name)["id"])

    @property
    def calls(self) -> Counter[str]:
        return self.faults.calls

    def handle(
        self,
        params: dict[str, str],
        faults: Faults | None = None,
        job_polls: int | None = None,
        method: str = "GET",
    ) -> Reply:
        """Answer one API request (decoded parameters, sent by `method`) as CloudStack would."""
        command = params.get("command")
        if self.enforce_post:  # checked before the signature (ApiServlet.processRequestInContext)
            text = post_refusal(command, method, params)
            if text is not None:
                known = command is not None and self._known_command(command)
                return self._error(command if known else None, 400, text)
        refused = self._authenticate(params)
        if refused is not None:
            return refused
        assert command is not None
        faults_now = (faults or self.faults).for_call(command)
        polls = self.job_polls if job_polls is None else job_polls
        return self._handle(command, self._known_params(command, params), faults_now, polls)

    def _known_params(self, command: str, params: dict[str, str]) -> dict[str, str]:
        """The parameters without those newer than this version: a server ignores parameters
        it does not declare (ParamGenericValidationWorker.handle only logs a warning)."""
        spec = apispec.command(command)
        if spec is None:
            return params
        kept = {}
        for name, value in params.items():
            param = spec.params.get(name.split("[", 1)[0].lower())
            if param is None or not _newer(param.since, self._version):
                kept[name] = value
        return kept

    def _known_command(self, command: str) -> bool:
        """A command this version has (ApiServer.verifyRequest: s_apiNameCmdClassMap)."""
        if command == "queryAsyncJobResult":
            return True
        spec = apispec.command(command)
        return command in COMMANDS and not (spec is not None and _newer(spec.since, self._version))

    def _handle(
        self, command: str, params: dict[str, str], faults: list[Fault], polls: int
    ) -> Reply:
        for fault in faults:
            if fault.action == "latency":
                time.sleep(float(fault.value or 0))
        for fault in faults:
            if fault.action == "throttle":
                return self._throttled(command, int(fault.value or 1000))
        if any(f.action == "drop" for f in faults):
            raise Dropped(command)
        for fault in faults:
            if fault.action == "error":
                return self._error(
                    command,
                    int(fault.value or 530),
                    "Injected failure "
                    f"(simulator fault {fault.command}#{fault.nth or '*'} on {command})",
                )
        handler_faults = {f.action: f.value for f in faults if f.action in HANDLER_FAULTS}
        reply = self._dispatch(
            command, params, any(f.action == "job" for f in faults), polls, handler_faults
        )
        job_time = max((float(f.value or 0) for f in faults if f.action == "job-time"), default=0)
        if job_time > 0 and command != "queryAsyncJobResult":  # only a job's start sets its time
            self._delay_job(reply, job_time)
        reply = self._page_size_checked(command, params, reply)
        if command == "listCapabilities" and reply.status == 200:
            # ListCapabilitiesCmd reports the management server's version: the one pretended
            reply.body["listcapabilitiesresponse"]["capability"]["cloudstackversion"] = self.version
        if any(f.action == "lose" for f in faults):
            raise Dropped(command)
        return reply

    def _throttled(self, command: str, pause_ms: int) -> Reply:
        """A throttled account's answer. ApiServer.verifyRequest -> commandAvailable catches
        the RequestLimitException of ApiRateLimitServiceImpl.checkAccess (api.throttling.
        enabled; root admins are exempt, so the simulator's own user never meets it unless
        injected) and throws ServerApiException(API_LIMIT_EXCEED = 429); ApiServlet.
        processRequestInContext answers it with that status, an X-Description header and
        getSerializedApiError's envelope (cserrorcode 9999: ServerApiException's own). The
        command never ran. The pause is the limit window's rest, in ms, in the text only:
        no Retry-After header."""
        text = (
            "The given user has reached his/her account api limit, please retry after "
            f"[{pause_ms}] ms."
        )
        return self._error(command, 429, text)

    def _delay_job(self, reply: Reply, seconds: float) -> None:
        """The async job this reply started stays pending for `seconds` (job-time fault)."""
        body = next(iter(reply.body.values()), None) if reply.status == 200 else None
        jobid = body.get("jobid") if isinstance(body, dict) else None
        with self.store.transaction() as store:
            job = store.jobs.get(str(jobid)) if jobid is not None else None
            if job is not None:
                job["_ready"] = time.time() + seconds
                store.touch()

    def _page_size_checked(self, command: str, params: dict[str, str], reply: Reply) -> Reply:
        """BaseListCmd.getPageSize: a pagesize above default.page.size as read at start-up
        answers 431. Only paged commands ask for it (in execute, after the other checks);
        lists that ignore paging (listTrafficTypes, ...) never refuse it."""
        spec = apispec.command(command)
        limit = self.max_page_size
        if reply.status != 200 or spec is None or not spec.paged or limit == -1:
            return reply
        raw = {k.lower(): v for k, v in params.items()}.get("pagesize")
        try:
            size = int(raw) if raw is not None else None
        except ValueError:
            return reply
        if size is None or size <= limit:
            return reply
        return self._error(
            command, 431, f"Page size can't exceed max allowed page size value: {limit}"
        )

    def _authenticate(self, params: dict[str, str]) -> Reply | None:
        command = params.get("command")
        if not command:
            return self._error(None, 432, "no command specified")
        lower = {k.lower(): v for k, v in params.items()}
        secret = self.keys.get(lower.get("apikey", ""))
        given = lower.get("signature")
        ok = (
            secret is not None
            and given is not None
            and hmac.compare_digest(signature(params, secret).encode(), given.encode())
        )
        if ok and _timestamp_refused(lower, self.enforce_post):
            ok = False
        if not ok or not self._known_command(command):
            return self._error(
                command if self._known_command(command) else None,
                401,
                "unable to verify user credentials and/or request signature",
            )
        return None

    def _error(self, command: str | None, code: int, text: str) -> Reply:
        key = envelope(command) if command else "errorresponse"
        cserror = ApiRefusal(code, text).cserrorcode
        body = {key: {"uuidList": [], "errorcode": code, "cserrorcode": cserror, "errortext": text}}
        return Reply(code, body, {"X-Description": text})

    def _dispatch(
        self,
        command: str,
        params: dict[str, str],
        fail_job: bool,
        polls: int,
        handler_faults: dict[str, str | None] | None = None,
    ) -> Reply:
        key = envelope(command)
        with self.store.transaction() as store:
            tick(store)  # what the server did since the last request (hosts, system VMs)
        if command == "queryAsyncJobResult":
            return self._query_job(P(command, params))
        spec = COMMANDS[command]
        if fail_job and spec.mode == "sync":  # no job to fail: the call fails, nothing done
            return self._error(command, 530, f"Injected failure (simulator): {command}")
        if fail_job:  # the job fails before it changes anything
            with self.store.transaction():
                failure = (530, f"Injected failure (simulator): {command} job failed")
                job = self._job(command, None, failure, polls)
                if spec.mode == "async_create":
                    # BaseAsyncCreateCmd answers {jobid, id} (api-spec.json
                    # initial_response_keys, e.g. createPhysicalNetwork); the injected
                    # failure leaves no row behind, so the id names nothing
                    job = {"id": self.store.new_id(), **job}
                return Reply(200, {key: job})
        with self.store.transaction() as store:
            store.call_faults = dict(handler_faults or {})
            try:
                result = spec.handler(store, _params(command, params))
            except ParamError as exc:
                return self._error(command, exc.code, exc.text)
            except ApiRefusal as exc:
                if spec.mode != "async":
                    return self._error(command, exc.code, exc.text)
                return Reply(200, {key: self._job(command, None, (exc.code, exc.text), polls)})
            except Exception as exc:  # a simulator bug: answer like the server's 530
                return self._error(
                    command, 530, f"Internal error executing command: {type(exc).__name__}: {exc}"
                )
            finally:
                store.call_faults = {}
            if spec.mode == "sync":
                return Reply(200, {key: result})
            job = self._job(command, result, None, polls)
            if spec.mode == "async_create":
                (obj,) = result.values()
                job = {"id": obj["id"], **job}
            return Reply(200, {key: job})

    def _job(
        self,
        command: str,
        result: dict[str, Any] | None,
        failure: tuple[int, str] | None,
        polls: int,
    ) -> dict[str, str]:
        jobid = self.store.new_id()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        self.store.jobs[jobid] = {
            "jobid": jobid,
            # AsyncJobResponse.cmd is the command's Java class name (ApiServer.queueCommand
            # stores cmdObj.getClass().getName()); api-spec.json `source` names that class
            "cmd": _class_name(command),
            "created": now,
            "completed": now,
            "_polls": polls,
            "_result": result,
            "_failure": failure,
            "accountid": "acc0-0000-0000-0000-000000000001",
            "userid": "usr0-0000-0000-0000-000000000001",
        }
        self.store.touch()
        return {"jobid": jobid}

    def _query_job(self, p: P) -> Reply:
        with self.store.transaction() as store:
            jobid = p.get("jobid")
            job = store.jobs.get(jobid or "")
            if job is None:
                return self._error(
                    "queryAsyncJobResult",
                    431,
                    "Unable to execute API command "
                    f"queryasyncjobresult due to invalid value. Invalid parameter "
                    f"jobid value={jobid} due to incorrect long value format, or "
                    "entity does not exist",
                )
            body = {k: v for k, v in job.items() if not k.startswith("_")}
            body.update(jobprocstatus=0, jobresultcode=0, jobstatus=0)
            if job["_polls"] > 0 or time.time() < job.get("_ready", 0):
                if job["_polls"] > 0:
                    job["_polls"] -= 1
                    store.touch()
                body.pop("completed")
            elif job["_failure"]:
                code, text = job["_failure"]
                body.update(
                    jobstatus=2,
                    jobresultcode=code,
                    jobresulttype="object",
                    jobresult={"errorcode": code, "errortext": text},
                )
            else:
                body.update(jobstatus=1, jobresulttype="object", jobresult=job["_result"])
            return Reply(200, {"queryasyncjobresultresponse": public(body)})


# --- in-process: a requests adapter under the cs client ----------------------------------


def request_params(
    url: str, body: bytes | str | None, content_type: str | None = None
) -> tuple[str, dict[str, str]]:
    """The path and the decoded parameters of a request: a form-encoded body (POST) and the
    query string merged, the query winning (ApiServlet.processRequestInContext: the servlet's
    parameter map, then utf8Fixup puts the query-string values over it). A body of another
    content type holds no parameters for the servlet; None means form-encoded."""
    parts = urlsplit(url)
    params: dict[str, str] = {}
    is_form = content_type is None or content_type.split(";")[0].strip().lower() == FORM
    if body and is_form:
        text = body.decode() if isinstance(body, bytes) else body
        params.update(parse_qsl(text, keep_blank_values=True))
    params.update(parse_qsl(parts.query, keep_blank_values=True))
    return parts.path, params


class SimAdapter(BaseAdapter):
    """Mount on a requests.Session: the cs client then talks to the simulator, no socket."""

    def __init__(
        self, sim: Simulator, faults: Faults | None = None, job_polls: int | None = None
    ) -> None:
        super().__init__()
        self.sim = sim
        self.faults = faults
        self.job_polls = job_polls

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body if isinstance(request.body, bytes | str) else None
        content_type = str(request.headers.get("Content-Type") or FORM)
        path, params = request_params(request.url or "", body, content_type)
        if path != API_PATH:
            reply = Reply(404, {"errorresponse": {"errortext": f"no such path {path}"}})
        else:
            try:
                method = request.method or "GET"
                reply = self.sim.handle(params, self.faults, self.job_polls, method)
            except Dropped as exc:
                raise requests.ConnectionError(
                    f"Connection aborted: simulated drop on {exc}", request=request
                ) from None
        response = requests.Response()
        response.status_code = reply.status
        response._content = reply.content()
        response.headers = CaseInsensitiveDict({"Content-Type": CONTENT_TYPE, **reply.headers})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        response.reason = "OK" if reply.status == 200 else "Error"
        return response

    def close(self) -> None:
        pass


# --- over HTTP ---------------------------------------------------------------------------


# the reason phrase of each standard status; CloudStack's own codes (530-537) have none
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def _phrase(status: int) -> str:
    return _PHRASES.get(status, "")


_DATE: list[Any] = [0, ""]  # the second and its HTTP date, made once a second


def _http_date() -> str:
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return str(_DATE[1])


MAX_HEADERS = 100  # http.client's limits on a request's headers
MAX_HEADER_LINE = 65536


class SimHTTPServer(ThreadingHTTPServer):
    """One daemon thread per connection, a deep accept queue for parallel clients."""

    daemon_threads = True
    request_queue_size = 128


def make_server(sim: Simulator, host: str = "127.0.0.1", port: int = 8080) -> SimHTTPServer:
    """An HTTP server at http://host:port/client/api; serve_forever() runs it.

    Connections stay open between requests (HTTP/1.1, every answer carries Content-Length),
    and each answer leaves in one write on a TCP_NODELAY socket: headers and body written
    apart made Nagle's algorithm wait for the client's delayed ACK, 40 ms a request."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = -1  # headers and body leave together, in the one flush after each request
        raw_requestline: bytes  # set by handle_one_request before parse_request

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def parse_request(self) -> bool:
            """The request line and headers of an ordinary HTTP/1.x request, read without the
            email parser the standard library uses (a third of the time of each call);
            anything else goes to the standard library's checks and errors."""
            words = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n").split()
            if (
                len(words) != 3
                or words[2] not in ("HTTP/1.1", "HTTP/1.0")
                or words[1].startswith("//")
            ):
                return super().parse_request()
            self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
            self.command, self.path, self.request_version = words
            self.close_connection = words[2] == "HTTP/1.0"
            headers: dict[str, str] = {}  # by lower-cased name; no email.message machinery
            for _ in range(MAX_HEADERS + 1):
                line = self.rfile.readline(MAX_HEADER_LINE + 1)
                if len(line) > MAX_HEADER_LINE:
                    self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                    return False
                if line in (b"\r\n", b"\n", b""):
                    break
                name, colon, value = line.decode("iso-8859-1").partition(":")
                if not colon or name != name.strip() or not name:
                    # RFC 9112 5.1/5.2: no space before the colon, no obsolete line folding
                    self.send_error(HTTPStatus.BAD_REQUEST, "Malformed header line")
                    return False
                headers[name.lower()] = value.strip()
            else:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
                return False
            self.headers = headers  # type: ignore[assignment]  # read by lower-cased name
            connection = headers.get("connection", "").lower()
            if connection == "close":
                self.close_connection = True
            elif connection == "keep-alive":
                self.close_connection = False
            if headers.get("expect", "").lower() == "100-continue" and words[2] == "HTTP/1.1":
                return self.handle_expect_100()
            return True

        def _answer(self) -> None:
            try:
                reply = self._reply()
            except Dropped:
                self.close_connection = True
                return
            except Exception as exc:  # a request the simulator cannot read: still an answer
                text = f"Internal error executing command: {type(exc).__name__}: {exc}"
                reply = Reply(530, {"errorresponse": {"errorcode": 530, "errortext": text}})
                self.close_connection = True  # the body may not have been read
            data = reply.content()
            if not reply.headers and not self.close_connection:  # the usual answer
                self.wfile.write(
                    f"{self.protocol_version} {reply.status} {_phrase(reply.status)}\r\n"
                    f"Date: {_http_date()}\r\nContent-Type: {CONTENT_TYPE}\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode("latin-1")
                    + data
                )
                return
            # the status line and headers send_response/send_header would write (no Server
            # header: optional, RFC 9110 10.2.4, and one less for the client to parse), made in
            # one piece: those helpers cost as much as the command itself
            lines = [
                f"{self.protocol_version} {reply.status} {_phrase(reply.status)}",
                f"Date: {_http_date()}",
                f"Content-Type: {CONTENT_TYPE}",
                f"Content-Length: {len(data)}",
                *(f"{name}: {value}" for name, value in reply.headers.items()),
            ]
            if self.close_connection:
                lines.append("Connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
            self.wfile.write(head + data)  # buffered: handle_one_request flushes once

        def _reply(self) -> Reply:
            # lower-cased names: this parse_request's dict, or the standard library's
            # HTTPMessage (whose names match without case) for the requests it reads
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else None
            content_type = self.headers.get("content-type") or ""
            path, params = request_params(self.path, body, content_type)
            if path != API_PATH:
                return Reply(404, {"errorresponse": {"errortext": f"no such path {path}"}})
            return sim.handle(params, method=self.command)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:  # requests carry signatures
            pass

    return SimHTTPServer((host, port), Handler)


@atexit.register
def _flush_shared() -> None:
    for sim in list(_SHARED.values()):
        sim.store.flush()
