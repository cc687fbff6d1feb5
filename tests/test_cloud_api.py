"""The cloud adapter on the wire: writes by POST, page sizes a server allows, recordings that
keep every value but credentials, no import cycles, and CloudStack versions."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path
from typing import Any

import pytest
import requests

from cstool import ops
from cstool.cloud import versions, wire
from cstool.cloud.api import (
    SIM_KEY,
    SIM_SECRET,
    Api,
    Target,
    _allowed_page_size,
    configured_target,
    sim_target,
)
from cstool.cloud.record import REDACTED, Recording, Replay, start_recording
from cstool.cloud.versions import ServerTooOld
from cstool.errors import ApiError, CstoolError
from cstool.simulator.transport import IN_PROCESS_ENDPOINT, SimAdapter, Simulator
from tests.conftest import CONFIGS, ROOT

# --- helpers -------------------------------------------------------------------------------


def _api_on(sim: Simulator, key: str = SIM_KEY, secret: str = SIM_SECRET, **kw: Any) -> Api:
    """An Api talking to this very Simulator object (not the per-process shared one)."""
    sim.keys[key] = secret
    session = requests.Session()
    session.mount("http://simulator.cstool.invalid/", SimAdapter(sim))
    return Api(Target("test", IN_PROCESS_ENDPOINT, key, secret, session, poll_interval=0, **kw))


def _restarted(state: Path, version: str = "4.22.0.0", **settings: str) -> Simulator:
    """Change settings through the API, then start a new management server on that state
    (the settings below are read at start-up only)."""
    before = Simulator(state)
    api = _api_on(before)
    for name, value in settings.items():
        api.call("updateConfiguration", name=name.replace("_", "."), value=value)
    before.store.flush()
    return Simulator(state, version=version)


def _methods(api: Api) -> list[tuple[str, str]]:
    """(HTTP method, command) of every request the Api sends from now on."""
    seen: list[tuple[str, str]] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        if isinstance(request, requests.PreparedRequest):
            seen.append((str(request.method), wire.sent_params(request)["command"]))

    api.target.session.hooks["response"].append(hook)
    return seen


def _zone(api: Api, name: str) -> dict[str, Any]:
    return api.call(
        "createZone", name=name, networktype="Advanced", dns1="8.8.8.8", internaldns1="10.0.0.1"
    )["zone"]


# --- 1. writes by POST ------------------------------------------------------------------


def test_writes_go_by_post_reads_and_job_polls_may_go_by_get(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json", job_polls=2))
    seen = _methods(api)
    zone = _zone(api, "z1")
    api.call("createPhysicalNetwork", name="pn", zoneid=zone["id"])  # async: polled
    api.list("listZones")
    api.call("listCapabilities")
    assert ("POST", "createZone") in seen and ("POST", "createPhysicalNetwork") in seen
    assert ("GET", "listZones") in seen and ("GET", "listCapabilities") in seen
    assert all(m == "POST" for m, c in seen if not wire.is_query(c))
    assert any(c == "queryAsyncJobResult" for _, c in seen)


def test_pending_async_jobs_are_seen_while_polled(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json", job_polls=2))
    pending: list[int] = []
    api.target.session.hooks["response"].append(
        lambda r, *a, **k: pending.append(len(api.jobs_waiting))
    )
    zone = _zone(api, "z1")
    api.call("createPhysicalNetwork", name="pn", zoneid=zone["id"])
    assert max(pending) == 1 and pending[-1] == 0 and api.jobs_waiting == set()


def test_is_query_copies_the_servers_get_commands() -> None:
    assert wire.is_query("listZones") and wire.is_query("queryAsyncJobResult")
    assert wire.is_query("getUploadParamsForTemplate") and wire.is_query("quotaBalance")
    for write in ("createZone", "updateConfiguration", "deleteZone", "enableStorageMaintenance"):
        assert not wire.is_query(write)
    assert not wire.is_query("relistZones") and not wire.is_query("list")


def test_an_enforcing_server_takes_a_whole_apply_and_refuses_get_writes(tmp_path: Path) -> None:
    sim = _restarted(tmp_path / "sim.json", enforce_post_requests_and_timestamps="true")
    assert sim.enforce_post
    api = _api_on(sim)
    plan, live = ops.plan(api, ops.desired_state([CONFIGS / "basic"]).state)
    assert ops.apply(api, plan, live, parallelism=2).ok
    get_only = _api_on(sim, method="get")
    get_only._writer = get_only._reader  # what cstool did before: every command by GET
    with pytest.raises(ApiError) as info:
        _zone(get_only, "z2")
    assert info.value.code == 400
    assert (
        info.value.text == "State changing command createZone needs to be sent using POST request"
    )


def test_a_profile_with_method_post_sends_reads_by_post_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = tmp_path / "cloudstack.ini"
    ini.write_text(
        f"[lab]\nendpoint = {IN_PROCESS_ENDPOINT}\nkey = k\nsecret = s\nmethod = post\n"
        f"[bad]\nendpoint = {IN_PROCESS_ENDPOINT}\nkey = k\nsecret = s\nmethod = put\n"
    )
    monkeypatch.setenv("CLOUDSTACK_CONFIG", str(ini))
    for name in ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    target = configured_target("lab")
    assert target.method == "post"
    target.session.mount("http://simulator.cstool.invalid/", SimAdapter(Simulator(keys={"k": "s"})))
    api = Api(target)
    seen = _methods(api)
    assert api.list("listZones") == []
    assert seen == [("POST", "listZones")]
    with pytest.raises(CstoolError, match="method 'put' is neither get nor post"):
        configured_target("bad")


def test_the_environment_target_honours_cloudstack_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", IN_PROCESS_ENDPOINT)
    monkeypatch.setenv("CLOUDSTACK_KEY", "k")
    monkeypatch.setenv("CLOUDSTACK_SECRET", "s")
    monkeypatch.delenv("CLOUDSTACK_METHOD", raising=False)
    assert configured_target(None).method == "get"
    monkeypatch.setenv("CLOUDSTACK_METHOD", "POST")
    assert configured_target(None).method == "post"


# --- 2. page size ---------------------------------------------------------------------------


def test_lists_cope_with_a_default_page_size_below_500(tmp_path: Path) -> None:
    sim = _restarted(tmp_path / "sim.json", default_page_size="2")
    api = _api_on(sim)
    for i in range(5):
        _zone(api, f"z{i}")
    seen = _methods(api)
    assert sorted(z["name"] for z in api.list("listZones")) == [f"z{i}" for i in range(5)]
    assert api.page_size == 2
    # one refused request, then three pages of two; later lists start at the learned size
    assert [c for _, c in seen] == ["listZones"] * 4
    seen.clear()
    assert len(api.list("listZones", name="z3")) == 1
    assert len(seen) == 1


def test_the_usual_server_costs_no_extra_call(tmp_path: Path) -> None:
    api = Api(sim_target(tmp_path / "sim.json"))
    seen = _methods(api)
    _zone(api, "z")
    assert len(api.list("listZones")) == 1
    assert api.page_size is None and [c for _, c in seen] == ["createZone", "listZones"]


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("Page size can't exceed max allowed page size value: 100", 500, 100),
        ("Page size can't exceed max allowed page size value", 500, 250),  # unnamed: halve
        ("Page size can't exceed max allowed page size value: 100", 100, None),
        ("Page size can't exceed max allowed page size value: 0", 500, None),
        ("Unable to execute API command listzones due to missing parameter id", 500, None),
    ],
)
def test_the_page_size_to_retry_with(text: str, current: int, expected: int | None) -> None:
    assert _allowed_page_size(ApiError("listZones", 431, text), current) == expected
    assert _allowed_page_size(ApiError("listZones", 530, text), current) is None


# --- 3. recordings redact by name and known value, never by shape ----------------------------

KEY = "PLZu8ImEZh0nW5KsWfBq1oXcFvCK0Ps29cC2ecSrrlTvhBNwEzWPKq2WFZ5pOhY3N7rxYzCiAwCzJa2bbE9Egg"
SECRET = "Xo3mKbcSGz6BlbPDcbHtGuPyhFhvL4TSzqYL7NwOJ2pR4nCRMWzgUQvqS9uSfU5WU0CKxqMgHyXs1Ci6K7wLQw"
OFFERING = "DefaultSharedNetworkOfferingWithSGService"
LONG_NAME = "aGVsbG8gd29ybGQgdGhpcyBpcyBub3QgYSBzZWNyZXQgYXQgYWxs"  # base64-looking, not secret


def test_a_recording_keeps_every_value_but_the_credentials(tmp_path: Path) -> None:
    api = _api_on(Simulator(), KEY, SECRET)
    recording = start_recording(api)
    offerings = api.list("listNetworkOfferings", name=OFFERING)
    assert [o["name"] for o in offerings] == [OFFERING]
    _zone(api, LONG_NAME)
    _zone(api, f"zone-{SECRET}")  # a value holding the secret (never done, but possible)
    path = tmp_path / "rec.yaml"
    recording.save(path)
    text = path.read_text()
    assert KEY not in text and SECRET not in text
    exchanges = Recording.load(path).exchanges
    assert exchanges[0]["params"]["name"] == OFFERING
    assert exchanges[0]["body"]["listnetworkofferingsresponse"]["networkoffering"][0]["name"] == (
        OFFERING
    )
    assert exchanges[1]["params"]["name"] == LONG_NAME
    assert exchanges[2]["params"]["name"] == f"zone-{REDACTED}"
    assert exchanges[2]["body"]["createzoneresponse"]["zone"]["name"] == f"zone-{REDACTED}"


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("password", "hunter2hunter2", False),
        ("details[0].password", "x", False),
        ("vsmpassword", "x", False),
        ("secretkey", "x", False),
        ("zonetoken", "x", False),
        ("name", OFFERING, True),
        ("bypassvlanoverlapcheck", "true", True),  # "pass" inside a word is not a password
        ("details[0].key", "cpuOvercommitRatio", True),
        ("keyword", "pod", True),
        ("url", "nfs://10.0.0.5/export/primary", True),
    ],
)
def test_parameters_are_redacted_by_name_only(name: str, value: str, kept: bool) -> None:
    assert wire.meaningful({name: value})[name] == (value if kept else REDACTED)


def test_url_passwords_and_the_endpoints_password_are_redacted(tmp_path: Path) -> None:
    assert wire.meaningful({"url": "rbd://admin:AQBvR2xh@10.0.0.9/pool"}) == {
        "url": f"rbd://admin:{REDACTED}@10.0.0.9/pool"
    }
    target = Target(
        "t", "https://ops:pa55word@cloud.example:8443/client/api", "k", "s", requests.Session()
    )
    recording = start_recording(Api(target), keep_endpoint=True)
    assert recording.header["endpoint"] == "ops@cloud.example:8443"


def test_replay_answers_get_and_post_and_redacted_values_match_any() -> None:
    zone = {"name": "z", "networktype": "Basic", "dns1": "8.8.8.8", "internaldns1": "10.0.0.1"}
    body = {"createzoneresponse": {"zone": {"id": "1", "name": "z"}}}
    listing = {"listzonesresponse": {"count": 1, "zone": [{"id": "1", "name": "z"}]}}
    exchanges = [
        {"command": "createZone", "params": {**zone, "dns1": REDACTED}, "status": 200,
         "body": body},
        {"command": "listZones", "params": {"name": REDACTED, "page": "1", "pagesize": "500"},
         "status": 200, "body": listing},
    ]  # fmt: skip
    target = Target("replay", wire.REPLAY_ENDPOINT, None, None, requests.Session())
    with Replay(Recording(exchanges), target.endpoint):
        api = Api(target)
        seen = _methods(api)
        assert api.call("createZone", **{**zone, "dns1": "9.9.9.9"})["zone"]["id"] == "1"
        assert api.list("listZones", name="whatever")[0]["id"] == "1"
        assert seen == [("POST", "createZone"), ("GET", "listZones")]
        with pytest.raises(CstoolError, match="no answer for createZone"):
            api.call("createZone", **{**zone, "name": "other"})


# --- 4. no import cycles -------------------------------------------------------------------


def _module_graph(package: Path) -> dict[str, set[str]]:
    """cstool's modules and the cstool modules each imports (anywhere in it, lazy ones too)."""
    modules: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                found = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            deps.update(m for m in found if m in modules and m != name)
        graph[name] = deps
    return graph


