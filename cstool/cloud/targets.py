"""Where API calls go: the simulator, a recording, a cloudstack.ini or CloudMonkey profile,
or the CLOUDSTACK_* environment. Nothing here sends a request.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cs import read_config

from cstool.cloud.wire import REPLAY_ENDPOINT
from cstool.errors import CstoolError, NoTarget

SIM_KEY = "cstool-simulator-key"
SIM_SECRET = "cstool-simulator-secret"  # the in-process simulator's own; not a credential
METHODS = ("get", "post")


@dataclass
class Target:
    """Where the API calls go. `name` is what outputs show: never a key or secret."""

    name: str
    endpoint: str
    key: str | None
    secret: str | None = field(repr=False)
    session: requests.Session = field(default_factory=requests.Session)
    verify: bool | str = True
    timeout: int = 30
    poll_interval: float = 1.0
    simulator: Any = None  # the in-process Simulator, when --sim
    method: str = "get"  # how reads are sent (cs's `method`); writes always go by POST


def replay_target(path: Path) -> Target:
    """Answers from a recording (no cloud, no credentials: requests go unsigned)."""
    return Target(
        f"replay of {path}",
        REPLAY_ENDPOINT,
        None,
        None,
        requests.Session(),
        poll_interval=0.0,
    )


def sim_target(
    state: Path,
    faults: list[Any] | None = None,
    job_polls: int = 1,
    version: str | None = None,
) -> Target:
    """The built-in simulator, in-process, with its state in `state`; `version` is the
    CloudStack version it pretends to be (its default when None)."""
    from cstool.simulator.transport import IN_PROCESS_ENDPOINT, Faults, SimAdapter, Simulator

    try:
        sim = Simulator.shared(state, keys={SIM_KEY: SIM_SECRET}, version=version)
    except ValueError as exc:
        raise CstoolError(str(exc), hint="delete the file to start from an empty cloud") from None
    session = requests.Session()
    adapter = SimAdapter(sim, Faults(faults or []), job_polls)
    session.mount(IN_PROCESS_ENDPOINT.rsplit("/client", 1)[0] + "/", adapter)
    return Target(
        f"simulator ({state})",
        IN_PROCESS_ENDPOINT,
        SIM_KEY,
        SIM_SECRET,
        session,
        poll_interval=0.0,
        simulator=sim,
    )


def _cmk_profile(name: str) -> dict[str, str] | None:
    """A CloudMonkey profile (~/.cmk/config): url, apikey, secretkey."""
    path = Path(os.environ.get("CMK_CONFIG", Path.home() / ".cmk" / "config"))
    if not path.exists():
        return None
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_section(name):
        return None
    section = parser[name]
    return {
        "endpoint": section.get("url", ""),
        "key": section.get("apikey", ""),
        "secret": section.get("secretkey", ""),
        "verify": section.get("verifycert", "true"),
    }


def configured_target(profile: str | None) -> Target:
    """A target from --profile (cloudstack.ini or cmk) or the CLOUDSTACK_* environment."""
    if profile:
        conf: dict[str, Any] | None = None
        try:
            ini = read_config(profile)
            if ini.get("endpoint"):
                conf = ini
        except (SystemExit, ValueError, configparser.Error):  # cs exits when no ini exists
            conf = None
        conf = conf or _cmk_profile(profile)
        if not conf or not conf.get("endpoint"):
            raise NoTarget(
                f"profile '{profile}' was not found in cloudstack.ini "
                "(CLOUDSTACK_CONFIG, ./cloudstack.ini, ~/.cloudstack.ini) nor in "
                "~/.cmk/config"
            )
        verify = str(conf.get("verify", "true")).lower() not in ("false", "0", "no")
        return Target(
            f"{conf['endpoint']} (profile {profile})",
            conf["endpoint"],
            conf.get("key"),
            conf.get("secret"),
            verify=verify,
            timeout=int(conf.get("timeout") or 30),
            method=_method(conf.get("method"), f"profile {profile}"),
        )
    endpoint = os.environ.get("CLOUDSTACK_ENDPOINT")
    if endpoint:
        key, secret = os.environ.get("CLOUDSTACK_KEY"), os.environ.get("CLOUDSTACK_SECRET")
        if not key or not secret:
            raise NoTarget(
                "CLOUDSTACK_ENDPOINT is set but CLOUDSTACK_KEY or CLOUDSTACK_SECRET is not"
            )
        method = _method(os.environ.get("CLOUDSTACK_METHOD"), "CLOUDSTACK_METHOD")
        return Target(endpoint, endpoint, key, secret, method=method)
    raise NoTarget("no CloudStack target is configured")


def _method(value: Any, where: str) -> str:
    """cs's `method` option (get or post; cs's own default is get)."""
    method = str(value or "get").strip().lower()
    if method not in METHODS:
        raise CstoolError(f"{where}: method {value!r} is neither get nor post")
    return method
