"""The vendored real data and its PROVENANCE.md list the same files, so no file arrives without
a stated source and licence and no listed source silently disappears."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import realdata

PROVENANCE = "PROVENANCE.md"
# a table row whose first cell is a back-quoted path: | `responses/x.json` | repo | ... |
ROW = re.compile(r"^\|\s*`(?P<file>[^`]+)`\s*\|(?P<rest>.*)\|\s*$")


def _rows(text: str) -> list[tuple[str, list[str]]]:
    """Every (file, other cells) row of the provenance tables."""
    rows: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            cells = [c.strip() for c in match["rest"].split(" | ")]
            rows.append((match["file"], cells))
    return rows


def _vendored(base: Path) -> set[str]:
    return {
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and p.name != PROVENANCE
    }


def test_provenance_lists_exactly_the_vendored_files() -> None:
    base = realdata()
    listed = [file for file, _ in _rows((base / PROVENANCE).read_text())]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert sorted(set(listed) - _vendored(base)) == [], "listed but not vendored"
    assert sorted(_vendored(base) - set(listed)) == [], "vendored but not listed"


def test_every_provenance_row_names_repository_path_commit_and_licence() -> None:
    rows = _rows((realdata() / PROVENANCE).read_text())
    assert rows
    for file, cells in rows:
        repo, path, commit, licence = cells[:4]
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", repo), file
        assert path.startswith("`") and path.endswith("`") and len(path) > 2, file
        assert re.fullmatch(r"`[0-9a-f]{40}`", commit), file
        assert licence, file


def test_the_row_parser_sees_a_missing_and_an_unlisted_file(tmp_path: Path) -> None:
    """Guards the two checks above against a parser that matches nothing."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "kept.json").write_text("{}")
    (tmp_path / "a" / "extra.json").write_text("{}")
    text = (
        "| file | source repository | source path | commit | licence |\n"
        "|---|---|---|---|---|\n"
        f"| `a/kept.json` | o/r | `p` | `{'0' * 40}` | Apache-2.0 |\n"
        f"| `a/gone.json` | o/r | `p` | `{'0' * 40}` | Apache-2.0 |\n"
    )
    listed = {file for file, _ in _rows(text)}
    assert listed == {"a/kept.json", "a/gone.json"}
    assert listed - _vendored(tmp_path) == {"a/gone.json"}
    assert _vendored(tmp_path) - listed == {"a/extra.json"}