def test_no_import_cycle_inside_cstool() -> None:
    graph = _module_graph(ROOT / "cstool")
    assert "cstool.cloud.wire" in graph["cstool.cloud.api"]
    assert "cstool.cloud.api" in graph["cstool.cloud.record"]
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_the_cycle_finder_finds_a_cycle() -> None:
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


# --- 5. versions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.20", (4, 20, 0, 0)),
        ("4.21.0", (4, 21, 0, 0)),
        ("4.22.0.0-SNAPSHOT", (4, 22, 0, 0)),
        ("4.19.1.3", (4, 19, 1, 3)),
        ("4.19.0.0-cstool-simulator", (4, 19, 0, 0)),
        ("", None),
        ("unknown", None),
    ],
)
def test_versions_parse_every_since_format(text: str, expected: Any) -> None:
    assert versions.parse(text) == expected


def test_versions_compare_as_numbers_not_text() -> None:
    assert versions.parse("4.20.1.0") > versions.parse("4.20")  # type: ignore[operator]
    assert versions.parse("4.100") > versions.parse("4.22.0.0")  # type: ignore[operator]
    assert versions.parse("4.21") == versions.parse("4.21.0.0")


def test_a_parameter_newer_than_the_server_is_refused_naming_both_versions(
    tmp_path: Path,
) -> None:
    sim = Simulator(version="4.20.0.0")
    api = _api_on(sim)
    with pytest.raises(ServerTooOld) as info:
        api.list("listPods", storageaccessgroup="ssd")
    message = str(info.value)
    assert "storageaccessgroup" in message and "listPods" in message
    assert "4.21.0" in message and "4.20.0.0" in message
    with pytest.raises(ServerTooOld, match="name of listNetworks needs CloudStack 4.22.0"):
        api.list("listNetworks", name="shared")
    assert sim.calls["listPods"] == 0 and sim.calls["listNetworks"] == 0
    assert sim.calls["listCapabilities"] == 1  # asked once per run
    assert api.list("listPods", storageaccessgroup=None) == []  # not sent: nothing to check


