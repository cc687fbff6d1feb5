"""`plan --base CONFIG|GIT_REF`: the steps of a change told apart from those that revert drift,
on a drifted simulator, in text, JSON and Markdown, with a base given as a path or a git ref."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool import ops
from cstool.cli import app
from cstool.cloud.api import Api, sim_target
from cstool.model.intent import mark
from cstool.model.loader import load
from cstool.model.plan import CHANGE, DRIFT, make_plan, plan_from_dict
from tests.conftest import CONFIGS, DATA
from tests.outofband import drift_lab

runner = CliRunner()
LAB = CONFIGS / "lab" / "lab.yaml"
PLANS = DATA / "plans"

# what the change (the PR's config) does to the lab config
PR_EDITS = (
    ("dns: [192.0.2.53, 192.0.2.54]", "dns: [192.0.2.53, 192.0.2.55]"),
    (  # the Guest traffic's vmware label: the cloud also drifted on its kvm label
        "- type: Guest\n            labels: {kvm: cloudbr1, vmware: vSwitch1}",
        "- type: Guest\n            labels: {kvm: cloudbr1, vmware: vSwitch9}",
    ),
)
POD3 = """      - name: pod3
        gateway: 10.10.3.1
        netmask: 255.255.255.0
        management_ranges:
          - {start: 10.10.3.10, end: 10.10.3.30}
"""
# step resource -> what it is: the change's steps and the drift the cloud shows
FROM_CHANGE = {"zone:lab1", "traffic_type:lab1/trunk/Guest", "pod:lab1/pod3"}
REVERTS_DRIFT = {
    "public_range:lab1/203.0.113.10",  # endip changed outside cstool
    "storage_range:lab1/pod2/10.20.2.10",  # deleted outside cstool
    "public_range:lab1/203.0.113.220",  # added outside cstool (deleted by --prune)
}


def pr_text() -> str:
    text = LAB.read_text()
    for old, new in PR_EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text + POD3


def _drift_the_cloud(state: Path) -> None:
    """Change the cloud behind cstool's back: a label, a range's end, a deleted storage
    range, a new public range."""
    api = Api(sim_target(state))
    live = ops.read_for(api, ops.desired_state([LAB]).state)
    uuid = {k.to_str(): r.uuid for k, r in live.items()}
    drift_lab(api, uuid, pod2=False)
    assert api.target.simulator is not None
    api.target.simulator.store.flush()


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A simulator the lab config was applied to and that drifted since; the PR's config."""
    tmp = tmp_path_factory.mktemp("base")
    state = tmp / "sim.json"
    applied = runner.invoke(app, ["apply", str(LAB), "--sim", "--sim-state", str(state), "--yes"])
    assert applied.exit_code == 0, applied.output
    _drift_the_cloud(state)
    pr = tmp / "pr"
    pr.mkdir()
    (pr / "lab.yaml").write_text(pr_text())
    return state, pr


def _plan(state: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["plan", *args, "--sim", "--sim-state", str(state)])
    return result.exit_code, result.output


