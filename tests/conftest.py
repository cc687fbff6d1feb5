"""Shared fixtures: paths to the test data, the example configs and the real CloudStack data."""

from __future__ import annotations

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