def test_a_new_enough_server_takes_it_and_the_usual_run_never_asks(tmp_path: Path) -> None:
    sim = Simulator(version="4.21.0.0")
    api = _api_on(sim)
    assert api.list("listPods", storageaccessgroup="ssd") == []
    assert api.server_version() == "4.21.0.0" and sim.calls["listCapabilities"] == 1
    usual = Simulator()
    plain = _api_on(usual)
    plan, live = ops.plan(plain, ops.desired_state([CONFIGS / "basic"]).state)
    assert ops.apply(plain, plan, live).ok
    assert usual.calls["listCapabilities"] == 0


def test_a_command_newer_than_the_server_is_refused() -> None:
    needs = versions.requirements("updatePodManagementNetworkIpRange", {"podid": "1"})
    assert needs == [("the command updatePodManagementNetworkIpRange", (4, 16, 0, 0))]
    with pytest.raises(
        ServerTooOld, match="needs CloudStack 4.16.0 or newer; the server runs 4.15"
    ):
        versions.check(needs, "4.15.2.0")
    versions.check(needs, "4.19.0.0")
    assert versions.beyond_oldest(needs) == []  # every supported version has it


def test_an_unreadable_server_version_is_a_clear_refusal() -> None:
    target = Target("replay", wire.REPLAY_ENDPOINT, None, None, requests.Session())
    with Replay(Recording([]), target.endpoint), pytest.raises(ServerTooOld) as info:
        Api(target).list("listZones", storageaccessgroup="ssd")
    assert "version could not be read" in str(info.value)


