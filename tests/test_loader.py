"""The YAML loader: values as written, anchors and merge keys, tags, limits, encodings, files
that are not files. Every test runs with libyaml and with the pure-Python parser."""

from __future__ import annotations

import codecs
import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cstool import ops
from cstool.errors import ConfigNotFound
from cstool.model import loader
from cstool.model.loader import json_schema, load, load_text, read_config
from cstool.model.resources import Key, State
from tests.conftest import CONFIGS, DATA

ZONE = """\
zones:
  - name: z1
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
"""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test once per parser (libyaml, the default when present, and pure Python),
    unless it is about the default parser only."""
    if not getattr(metafunc.function, "default_parser_only", False):
        ids = [c.__name__ for c in loader._COMPOSERS]
        metafunc.parametrize("composer", loader._COMPOSERS, indirect=True, ids=ids)


def _default_parser_only(test: Callable[..., None]) -> Callable[..., None]:
    """Run test once, with the default parser (it picks parsers itself, or is about speed)."""
    test.default_parser_only = True  # type: ignore[attr-defined]
    return test


@pytest.fixture(autouse=True)
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    chosen: type[Any] = getattr(request, "param", loader._COMPOSERS[0])
    monkeypatch.setattr(loader, "_COMPOSER", chosen)
    return chosen


def _ok(text: str) -> State:
    state, problems = load_text(text, "t.yaml")
    assert problems == []
    return state


def _problems(text: str) -> list[str]:
    return [str(p) for p in load_text(text, "t.yaml")[1]]


def _value(state: State, kind: str, *path: str) -> Any:
    return state[Key(kind, path)].values


# --- values as written (YAML 1.2 core schema, text kept) ---------------------------------

WRITTEN = [
    "off",
    "yes",
    "no",
    "on",
    "0x1F",
    "0o17",
    "010",
    "12:30",
    "1:30",
    "1.10",
    "1e3",
    "1_000",
    "~x",
    "True",
    "FALSE",
    "null-ish",
    "2001-01-01",
]


def test_setting_values_are_sent_as_written() -> None:
    lines = "".join(f"  s{i}: {text}\n" for i, text in enumerate(WRITTEN))
    state = _ok(f"settings:\n{lines}  quoted: '010'\n  empty: ''\n")
    got = [_value(state, "setting", f"s{i}")["value"] for i in range(len(WRITTEN))]
    assert got == WRITTEN
    assert _value(state, "setting", "quoted")["value"] == "010"
    assert _value(state, "setting", "empty")["value"] == ""


@pytest.mark.parametrize("name", ["010", "yes", "off", "12:30", "0x1F", "1e3", "true"])
def test_names_are_kept_as_written(name: str) -> None:
    text = ZONE.replace("name: z1", f"name: {name}") + (
        f"    settings: {{zone.x: {name}}}\n"
        f"    physical_networks:\n      - name: {name}\n"
        f"        providers: {{{name}: enabled}}\n"
        f"    pods:\n      - {{name: {name}, gateway: 10.0.1.1, netmask: 255.255.255.0}}\n"
    )
    state = _ok(text)
    assert Key("zone", (name,)) in state
    assert _value(state, "zone_setting", name, "zone.x") == {"value": name}
    assert Key("physical_network", (name, name)) in state
    assert Key("provider", (name, name, name)) in state
    assert Key("pod", (name, name)) in state


def test_numbers_and_booleans_accept_natural_spellings() -> None:
    text = ZONE + (
        "    local_storage: TRUE\n"
        "    enabled: False\n"
        "    public_ranges:\n"
        "      - {vlan: 100, gateway: 203.0.113.1, netmask: 24, start: 203.0.113.10}\n"
        "      - {vlan: '101', gateway: 203.0.113.1, netmask: 255.255.255.0, start: 203.0.113.20}\n"
    )
    state = _ok(text)
    zone = _value(state, "zone", "z1")
    assert (zone["local_storage"], zone["enabled"]) == (True, False)
    assert _value(state, "public_range", "z1", "203.0.113.10")["vlan"] == 100
    assert _value(state, "public_range", "z1", "203.0.113.10")["netmask"] == "255.255.255.0"
    assert _value(state, "public_range", "z1", "203.0.113.20")["vlan"] == 101


def test_plain_null_is_no_value_but_quoted_null_is_text() -> None:
    assert _problems("settings:\n  a: ~\n  b:\n  c: 'null'\n") == [
        "t.yaml:2:6: a: has no value",
        "t.yaml:3:5: b: has no value",
    ]


def test_a_setting_given_as_a_list_or_mapping_is_a_located_error() -> None:
    assert _problems("settings:\n  a.b: [1, 2]\n  c.d: {e: f}\n  ok: 1\n") == [
        "t.yaml:2:8: a.b: must be a single value, not a list",
        "t.yaml:3:8: c.d: must be a single value, not a mapping",
    ]


# --- anchors, aliases, merge keys, x- keys ---------------------------------------------------

MERGED = """\
x-pod: &pod
  gateway: 10.0.1.1
  netmask: 255.255.255.0
