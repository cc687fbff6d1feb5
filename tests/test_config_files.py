"""Every file a config path names or contains is read or is an error: a skipped file would
make `--prune` delete what it describes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cstool import ops
from cstool.model import loader
from tests.conftest import CONFIGS

LAB = CONFIGS / "lab" / "lab.yaml"


def _errors(*paths: Path) -> list[str]:
    return [str(p) for p in ops.check_config(list(paths)).errors]


def _zones(*paths: Path) -> set[str]:
    return {r.key.path[0] for r in ops.check_config(list(paths)).state.of_kind("zone")}


def test_a_symlinked_directory_is_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(LAB, tmp_path / "elsewhere" / "lab.yaml")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zones").symlink_to(tmp_path / "elsewhere")
    assert _errors(tmp_path / "config") == []
    assert _zones(tmp_path / "config") == {"lab1"}


@pytest.mark.parametrize("name", ["lab.YAML", "lab.Yml", "lab.yml"])
def test_any_case_of_the_suffix_is_read(tmp_path: Path, name: str) -> None:
    shutil.copy(LAB, tmp_path / name)
    assert _zones(tmp_path) == {"lab1"}


def test_a_symlink_loop_is_an_error(tmp_path: Path) -> None:
    shutil.copy(LAB, tmp_path / "lab.yaml")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)
    assert any("loops back" in e for e in _errors(tmp_path))


def test_a_dangling_link_is_an_error(tmp_path: Path) -> None:
    shutil.copy(LAB, tmp_path / "lab.yaml")
    (tmp_path / "zone2.yaml").symlink_to(tmp_path / "gone.yaml")
    (tmp_path / "more").symlink_to(tmp_path / "gone-dir")
    errors = _errors(tmp_path)
    assert any("zone2.yaml is a symbolic link" in e and "does not exist" in e for e in errors)
    assert any("more is a symbolic link" in e for e in errors)


def test_a_named_dangling_link_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").symlink_to(tmp_path / "gone.yaml")
    assert any("does not exist" in e for e in _errors(tmp_path / "lab.yaml"))


def test_an_unreadable_directory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(LAB, tmp_path / "lab.yaml")
    (tmp_path / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":  # root reads any directory: refuse it here
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(loader.os, "scandir", scandir)
    errors = _errors(tmp_path)
    assert any("locked: cannot read the directory" in e for e in errors)


def test_the_same_directory_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    shutil.copy(LAB, tmp_path / "a" / "lab.yaml")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert _errors(tmp_path / "a", tmp_path / "a") == []
    assert _errors(tmp_path / "a", tmp_path / "b") == []
    assert _errors(tmp_path) == []  # a/ and the link b/ beside it
    assert _errors(tmp_path / "a" / "lab.yaml", tmp_path / "a" / "lab.yaml") == []