def _json_plan(state: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, out = _plan(state, *args, "-f", "json")
    assert code == 3, out
    return json.loads(out)  # type: ignore[no-any-return]


def _intents(plan: dict) -> dict[str, set[str]]:  # type: ignore[type-arg]
    out: dict[str, set[str]] = {}
    for step in plan["steps"]:
        out.setdefault(step["resource"], set()).add(step["intent"])
    return out


# --- the drifted simulator, every format ---------------------------------------------------


def test_json_marks_each_step_and_counts_the_groups(drifted: tuple[Path, Path]) -> None:
    state, pr = drifted
    plan = _json_plan(state, str(pr), "--base", str(LAB), "--prune")
    intents = _intents(plan)
    assert {k for k, v in intents.items() if v == {CHANGE}} == FROM_CHANGE
    assert {k for k, v in intents.items() if v == {DRIFT}} == REVERTS_DRIFT
    assert plan["base"] == str(LAB)
    assert plan["intent"][CHANGE] == {
        "steps": 3,
        "create": 1,
        "update": 2,
        "replace": 0,
        "delete": 0,
    }
    assert plan["intent"][DRIFT] == {
        "steps": 3,
        "create": 1,
        "update": 1,
        "replace": 0,
        "delete": 1,
    }
    # the mixed case: the change wins, and says the cloud had drifted there too
    guest = next(s for s in plan["steps"] if s["resource"] == "traffic_type:lab1/trunk/Guest")
    assert guest["intent"] == CHANGE and guest["drifted"] == ["labels"]
    assert guest["changes"]["labels"]["old"]["kvm"] == "cloudbr7"  # the cloud's old value
    assert all("drifted" not in s for s in plan["steps"] if s["resource"] != guest["resource"])


def test_without_base_the_plan_is_unmarked_and_the_checksum_is_the_same(
    drifted: tuple[Path, Path],
) -> None:
    state, pr = drifted
    plain = _json_plan(state, str(pr), "--prune")
    based = _json_plan(state, str(pr), "--prune", "--base", str(LAB))
    assert "base" not in plain and "intent" not in plain
    assert not any("intent" in s or "drifted" in s for s in plain["steps"])
    assert plain["checksum"] == based["checksum"]
    strip = [{k: v for k, v in s.items() if k not in ("intent", "drifted")} for s in based["steps"]]
    assert strip == plain["steps"]
    code, text = _plan(state, str(pr), "--prune")
    assert code == 3 and "From this change" not in text and "Base:" not in text


def test_text_shows_two_sections_with_headers_and_counts(drifted: tuple[Path, Path]) -> None:
    state, pr = drifted
    code, out = _plan(state, str(pr), "--base", str(LAB), "--prune")
    assert code == 3, out
    assert f"Base: {LAB}" in out
    change, _, drift = out.partition("Reverts drift: 3 steps (1 to create, 1 to update")
    assert "From this change: 3 steps (1 to create, 2 to update, 0 to replace" in change
    assert drift, out
    for name in (
        "update zone lab1",
        "update traffic type lab1/trunk/Guest",
        "create pod lab1/pod3",
    ):
        assert name in change and name not in drift
    for name in (
        "update public range lab1/203.0.113.10",
        "create storage range lab1/pod2/10.20.2.10",
        "delete public range lab1/203.0.113.220",
    ):
        assert name in drift and name not in change
    assert "also reverts drift: the cloud differed from the base config in labels" in change
    # steps keep their number in the plan: the first apply step is the pruned range
    assert "  1. - delete public range lab1/203.0.113.220" in drift


def test_markdown_shows_two_sections(drifted: tuple[Path, Path]) -> None:
    import cmarkgfm

    state, pr = drifted
    code, out = _plan(state, str(pr), "--base", str(LAB), "--prune", "-f", "markdown")
    assert code == 3, out
    assert "- **From this change: 3 steps (1 to create, 2 to update" in out
    assert "- **Reverts drift: 3 steps (1 to create, 1 to update" in out
    html = cmarkgfm.github_flavored_markdown_to_html(out)
    heads = [h for h in html.splitlines() if h.startswith("<h4>")]
    first = heads.index("<h4>From this change (3 steps)</h4>")
    second = heads.index("<h4>Reverts drift (3 steps)</h4>")
    assert first < second
    change, _, drift = out.partition("#### Reverts drift (3 steps)")
    change = change.partition("#### From this change (3 steps)")[2]
    assert "| update | zone | lab1 |" in change and "| create | pod | pod3 |" in change
    assert "| update | public range | 203.0.113.10 |" in drift
    assert "| **delete** | public range | 203.0.113.220 |" in drift
    assert "| update | public range" not in change
    assert "Also reverts drift on: traffic type lab1/trunk/Guest (labels)" in change
    calls = out.partition("#### API calls that revert drift (3 steps)")[2]
    assert "(step 1)" in calls and "deleteVlanIpRange" in calls
    assert "#### API calls from this change (3 steps)" in out


def test_a_saved_plan_keeps_the_marks_and_applies(
    drifted: tuple[Path, Path], tmp_path: Path
) -> None:
    state, pr = drifted
    copy = tmp_path / "sim.json"
    copy.write_bytes(state.read_bytes())  # the module's simulator stays drifted
    out = tmp_path / "plan.json"
    code, _ = _plan(copy, str(pr), "--base", str(LAB), "--out", str(out))
    assert code == 3
    saved, _desired = ops.load_saved_plan(out)
    steps, checksum = plan_from_dict(saved)
    assert {s.key.to_str(): s.intent for s in steps} == {
        s["resource"]: s["intent"] for s in saved["steps"]
    }
    assert {s.intent for s in steps} == {CHANGE, DRIFT}
    assert next(s for s in steps if s.drifted).drifted == ("labels",)
    assert saved["intent"][DRIFT]["steps"] == 2 and checksum == saved["checksum"]
    applied = runner.invoke(app, ["apply", str(out), "--sim", "--sim-state", str(copy), "--yes"])
    assert applied.exit_code == 0, applied.output
    # a mark edited by hand is an edit: the seal refuses it
    edited = json.loads(out.read_text())
    edited["steps"][0]["intent"] = DRIFT if edited["steps"][0]["intent"] == CHANGE else CHANGE
    out.write_text(json.dumps(edited))
    refused = runner.invoke(app, ["apply", str(out), "--sim", "--sim-state", str(copy), "--yes"])
    assert refused.exit_code == 1 and "modified after it was saved" in refused.output


def test_an_unknown_mark_in_a_saved_plan_is_not_a_plan() -> None:
    step = {
        "action": "update",
        "title": "update",
        "resource": "zone:z1",
        "calls": [],
        "phase": 0,
        "stage": 1,
        "order": 0,
        "changes": {},
        "intent": "maybe",
    }
    with pytest.raises(ValueError, match="unknown step intent"):
        plan_from_dict({"format": 1, "steps": [step], "checksum": "x"})


# --- a git ref as the base -----------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose configs/lab.yaml is the lab config at HEAD~1 and the PR's
    config at HEAD."""
    root = tmp_path / "repo"
    (root / "configs").mkdir(parents=True)
    _git(root, "init", "-q")
    (root / "configs" / "lab.yaml").write_text(LAB.read_text())
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "lab")
    (root / "configs" / "lab.yaml").write_text(pr_text())
    _git(root, "commit", "-qam", "pr")
    return root


@pytest.mark.parametrize("path", ["configs", "configs/lab.yaml", "."])
def test_a_git_ref_reads_the_same_config_paths_at_that_commit(
    drifted: tuple[Path, Path], repo: Path, path: str
) -> None:
    state, _ = drifted
    config = repo / path
    plan = _json_plan(state, str(config), "--base", "HEAD~1", "--prune")
    intents = _intents(plan)
    assert {k for k, v in intents.items() if v == {CHANGE}} == FROM_CHANGE
    assert {k for k, v in intents.items() if v == {DRIFT}} == REVERTS_DRIFT
    assert plan["base"] == "HEAD~1"
    # against HEAD (the PR's own commit) nothing comes from a change
    same = _json_plan(state, str(config), "--base", "HEAD", "--prune")
    assert {s["intent"] for s in same["steps"]} == {DRIFT}


def test_git_ref_errors_are_clear(drifted: tuple[Path, Path], repo: Path, tmp_path: Path) -> None:
    state, pr = drifted
    configs = str(repo / "configs")
    code, out = _plan(state, configs, "--base", "no-such-branch")
    assert code == 2 and "no-such-branch" in out and "not a commit" in out
    code, out = _plan(state, str(pr), "--base", "origin/main")  # pr/ is in no repository
    assert code == 2 and "not inside a git repository" in out
    planted = tmp_path / "planted"
    code, out = _plan(state, configs, f"--base=--output={planted}")
    assert code == 2 and not planted.exists()
    (repo / "configs" / "new.yaml").write_text("settings: {expunge.delay: 60}\n")
    code, out = _plan(state, configs, str(repo / "configs" / "new.yaml"), "--base", "HEAD")
    assert code == 1 and "configs/new.yaml does not exist at HEAD" in out


def test_an_invalid_base_names_the_ref_and_the_file(drifted: tuple[Path, Path], repo: Path) -> None:
    state, _ = drifted
    (repo / "configs" / "lab.yaml").write_text(LAB.read_text().replace("Advanced", "Sideways"))
    _git(repo, "commit", "-qam", "broken")
    (repo / "configs" / "lab.yaml").write_text(pr_text())
    code, out = _plan(state, str(repo / "configs"), "--base", "HEAD")
    assert code == 1, out
    assert "problem(s) in the base configuration (HEAD)" in out
    assert "HEAD:configs/lab.yaml:9:" in out and "/tmp" not in out.replace(str(repo), "")
    broken = repo / "broken.yaml"
    broken.write_text("zones: [{name: x, network_type: Sideways}]\n")
    code, out = _plan(state, str(repo / "configs"), "--base", str(broken))
    assert code == 1 and f"problem(s) in the base configuration ({broken})" in out


# --- the marking itself, on every golden plan ----------------------------------------------


def _case(case: str) -> tuple:  # type: ignore[type-arg]
    desired, problems = load([PLANS / case / "desired.yaml"])
    live, _ = load([PLANS / case / "live.yaml"])
    assert [p for p in problems if not p.warning] == []
    args = PLANS / case / "args"
    prune = args.exists() and "prune" in args.read_text()
    return desired, live, prune


@pytest.mark.parametrize("case", sorted(p.name for p in PLANS.iterdir() if p.is_dir()))
def test_a_base_equal_to_the_change_reverts_drift_and_the_cloud_as_base_is_all_change(
    case: str,
) -> None:
    """With the change's own config as the base, the change changes nothing: every step
    reverts drift. With the cloud written as the base config, nothing drifted: every step,
    deletes and the steps a replace or a new physical network brings included, is the
    change's."""
    desired, live, prune = _case(case)
    planned = make_plan(desired, live, prune)
    assert planned.steps
    same = mark(planned, make_plan(desired, live, prune), desired, desired, "self")
    assert {s.intent for s in same.steps} == {DRIFT}
    assert not any(s.drifted for s in same.steps)
    was = mark(planned, make_plan(live, live, prune), live, desired, "cloud")
    assert {s.intent for s in was.steps} == {CHANGE}
    assert was.to_dict()["checksum"] == planned.to_dict()["checksum"] == same.to_dict()["checksum"]


ZONE = """zones:
  - name: z1
    network_type: Advanced
    dns: [8.8.8.8]
    internal_dns: [10.0.0.2]
    physical_networks:
      - name: pn1
        isolation: VLAN
        vlan_ranges: [100-199]
        traffic:
          - {type: Management, labels: {kvm: br0}}
          - {type: Guest, labels: {kvm: br1}}
          - {type: Public, labels: {kvm: br1}}
"""


def test_a_drifted_replace_under_which_the_change_edits_a_child() -> None:
    """The cloud's physical network drifted to VXLAN (a replace, with its traffic types
    deleted and created again, in both plans); the change edits the Guest label. The
    replace and the other children revert drift; both steps of the Guest traffic type are
    the change's, marked as drifted too (the change wins)."""
    from cstool.model.loader import load_text

    def state(text: str):  # type: ignore[no-untyped-def]
        loaded, problems = load_text(text, "z.yaml")
        assert not [p for p in problems if not p.warning], problems
        return loaded

    guest = "{type: Guest, labels: {kvm: br1}}"
    base, live = state(ZONE), state(ZONE.replace("isolation: VLAN", "isolation: VXLAN"))
    pr = state(ZONE.replace(guest, guest.replace("br1", "br2")))
    marked = mark(make_plan(pr, live), make_plan(base, live), base, pr, "base")
    got = {(s.title, s.key.to_str()): (s.intent, s.drifted) for s in marked.steps}
    assert got.pop(("delete", "traffic_type:z1/pn1/Guest")) == (CHANGE, ("labels",))
    assert got.pop(("create", "traffic_type:z1/pn1/Guest")) == (CHANGE, ("labels",))
    assert ("delete", "physical_network:z1/pn1") in got
    assert ("create", "traffic_type:z1/pn1/Public") in got
    assert set(got.values()) == {(DRIFT, ())}
