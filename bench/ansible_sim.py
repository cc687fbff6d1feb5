"""Ansible's CloudStack modules (ngine_io.cloudstack) against `cstool sim serve`.

    python bench/ansible_sim.py [--venv .venv-ansible] [--keep-state FILE] [--job-polls N]

Real third-party clients are the test of the simulator: the modules were written against real
CloudStack. This starts the simulator on a free 127.0.0.1 port with a throw-away state file,
runs bench/ansible/playbook.yml (cs_zone, cs_pod, cs_physical_network, cs_traffic_type,
cs_vlan_ip_range, cs_configuration: create, re-run, update, check mode, delete) with
CLOUDSTACK_ENDPOINT/KEY/SECRET set, judges every task by the outcome its name expects
("<module> | <flow> | changed|ok|failed"), prints a table with times, and exits 1 on any
unexpected result. The server is stopped in every case.

Ansible lives in its own venv, never in the project's: the first run creates it with

    python -m venv .venv-ansible && .venv-ansible/bin/pip install ansible cs

(ansible ships the ngine_io.cloudstack and ansible.posix collections; cs is what the modules
call). Exit codes: 0 all as expected, 1 an unexpected result, 2 the run itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "bench" / "ansible" / "playbook.yml"
DEFAULT_VENV = ROOT / ".venv-ansible"
EXPECTED = ("changed", "ok", "failed")
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Outcome:
    """One task of the playbook: what its name expects and what Ansible reported."""

    module: str
    flow: str
    expected: str
    got: str
    seconds: float
    message: str

    @property
    def passed(self) -> bool:
        return self.expected == self.got


def ensure_venv(venv: Path) -> Path:
    """The venv's ansible-playbook, creating the venv first when it is missing."""
    playbook_bin = venv / "bin" / "ansible-playbook"
    if playbook_bin.exists():
        return playbook_bin
    print(f"creating {venv} (ansible and cs from PyPI) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "ansible", "cs"], check=True)
    return playbook_bin


class Server:
    """`cstool sim serve` in a child process on a free port; stop() always ends it."""

    def __init__(self, state: Path, job_polls: int) -> None:
        self.key = secrets.token_urlsafe(24)  # long keys: Ansible masks no_log values in output
        self.secret = secrets.token_urlsafe(32)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cstool.cli",
                "sim",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--state",
                str(state),
                "--api-key",
                self.key,
                "--secret-key",
                self.secret,
                "--job-polls",
                str(job_polls),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            self.endpoint = self._read_endpoint()
        except BaseException:  # Ctrl-C while it starts, too
            self.stop()
            raise

    def _read_endpoint(self) -> str:
        """The first line names the endpoint (the port the OS chose for --port 0)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            found = re.search(r"listening on (http://\S+/client/api)", line)
            if found:
                return found.group(1)
        raise RuntimeError("cstool sim serve did not start")

    def env(self) -> dict[str, str]:
        return {
            "CLOUDSTACK_ENDPOINT": self.endpoint,
            "CLOUDSTACK_KEY": self.key,
            "CLOUDSTACK_SECRET": self.secret,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: the server stops like Ctrl-C and saves state
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def run_playbook(playbook_bin: Path, server: Server, home: Path, verbose: bool) -> dict[str, Any]:
    """Run the playbook on localhost with the json callback; its parsed report."""
    python = playbook_bin.parent / "python"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CLOUDSTACK_"))},
        **server.env(),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    cmd = [
        str(playbook_bin),
        "-i",
        "localhost,",
        "-e",
        f"ansible_python_interpreter={python}",
        str(PLAYBOOK),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if verbose or done.returncode not in (0, 2):
        sys.stderr.write(done.stderr)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise RuntimeError(
            f"ansible-playbook gave no JSON report (exit {done.returncode})"
        ) from None
    return report


def _seconds(duration: dict[str, str]) -> float:
    start, end = (
        datetime.fromisoformat(duration[k].replace("Z", "+00:00")) for k in ("start", "end")
    )
    return (end - start).total_seconds()


def outcomes(report: dict[str, Any]) -> list[Outcome]:
    """One Outcome per task, from the json callback's report."""
    found = []
    for play in report.get("plays", []):
        for entry in play.get("tasks", []):
            task = entry["task"]
            parts = [p.strip() for p in task["name"].split("|")]
            if len(parts) != 3 or parts[2] not in EXPECTED:
                raise RuntimeError(
                    f"task name not '<module> | <flow> | <expected>': {task['name']}"
                )
            result = entry["hosts"].get("localhost", {})
            got = "failed" if result.get("failed") else "changed" if result.get("changed") else "ok"
            message = str(result.get("msg") or "") if got == "failed" else ""
            found.append(
                Outcome(parts[0], parts[1], parts[2], got, _seconds(task["duration"]), message)
            )
    return found


def expected_tasks() -> int:
    """How many tasks the playbook has, to notice a play that stopped early."""
    return len(re.findall(r"^    - name: ", PLAYBOOK.read_text(), flags=re.M))


def table(results: list[Outcome]) -> str:
    width = max(len(r.flow) for r in results)
    lines = [f"{'module':<20} {'flow':<{width}} {'expected':<8} {'got':<8} {'s':>6}  result"]
    for r in results:
        verdict = "pass" if r.passed else "FAIL"
        cells = f"{r.module:<20} {r.flow:<{width}} {r.expected:<8} {r.got:<8}"
        lines.append(f"{cells} {r.seconds:6.2f}  {verdict}")
        if not r.passed and r.message:
            lines.append(f"{'':<20} -> {r.message}")
    return "\n".join(lines)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so the server is stopped


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the Ansible venv")
    parser.add_argument("--keep-state", type=Path, help="copy the simulator state file here")
    parser.add_argument("--verbose", action="store_true", help="show ansible-playbook's stderr")
    parser.add_argument(
        "--job-polls",
        type=int,
        default=0,
        help="times a job answers 'pending' (each costs the modules a 2 s sleep)",
    )
    args = parser.parse_args()
    playbook_bin = ensure_venv(args.venv.resolve())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cstool-ansible-") as tmp:
        state = Path(tmp) / "sim.json"
        server = Server(state, args.job_polls)
        try:
            report = run_playbook(playbook_bin, server, Path(tmp), args.verbose)
        finally:
            server.stop()
        if args.keep_state:
            shutil.copy(state, args.keep_state)
    results = outcomes(report)
    print(table(results))
    failed = [r for r in results if not r.passed]
    total = time.perf_counter() - started
    print(
        f"\n{len(results) - len(failed)}/{len(results)} as expected, {len(failed)} unexpected; "
        f"{sum(r.seconds for r in results):.1f} s in tasks, {total:.1f} s in all"
    )
    if len(results) != expected_tasks():
        print(f"the play stopped early: {len(results)} of {expected_tasks()} tasks ran")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
