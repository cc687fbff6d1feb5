"""The config as it is at a git ref (`plan --base origin/main`): the same paths the command
names, read from that commit by git itself into a temporary directory.

No shell and no option injection: every git command is an argument list, the ref is
resolved to a commit with `rev-parse --verify --end-of-options` (a ref that starts with
`-` is refused before that), paths are given after `--` with literal pathspecs, and blobs
are read with `cat-file` (no textconv, no filters, no hooks). Only regular files are
written, each under the temporary directory (a path with `..` is refused).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cstool.errors import CstoolError, ExitCode

REGULAR = ("100644", "100755")
SYMLINK = "120000"


class BadBase(CstoolError):
    """--base names neither a config path nor a git ref (a usage error, exit 2)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Checkout:
    """Config paths as they are at the ref: `paths` (in the temporary directory, in the
    order given) and, for each temporary prefix, the `REF:path/in/repo/` that replaces it in
    messages."""

    paths: tuple[Path, ...]
    names: dict[str, str]

    def rename(self, text: str) -> str:
        """`text` with the temporary paths shown as `REF:path/in/repo`."""
        for tmp, name in self.names.items():
            text = text.replace(tmp, name)
        return text


@contextmanager
def checkout(ref: str, paths: Sequence[Path]) -> Iterator[Checkout]:
    """The config paths as they are at `ref`, in a temporary directory removed on exit."""
    if not ref or ref.startswith("-"):
        raise BadBase(f"--base {ref!r}: not a config path, and not a git ref")
    with tempfile.TemporaryDirectory(prefix="cstool-base-") as tmp:
        root = Path(tmp)
        # repository top -> (its directory in tmp, the commit): each path of a repository
        # is read from the same commit, even when the ref moves meanwhile
        tops: dict[Path, tuple[Path, str]] = {}
        out = []
        for path in paths:
            top = _toplevel(ref, path)
            if top not in tops:
                tops[top] = (root / str(len(tops)), _commit(ref, top))
                tops[top][0].mkdir()
            into, commit = tops[top]
            rel = _relative(path, top)
            _extract(ref, top, commit, rel, into)
            out.append(into / rel if rel else into)
        names = {f"{into}{os.sep}": f"{ref}:" for into, _ in tops.values()}
        names.update({str(into): f"{ref}:." for into, _ in tops.values()})
        yield Checkout(tuple(out), names)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run git (never through a shell); its output as bytes."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        return subprocess.run(
            ["git", "--literal-pathspecs", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise CstoolError(
            "--base with a git ref needs git, which is not installed",
            hint="install git, or give the base config as a path",
        ) from None


def _toplevel(ref: str, path: Path) -> Path:
    """The top of the repository that holds path (a directory, or a file's directory)."""
    folder = path if path.is_dir() else path.parent
    done = _git(folder.resolve(), "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise BadBase(
            f"--base {ref}: no such file or directory, and {path} is not inside a git "
            "repository (a git ref needs one)",
            hint="give the base config as a path, or run from a clone",
        )
    return Path(os.fsdecode(done.stdout.rstrip(b"\n"))).resolve()


def _commit(ref: str, top: Path) -> str:
    """The commit `ref` names in the repository at top; a usage error when it names none."""
    done = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise BadBase(
            f"--base {ref}: no such file or directory, and not a commit of the git "
            f"repository {top}",
            hint="give a config path, or a branch, tag or commit (fetch it first: "
            "`git fetch origin main` for origin/main)",
        )
    return done.stdout.decode().strip()


def _relative(path: Path, top: Path) -> str:
    """path inside the repository, as git spells it ('' for the top itself)."""
    try:
        rel = path.resolve().relative_to(top)
    except ValueError:  # a link out of the repository: git holds no such path
        raise CstoolError(f"{path} leads outside the git repository {top}") from None
    return "" if rel == Path(".") else rel.as_posix()


def _extract(ref: str, top: Path, commit: str, rel: str, into: Path) -> None:
    """Write the regular files of the commit under rel into `into` (same relative paths)."""
    listed = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *([rel] if rel else []))
    if listed.returncode != 0:
        raise CstoolError(f"--base {ref}: git ls-tree failed: {_stderr(listed)}")
    entries = [e for e in listed.stdout.split(b"\0") if e]
    if not entries:
        raise CstoolError(
            f"--base {ref}: {rel or '.'} does not exist at {ref} (commit {commit[:12]})",
            hint="plan without --base when the change adds the whole config, or give a "
            "base config path",
        )
    for entry in entries:
        meta, _, raw = entry.partition(b"\t")
        mode, kind, blob = meta.decode().split(" ")
        name = os.fsdecode(raw)
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts:
            raise CstoolError(f"--base {ref}: refusing the path {name!r} from git")
        if mode == SYMLINK:
            raise CstoolError(
                f"--base {ref}: {name} is a symbolic link at {ref}; a git ref is read as "
                "regular files only",
                hint="check the base out and give its config path as --base",
            )
        if kind != "blob" or mode not in REGULAR:
            continue  # a submodule: no config file is in it
        content = _git(top, "cat-file", "blob", blob)
        if content.returncode != 0:
            raise CstoolError(f"--base {ref}: cannot read {name}: {_stderr(content)}")
        target = into.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.stdout)


def _stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
