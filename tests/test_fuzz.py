"""Random input never makes cstool fail with "internal error" or a Python traceback.

Each test feeds one kind of input through the command line (CliRunner): random bytes and
random YAML as configs, wild edits of the example configs (validate and plan on the
simulator), random and edited Marvin configs (import-marvin), random and edited recordings
(--replay), random simulator state files (--sim-state). Every run must end in a handled way:
exit code 0, 1, 2 or 3, no "internal error" (cli.run's message for a bug) and no exception
escaping. Derandomized and bounded (about a minute in all), so CI runs the same examples.
"""

from __future__ import annotations

import codecs
import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from cstool.cli import app
from cstool.model import marvin
from tests.conftest import CONFIGS, DATA, realdata
from tests.test_property import WILD, at, documents, edit, spots, write

runner = CliRunner()
HANDLED = {0, 1, 2, 3}
_COUNTER = itertools.count()


def fuzz(examples: int) -> Any:
    """hypothesis settings of a fuzz test: derandomized, no example database, no deadline
    (a slow CI runner is not a failure), the function-scoped fixtures shared by examples."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


def handled(result: Result, shown: Any) -> None:
    """The run ended as cstool means every run to end, whatever the input."""
    where = f"input:\n{shown!r}"[:3000]
    assert "internal error" not in result.output, f"{result.output}\n{where}"
    assert "Traceback" not in result.output, f"{result.output}\n{where}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{type(result.exception).__name__} escaped\n{where}") from (
            result.exception
        )
    assert result.exit_code in HANDLED, f"exit {result.exit_code}: {result.output}\n{where}"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- configs -------------------------------------------------------------------------------

BOMS = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]
YAML_TOKENS = [
    "zones:",
    "settings:",
    "- ",
    "name: ",
    "pods:",
    "physical_networks:",
    "public_ranges:",
    "traffic:",
    "type: ",
    "vlan: ",
    "netmask: ",
    "gateway: ",
    "start: ",
    "end: ",
    "&a ",
    "*a",
    "*b",
    "<<: ",
    "<<: *a",
    "!!python/object:os.system ",
    "!!binary ",
    "!!str ",
    "!!int ",
    "!custom ",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    ": ",
    "\n",
    "  ",
    "\t",
    "'",
    '"',
    "#",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "|\n",
    ">-\n",
    "010",
    "yes",
    "12:30",
    "0x1F",
    "~",
    "null",
    "1e400",
    "10.0.0.1",
    "255.255.255.0",
    "Advanced",
    "Basic",
    "\x00",
    "\x85",
    "\ufeff",
    "é",
]


@fuzz(100)
@given(data=st.binary(max_size=400), bom=st.sampled_from(BOMS))
def test_random_bytes_as_a_config(data: bytes, bom: bytes, work: Path) -> None:
    path = work / "bytes.yaml"
    path.write_bytes(bom + data)
    handled(runner.invoke(app, ["validate", str(path)]), bom + data)


@fuzz(120)
@given(tokens=st.lists(st.sampled_from(YAML_TOKENS), max_size=60))
def test_random_yaml_text_as_a_config(tokens: list[str], work: Path) -> None:
    text = "".join(tokens)
    path = work / "text.yaml"
    path.write_text(text, encoding="utf-8")
    handled(runner.invoke(app, ["validate", str(path)]), text)
    state = work / "empty-cloud.json"
    handled(runner.invoke(app, ["plan", str(path), "--sim", "--sim-state", str(state)]), text)


@fuzz(100)
@given(drawn=documents(wild=True, most=4))
def test_wild_edits_of_the_examples_validate_and_plan(
    drawn: tuple[str, dict[str, Any]], work: Path
) -> None:
    """The examples with careless values (blanks, empty lists, YAML 1.1 look-alikes, wrong
    types, out-of-range numbers): validate, then plan against an empty simulator."""
    _example, files = drawn
    config = write(files, work / f"wild{next(_COUNTER)}")
    handled(runner.invoke(app, ["validate", str(config)]), files)
    state = work / "empty-cloud.json"
    result = runner.invoke(app, ["plan", str(config), "--sim", "--sim-state", str(state)])
    handled(result, files)


# --- Marvin configs ---------------------------------------------------------------------------

MARVIN = {
    p.name: marvin.parse(p.read_text(), p.name)
    for p in sorted((realdata() / "zone-configs").glob("*.cfg"))
}
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["zones", "name", "Advanced", "Basic", "Guest", "10.0.0.1"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["zones", "name", "networktype", "pods", "physical_networks", "traffictypes", "typ"]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@st.composite
def marvin_documents(draw: st.DrawFn) -> Any:
    """A real Marvin config with wild edits, or random JSON with a zones list."""
    if draw(st.booleans()):
        return {
            "zones": draw(json_values),
            **draw(st.dictionaries(st.text(max_size=8), json_values)),
        }
    files = {"cfg": copy.deepcopy(MARVIN[draw(st.sampled_from(sorted(MARVIN)))])}
    for _ in range(draw(st.integers(1, 4))):
        draw(edit(files, wild=True))
    return files["cfg"]


@fuzz(120)
@given(doc=marvin_documents())
def test_random_marvin_configs_convert_or_are_refused(doc: Any, work: Path) -> None:
    path = work / "marvin.cfg"
    path.write_text("# fuzzed\n" + json.dumps(doc))
    result = runner.invoke(app, ["import-marvin", str(path)])
    handled(result, doc)
    assert result.exit_code in (0, 1)


# --- recordings ---------------------------------------------------------------------------

RECORDING = yaml.safe_load((DATA / "api" / "basic-apply.yaml").read_text())
EXCHANGE_KEYS = st.sampled_from(["command", "params", "status", "body", "x"])
random_exchange = st.dictionaries(EXCHANGE_KEYS, json_values, max_size=5) | st.fixed_dictionaries(
    {
        "command": st.sampled_from(["listZones", "listCapabilities", "listConfigurations", ""]),
        "params": st.dictionaries(st.text(max_size=6), json_values, max_size=3),
        "status": st.integers(0, 700) | json_values,
        "body": json_values,
    }
)


ANSWER_SPOTS = [t for t in spots(RECORDING) if len(t) > 3 and t[2] == "body"]
OTHER_SPOTS = [t for t in spots(RECORDING) if len(t) <= 3 or t[2] != "body"]


class Edits(list[tuple[Any, Any]]):
    """Wild values put at spots of the shipped recording; its repr stays short."""


@st.composite
def recordings(draw: st.DrawFn) -> Any:
    """A random recording, or the edits of wild values into the shipped one (its answers,
    parameters, statuses and commands); `recording_of` builds the file's content."""
    if draw(st.booleans()):
        head = draw(st.sampled_from([{"cstool_recording": 1}, {}, {"cstool_recording": "1"}]))
        return {**head, "exchanges": draw(st.lists(random_exchange, max_size=4) | json_values)}
    edits = Edits()
    for _ in range(draw(st.integers(1, 3))):
        trail = draw(st.sampled_from(ANSWER_SPOTS) | st.sampled_from(OTHER_SPOTS))
        value = draw(st.sampled_from(WILD) | json_values)
        edits.append((trail, value))
    return edits


