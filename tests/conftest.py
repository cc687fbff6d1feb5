"""Shared fixtures: paths to the test data, the example configs and the real CloudStack data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CONFIGS = ROOT / "configs"
EXAMPLES = sorted(p for p in CONFIGS.iterdir() if p.is_dir())


def realdata() -> Path:
    """The vendored real CloudStack data (tests/data/real; byte copies, never edited), so the
    suite runs the same on a bare clone; PROVENANCE.md there says where each file came from."""
    return DATA / "real"


@pytest.fixture
def sim_api(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An Api on a fresh in-process simulator whose state lives in tmp_path."""
    from cstool.cloud.api import Api, sim_target

    return Api(sim_target(tmp_path / "sim.json"))


def raw_sim(tmp_path: Path | None = None, **kwargs):  # type: ignore[no-untyped-def]
    """A Simulator and a signed cs client on it (poll_interval 0)."""
    import requests
    from cs import CloudStack

    from cstool.simulator.transport import IN_PROCESS_ENDPOINT, SimAdapter, Simulator

    sim = Simulator(tmp_path / "sim.json" if tmp_path else None, keys={"key": "secret"}, **kwargs)
    session = requests.Session()
    session.mount("http://simulator.cstool.invalid/", SimAdapter(sim))
    client = CloudStack(
        IN_PROCESS_ENDPOINT, "key", "secret", session=session, poll_interval=0, fetch_result=True
    )
    return sim, client


# assembled here so that this file itself does not look like it holds a signed request
FORBIDDEN_IN_RECORDINGS = tuple(
    f"{name}=" for name in ("signature", "apikey", "signatureversion", "expires")
)


@pytest.fixture(autouse=True)
def recordings_hold_no_credentials(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every recording any test writes is checked for keys, secrets and signatures."""
    from cstool.cloud import record
    from cstool.cloud.api import SIM_KEY, SIM_SECRET

    original = record.Recording.save

    def checked_save(self: record.Recording, path: Path) -> None:
        original(self, path)
        text = path.read_text()
        for needle in (SIM_KEY, SIM_SECRET, *FORBIDDEN_IN_RECORDINGS):
            assert needle.lower() not in text.lower(), f"{path} holds {needle!r}"
        from tests.test_spec import recording_problems, unexpected

        problems = unexpected(recording_problems(self.exchanges))
        assert not problems, f"{path}: requests the real API spec refuses: {problems}"

    monkeypatch.setattr(record.Recording, "save", checked_save)


@pytest.fixture(autouse=True)
def traffic_matches_the_api_spec(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every simulator answer and every request cstool's Api sends, in every test, is checked
    against the real API spec (cstool/apispec.py); the test that caused a problem fails."""
    from tests.test_spec import unexpected, watch

    traffic = watch(monkeypatch)
    yield traffic
    problems = unexpected(traffic.problems)
    assert not problems, "differs from the real CloudStack API spec:\n" + "\n".join(problems)


# --- no test secret in any output or file (tests/secrets.py) -------------------------------


def _set_example_secrets() -> None:
    """The secrets the example configs name ({env: HOST_PASSWORD}, ...) are set for the whole
    run, as an operator sets them, so that every example applies (module fixtures too); their
    values are test secrets, looked for in every output and file."""
    from tests.secrets import EXAMPLE_NAMES, VALUES

    for name in EXAMPLE_NAMES:
        os.environ[name] = VALUES[name]


_set_example_secrets()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A test whose captured stdout, stderr or log holds a test secret's value fails,
    naming the secret (never its value)."""
    from tests.secrets import found_in

    outcome = yield
    report = outcome.get_result()
    leaked = sorted({n for _title, text in report.sections for n in found_in(text)})
    if leaked and report.outcome != "failed":
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid}: a secret value was shown ({', '.join(leaked)}) in its output"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """At the end of the run: no file the tests wrote (the run's temporary directory: plans,
    recordings, simulator states) and no file of tests/data holds a test secret's value."""
    from tests.secrets import files_holding

    factory = getattr(session.config, "_tmp_path_factory", None)
    roots = [DATA]
    if factory is not None:
        try:
            roots.append(factory.getbasetemp())
        except (OSError, ValueError):
            pass
    hits = files_holding(roots)
    if hits:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["files hold a test secret's value:", *hits]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
