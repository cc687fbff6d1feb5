"""The secret values the tests use, built at run time (no file holds them) and each at least
12 characters and unique, so that the grep plugin of tests/conftest.py can look for them in
every test's output and in every file the run wrote (plans, recordings, simulator states)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path

import pytest


def _made(label: str) -> str:
    return f"{label}-{secrets.token_hex(8)}"


# environment variable -> value; configs in the tests reference them as {env: NAME}
VALUES: dict[str, str] = {
    "CSTOOL_TEST_HOST_PASSWORD": _made("hostpw"),
    "CSTOOL_TEST_VCENTER_PASSWORD": _made("vcpw"),
    "CSTOOL_TEST_CEPH_KEY": _made("cephkey"),
    "CSTOOL_TEST_S3_SECRET": _made("s3secret"),
    # the names configs/compute/zone.yaml references, set for every test (tests/conftest.py)
    "HOST_PASSWORD": _made("examplehostpw"),
    "VCENTER_PASSWORD": _made("examplevcpw"),
    "CEPH_KEY": _made("examplecephkey"),
}
EXAMPLE_NAMES = ("HOST_PASSWORD", "VCENTER_PASSWORD", "CEPH_KEY")
HOST_PASSWORD = VALUES["CSTOOL_TEST_HOST_PASSWORD"]
CEPH_KEY = VALUES["CSTOOL_TEST_CEPH_KEY"]


def set_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put every test secret in the environment, for one test."""
    for name, value in VALUES.items():
        monkeypatch.setenv(name, value)


def found_in(text: str) -> list[str]:
    """The names of the test secrets whose value `text` holds."""
    return [name for name, value in VALUES.items() if value in text]


MAX_SCANNED = 64 * 1024 * 1024  # a file larger than this is not one cstool wrote in a test


def files_holding(roots: Iterable[Path]) -> list[str]:
    """`path: NAME` for each file under `roots` that holds a test secret's value (also
    URL-encoded; the values are hex, so only their own characters)."""
    needles = {name: value.encode() for name, value in VALUES.items()}
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            try:
                if path.stat().st_size > MAX_SCANNED:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            hits += [f"{path}: {name}" for name, needle in needles.items() if needle in data]
    return hits