x-wide: &wide
  netmask: 255.255.0.0
zones:
  - name: z1
    network_type: Advanced
    dns: &dns [8.8.8.8]
    internal_dns: *dns
    pods:
      - <<: *pod
        name: p1
      - name: p2
        gateway: 10.0.2.1
        <<: [*wide, *pod]
"""


def test_merge_keys_fill_what_is_not_written_and_positions_point_where_it_is() -> None:
    state = _ok(MERGED)
    p1, p2 = state[Key("pod", ("z1", "p1"))], state[Key("pod", ("z1", "p2"))]
    assert (p1.values["gateway"], p1.values["netmask"]) == ("10.0.1.1", "255.255.255.0")
    # written beats merged, wherever `<<` stands; the first mapping merged wins
    assert (p2.values["gateway"], p2.values["netmask"]) == ("10.0.2.1", "255.255.0.0")
    assert _value(state, "zone", "z1")["internal_dns"] == ("8.8.8.8",)
    assert [str(o) for o in (p1.origin, p1.origin_of("gateway"), p1.origin_of("netmask"))] == [
        "t.yaml:12:9",
        "t.yaml:2:12",
        "t.yaml:3:12",
    ]
    assert [str(o) for o in (p2.origin, p2.origin_of("gateway"), p2.origin_of("netmask"))] == [
        "t.yaml:14:9",
        "t.yaml:15:18",
        "t.yaml:5:12",
    ]


def test_an_error_in_a_merged_value_points_at_the_anchor() -> None:
    assert _problems(MERGED.replace("255.255.255.0", "255.0.255.0")) == [
        "t.yaml:3:12: netmask: '255.0.255.0' is not a valid netmask"
    ]


def test_merge_mistakes_are_located() -> None:
    text = ZONE + "    pods:\n      - <<: 5\n        name: p1\n      - {name: p1, name: p2}\n"
    assert _problems(text) == [
        "t.yaml:7:13: '<<' merges a mapping or a list of mappings",
        "t.yaml:9:20: duplicate key 'name' (first at line 9)",
        "t.yaml:7:9: missing required key 'gateway'",
        "t.yaml:7:9: missing required key 'netmask'",
        "t.yaml:9:9: missing required key 'gateway'",
        "t.yaml:9:9: missing required key 'netmask'",
    ]


def test_top_level_x_keys_are_templates_but_x_keys_inside_are_unknown() -> None:
    assert _problems("x-anything: {a: [1, 2]}\nx-: 3\n" + ZONE) == []
    assert _problems(ZONE + "    x-note: hi\n")[0].startswith("t.yaml:6:5: unknown key 'x-note'")
    assert json_schema()["patternProperties"] == {"^x-": {}}


def test_one_document_per_file() -> None:
    assert _problems(ZONE + "---\n" + ZONE) == [
        "t.yaml:6:1: YAML syntax error: expected a single document in the stream, "
        "but found another document"
    ]


# --- tags ---------------------------------------------------------------------------------------


def test_python_tags_are_located_errors_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = (
        f"settings:\n  a: !!python/object/apply:os.system ['touch {marker}']\n"
        f"  !!python/name:os.system : 1\n"
        f"zones: !!python/object/new:os.system ['touch {marker}']\n"
    )
    assert _problems(text) == [
        "t.yaml:2:6: tag '!!python/object/apply:os.system' is not allowed: "
        "a config holds only plain values, lists and mappings",
        "t.yaml:3:3: tag '!!python/name:os.system' is not allowed: "
        "a config holds only plain values, lists and mappings",
        "t.yaml:4:8: tag '!!python/object/new:os.system' is not allowed: "
        "a config holds only plain values, lists and mappings",
    ]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!custom x", "tag '!custom' is not allowed"),
        ("!!binary aGk=", "tag '!!binary' is not allowed"),
        ("!!set {a}", "tag '!!set' is not allowed"),
        ("!!omap [{a: 1}]", "tag '!!omap' is not allowed"),
        ("!!timestamp 2001-01-01", "tag '!!timestamp' is not allowed"),
        ("!!int yes", "'yes' is not a valid !!int value (YAML 1.2)"),
        ("!!bool on", "'on' is not a valid !!bool value (YAML 1.2)"),
    ],
)
def test_other_tags_are_located_errors(value: str, message: str) -> None:
    (problem,) = _problems(f"settings:\n  a: {value}\n")
    assert problem.startswith(f"t.yaml:2:6: {message}")


def test_yaml_core_tags_keep_the_text() -> None:
    state = _ok("settings:\n  a: !!str 010\n  b: !!int 0x1F\n  c: !!bool TRUE\n  d: !!float 1.10\n")
    values = [_value(state, "setting", k)["value"] for k in "abcd"]
    assert values == ["010", "0x1F", "TRUE", "1.10"]


# --- limits -----------------------------------------------------------------------------------


def _billion_laughs() -> str:
    lines = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for name in "bcdefghi":  # 9 levels of 9 aliases: 9**9 = 387,420,489 strings expanded
        previous = chr(ord(name) - 1)
        lines.append(f"x-{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\nzones: [*i]\n"


def test_billion_laughs_fails_fast_in_bounded_memory() -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        problems = _problems(_billion_laughs())
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems == [
        "t.yaml:6:6: aliases expand the document past 100,000 nodes "
        "(the limit of what anchors and merge keys may add); refused"
    ]
    assert elapsed < 1.0
    assert peak < 10 * 1024 * 1024


def test_alias_limit_counts_what_aliases_add(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "x-a: &a [1, 2, 3, 4]\nx-b: [*a, *a, *a]\n"  # the list and its 4 items, 3 times
    monkeypatch.setattr(loader, "MAX_ALIAS_NODES", 15)
    assert _problems(text) == []
    monkeypatch.setattr(loader, "MAX_ALIAS_NODES", 14)
    assert _problems(text) == [
        "t.yaml:2:6: aliases expand the document past 14 nodes "
        "(the limit of what anchors and merge keys may add); refused"
    ]


def test_recursive_aliases_are_located_errors() -> None:
    assert _problems("x-a: &a [1, *a]\n") == [
        "t.yaml:1:6: an alias refers to a node that contains it (recursive alias)"
    ]
    assert _problems("x-a: &a {b: 1, <<: *a}\n") == [
        "t.yaml:1:16: an alias refers to a node that contains it (recursive alias)"
    ]


def test_deep_nesting_is_a_located_error() -> None:
    depth = loader.MAX_DEPTH + 20
    (problem,) = _problems("x-deep: " + "[" * depth + "]" * depth + "\n")
    assert problem == f"t.yaml:1:{8 + loader.MAX_DEPTH + 1}: nested deeper than 100 levels"


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:  # sparse: no disk used
        stream.truncate(loader.MAX_FILE_BYTES + 1)
    assert [str(p) for p in load([big])[1]] == [
        f"{big}:1:1: the file is 50.0 MiB, over the limit of 50 MiB for one config file "
        "(split it into several files)"
    ]


def test_the_size_limit_holds_for_text_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1024 * 1024)
    (problem,) = _problems("# " + "x" * (1024 * 1024) + "\n")
    assert problem.startswith("t.yaml:1:1: the file is 1.0 MiB, over the limit of 1 MiB")


# --- encodings ----------------------------------------------------------------------------------

UNICODE = ZONE.replace("z1", "zürich-1")


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: codecs.BOM_UTF32_LE + t.encode("utf-32-le"),
        lambda t: codecs.BOM_UTF32_BE + t.encode("utf-32-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"],
)
def test_utf8_and_utf16_32_with_a_bom_are_read(
    tmp_path: Path, encode: Callable[[str], bytes]
) -> None:
    path = tmp_path / "z.yaml"
    path.write_bytes(encode(UNICODE))
    state, problems = load([path])
    assert problems == []
    assert state[Key("zone", ("zürich-1",))].origin is not None
    assert str(state[Key("zone", ("zürich-1",))].origin) == f"{path}:2:5"


def test_undecodable_bytes_name_the_file_and_the_offset(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(UNICODE.encode("latin-1"))
    odd = tmp_path / "odd.yaml"
    odd.write_bytes(codecs.BOM_UTF16_LE + "a: b\n".encode("utf-16-le") + b"\x00")
    no_bom = tmp_path / "no-bom.yaml"
    no_bom.write_bytes(UNICODE.encode("utf-16-le"))
    hint = "cannot be decoded (config files are UTF-8, or UTF-16/UTF-32 with a byte order mark)"
    assert [str(p) for p in load([latin1, odd, no_bom])[1]] == [
        f"{latin1}:2:12: not valid UTF-8 text: byte 0xfc at byte offset 18 {hint}",
        f"{odd}:2:1: not valid UTF-16 text: byte 0x00 at byte offset 12 {hint}",
        f"{no_bom}:1:2: not valid UTF-8 text: byte 0x00 at byte offset 1 {hint}",
    ]


def test_control_characters_are_located() -> None:
    assert _problems("settings:\n  a: 'x\x01y'\n") in (
        ["t.yaml:2:8: unacceptable character #x0001: control characters are not allowed"],
        ["t.yaml:2:8: unacceptable character #x0001: special characters are not allowed"],
    )
    assert _problems("settings:\n  ä: 'ü\x00'\n")[0].startswith("t.yaml:2:8: unacceptable")


# --- files that are not files --------------------------------------------------------------------


def _finishes(action: Callable[[], Any], seconds: float = 10.0) -> Any:
    """action's result; fails (instead of hanging the suite) when it blocks."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(action()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"still blocked after {seconds} s"
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    named = _finishes(lambda: load([fifo]))[1]
    walked = _finishes(lambda: load([tmp_path]))[1]
    message = f"{fifo}:1:1: cannot read: a named pipe (FIFO), not a regular file"
    assert [str(p) for p in named] == [message]
    assert [str(p) for p in walked] == [message]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused_named_or_linked(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    problems = _finishes(lambda: load(["/dev/zero", tmp_path]))[1]
    assert [str(p) for p in problems] == [
        "/dev/zero:1:1: cannot read: a character device, not a regular file",
        f"{tmp_path / 'zero.yaml'}:1:1: cannot read: a character device, not a regular file",
    ]


def test_a_directory_where_a_file_is_expected(tmp_path: Path) -> None:
    text, problem = read_config(tmp_path)
    assert text is None
    assert str(problem) == f"{tmp_path}:1:1: cannot read: a directory, not a regular file"


def test_an_unreadable_file_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(ZONE)
    secret.chmod(0)
    if os.access(secret, os.R_OK):  # root reads anything: make the open fail as it would
        real_open = os.open

        def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
            if Path(path) == secret:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    problems = load([tmp_path])[1]
    assert [str(p) for p in problems] == [f"{secret}:1:1: cannot read: permission denied"]


def test_an_unreadable_directory_is_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.yaml").write_text(ZONE)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    problems = load([tmp_path])[1]
    assert [str(p) for p in problems] == [
        f"<config>: {locked}: cannot read the directory: permission denied"
    ]


def test_a_missing_path_is_still_config_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound, match="no such file or directory"):
        load([tmp_path / "missing.yaml"])