def _commands_cstool_sends() -> set[str]:
    """Every command of the spec that cstool's own code names (the simulator aside)."""
    from cstool import apispec

    text = "".join(
        p.read_text()
        for p in (ROOT / "cstool").rglob("*.py")
        if "simulator" not in p.parts and p.name != "apispec.py"
    )
    return {c for c in apispec.commands() if f'"{c}"' in text or f"'{c}'" in text}


def test_readme_version_table_is_what_the_spec_says() -> None:
    from cstool import apispec

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Supported CloudStack versions", 1)[1].split("\n## ", 1)[0]
    assert "4.19 to 4.22" in section
    table: set[tuple[str, str, str]] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0][:1].isdigit():
            for command in cells[1].replace("`", "").split(", "):
                for param in cells[2].replace("`", "").split(", "):
                    table.add((cells[0], command, param))
    oldest = versions.parse(versions.OLDEST_SUPPORTED)
    assert oldest is not None
    expected = set()
    for command in _commands_cstool_sends():
        spec = apispec.command(command)
        assert spec is not None
        for name, param in spec.params.items():
            since = versions.parse(param.since)
            if since is not None and since > oldest:
                expected.add((versions.show(since), command, name))
    assert "createZone" in _commands_cstool_sends() and len(expected) >= 5
    assert table == expected