def recording_of(drawn: Any) -> Any:
    if not isinstance(drawn, Edits):
        return drawn
    doc = copy.deepcopy(RECORDING)
    for trail, value in drawn:
        try:
            at(doc, trail[:-1])[trail[-1]] = copy.deepcopy(value)
        except (LookupError, TypeError):
            continue  # an earlier edit replaced what held this spot
    return doc


@fuzz(12)  # each replays a 300 kB recording
@given(drawn=recordings())
def test_random_recordings_replay_or_are_refused(drawn: Any, work: Path) -> None:
    doc = recording_of(drawn)
    path = work / "rec.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    result = runner.invoke(app, ["plan", str(CONFIGS / "basic"), "--replay", str(path)])
    handled(result, drawn)


@fuzz(120)
@given(tokens=st.lists(st.sampled_from(YAML_TOKENS + ["cstool_recording: 1\n", "exchanges:\n"])))
def test_random_yaml_text_as_a_recording(tokens: list[str], work: Path) -> None:
    text = "".join(tokens)
    path = work / "rec-text.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", str(CONFIGS / "basic"), "--replay", str(path)])
    handled(result, text)
    assert result.exit_code == 1  # no recording, or one without the answers plan needs


# --- simulator state files ---------------------------------------------------------------


@fuzz(120)
@given(doc=json_values.filter(lambda d: not (isinstance(d, dict) and d.get("format") == 1)))
def test_random_state_files_are_refused(doc: Any, work: Path) -> None:
    path = work / f"state{next(_COUNTER)}.json"
    path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["plan", str(CONFIGS / "basic"), "--sim", "--sim-state", str(path)])
    handled(result, doc)
    assert result.exit_code == 1, result.output  # only format 1 is a state file


state_parts = st.fixed_dictionaries(
    {"format": st.just(1)},
    optional={
        "seed": json_values,
        "seq": json_values,
        "jobs": json_values,
        "tables": st.dictionaries(st.sampled_from(["zone", "pod", "x"]), json_values),
    },
)


@fuzz(80)
@given(doc=state_parts)
def test_random_state_files_of_the_right_format_are_refused(doc: Any, work: Path) -> None:
    path = work / f"state{next(_COUNTER)}.json"
    path.write_text(json.dumps(doc))
    args = ["apply", str(CONFIGS / "basic"), "--yes", "--sim", "--sim-state", str(path)]
    result = runner.invoke(app, args)
    handled(result, doc)
    assert "Internal error executing command" not in result.output, doc