# --- speed and agreement ----------------------------------------------------------------------


@_default_parser_only
def test_libyaml_parses_when_pyyaml_has_it() -> None:
    assert (loader._COMPOSERS[0].__name__ == "_CComposer") is yaml.__with_libyaml__


def _everything(composer: type[Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    saved = loader._COMPOSER
    loader._COMPOSER = composer
    try:
        for path in [CONFIGS, *sorted((DATA / "configs").rglob("*.yaml"))]:
            state, problems = load([path])
            # the two parsers word syntax errors differently; where they are must agree
            out.append(tuple(sorted(str(p).split(": YAML syntax error")[0] for p in problems)))
            out.extend((r.key, r.values, r.origin, dict(r.field_origins)) for r in state.values())
    finally:
        loader._COMPOSER = saved
    return out


@_default_parser_only
def test_both_parsers_give_the_same_state_positions_and_problems() -> None:
    libyaml, python = loader._COMPOSERS[0], loader._COMPOSERS[-1]
    assert _everything(libyaml) == _everything(python)


def _big_config(zones: int, pods: int) -> str:
    lines = ["settings: {check.pod.cidrs: true}", "zones:"]
    for z in range(zones):
        lines += [
            f"  - name: zone{z}",
            "    network_type: Advanced",
            "    dns: [192.0.2.53]",
            f"    internal_dns: [10.{z}.255.53]",
            "    physical_networks:",
            "      - name: mgmt",
            "        traffic: [{type: Management, labels: {kvm: cloudbr0}},",
            "                  {type: Guest, labels: {kvm: cloudbr1}},",
            "                  {type: Public, labels: {kvm: cloudbr1}}]",
            "        providers: {VirtualRouter: enabled}",
            f"    public_ranges: [{{vlan: 100, gateway: 100.64.{z}.1, netmask: 24,",
            f"                     start: 100.64.{z}.10, end: 100.64.{z}.250}}]",
            "    pods:",
        ]
        for p in range(pods):
            lines += [
                f"      - name: pod{p}",
                f"        gateway: 10.{z}.{p}.1",
                "        netmask: 255.255.255.0",
                f"        management_ranges: [{{start: 10.{z}.{p}.10, end: 10.{z}.{p}.40}},",
                f"                            {{start: 10.{z}.{p}.50, end: 10.{z}.{p}.60}}]",
            ]
    return "\n".join(lines) + "\n"


@_default_parser_only
def test_ten_thousand_resources_load_and_validate_in_well_under_three_seconds() -> None:
    text = _big_config(40, 80)  # 40 zones x (7 + 80 pods x 3) + 1 = 9,881 resources
    start = time.process_time()
    checked = ops.check_text(text, "big.yaml")
    elapsed = time.process_time() - start
    assert len(checked.state) > 9_800 and checked.errors == []
    assert elapsed < 3.0  # bench/validate.py holds the real bound (1 s) on a quiet machine
