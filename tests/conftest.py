"""Shared fixtures: paths to the test data, the example configs and the real CloudStack data."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CONFIGS = ROOT / "configs"
EXAMPLES = sorted(p for p in CONFIGS.iterdir() if p.is_dir())


def realdata() -> Path:
    """shared/realdata beside the checkout (read only; never edited)."""
    for base in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if (base / "realdata").is_dir():
            return base / "realdata"
    pytest.skip("shared/realdata is not beside this checkout")
