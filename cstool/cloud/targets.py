"""Where API calls go: the simulator, a recording, a cloudstack.ini or CloudMonkey profile,
or the CLOUDSTACK_* environment. Nothing here sends a request.

Exactly one source per run, in this order (docs/targets.md):

1. `--sim`, `--replay FILE` or `--profile NAME`: at most one of them (more is a usage error).
   A profile is a section of cloudstack.ini (the files cs reads) or else of the CloudMonkey
   config; it wins over the CLOUDSTACK_* environment (cs's own read_config prefers the
   environment, which is why it is not used here).
2. The environment: CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY, CLOUDSTACK_SECRET (cs's names).
3. A default profile: cs's (the cloudstack.ini section named by CLOUDSTACK_REGION, else
   `[cloudstack]`) or CloudMonkey's (`profile = NAME` at the top of ~/.cmk/config or in its
   `[core]` section). Both at once is ambiguous and refused.

Every target says where it came from (Target.source); outputs show `Target.name`, the
endpoint without any password plus that source.
"""

from __future__ import annotations

import configparser
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from cstool.cloud.identity import host_of
from cstool.cloud.wire import REPLAY_ENDPOINT
from cstool.errors import (
    ApiError,
    CstoolError,
    NoTarget,
    NotCloudStack,
    TargetConfigError,
    TargetConflict,
    Unreachable,
    redact,
    register_secret,
)

SIM_KEY = "cstool-simulator-key"
SIM_SECRET = "cstool-simulator-secret"  # the in-process simulator's own; not a credential
METHODS = ("get", "post")
DEFAULT_TIMEOUT = 30.0
API_PATH = "/client/api"  # where the management server serves the API (ApiServlet)
TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")
_CMK_TOP = "\x00cmk-top"  # the keys a cmk config holds before its first section header


@dataclass
class Target:
    """Where the API calls go. `name` is what outputs show: never a key, secret or password.

    `verify` and `cert` are applied by the session's adapter (_TLS), because the cs client
    turns verify=False into True (CloudStack.__init__: `not dangerous_no_tls_verify`)."""

    name: str
    endpoint: str
    key: str | None
    secret: str | None = field(repr=False)
    session: requests.Session = field(default_factory=requests.Session)
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    poll_interval: float = 0.1  # first wait before an async job is polled; then it backs off
    simulator: Any = None  # the in-process Simulator, when --sim
    method: str = "get"  # how reads are sent (cs's `method`); writes always go by POST
    source: str = ""  # where the target came from: "profile prod in ~/.cmk/config", ...
    cert: str | tuple[str, str] | None = None  # a client certificate (and key)

    def __post_init__(self) -> None:
        register_secret(self.key, self.secret, urlsplit(self.endpoint).password)
        self.name = redact(self.name)

    @property
    def key_source(self) -> str:
        """Where the key and secret came from, for a 401's hint."""
        return self.source or self.name


def one_source(sim: bool, profile: str | None, replay: Path | None) -> None:
    """Refuse a command line that names more than one target (exit 2)."""
    named = [
        flag
        for flag, given in (("--sim", sim), ("--profile", profile), ("--replay", replay))
        if given
    ]
    if len(named) > 1:
        raise TargetConflict(
            f"{' and '.join(named)} both name a target; give exactly one",
            hint="a run talks to one cloud: --sim, --profile NAME, --replay FILE, or the "
            "CLOUDSTACK_* environment",
        )


def replay_target(path: Path) -> Target:
    """Answers from a recording (no cloud, no credentials: requests go unsigned)."""
    return Target(
        f"replay of {path}",
        REPLAY_ENDPOINT,
        None,
        None,
        requests.Session(),
        poll_interval=0.0,
        source=f"recording {path}",
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
        source=f"simulator {state}",
    )


# --- configured targets: profiles, the environment, default profiles -----------------------


@dataclass
class _Conf:
    """One target's settings as read, with where each came from (for located errors)."""

    source: str  # "profile prod in ~/.cmk/config"
    values: dict[str, str]
    where: Callable[[str], str]  # option -> "FILE:LINE" (or the environment variable)


def configured_target(profile: str | None) -> Target:
    """A target from --profile, the CLOUDSTACK_* environment, or a default profile."""
    if profile:
        conf = _ini_profile(profile) or _cmk_profile(profile)
        if conf is None:
            raise NoTarget(
                f"profile '{profile}' was not found in cloudstack.ini ({_ini_places()}) nor in "
                f"{_show(_cmk_path())}" + _known_profiles()
            )
        return _target(conf)
    conf = _environment()
    if conf is not None:
        return _target(conf)
    defaults = [c for c in (_ini_default(), _cmk_default()) if c is not None]
    if len(defaults) > 1:
        raise TargetConflict(
            f"two default profiles: {defaults[0].source} and {defaults[1].source}",
            hint="pass --profile NAME to say which cloud to use",
        )
    if defaults:
        return _target(defaults[0])
    raise NoTarget("no CloudStack target is configured")


def _target(conf: _Conf) -> Target:
    """A Target from settings read anywhere, every value checked (located on error)."""
    values, where = conf.values, conf.where
    endpoint = values.get("endpoint", "").strip()
    key, secret = values.get("key", "").strip(), values.get("secret", "").strip()
    register_secret(key, secret, values.get("password"))
    if not endpoint:
        raise TargetConfigError(f"{where('endpoint')}: {conf.source} has no endpoint URL")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetConfigError(
            f"{where('endpoint')}: {conf.source}: the endpoint {endpoint!r} is not an http(s) URL",
            hint=f"e.g. https://cloud.example{API_PATH}",
        )
    missing = [name for name, value in (("key", key), ("secret", secret)) if not value]
    if missing:
        raise TargetConfigError(
            f"{where(missing[0])}: {conf.source} has no API {' and no '.join(missing)}",
            hint="cstool signs every request with the user's API key and secret key (cs "
            "`key`/`secret`, cmk `apikey`/`secretkey`); a user gets them from "
            "registerUserKeys or the UI's 'Generate keys'",
        )
    verify = _verify(values, where)
    session = requests.Session()
    cert = _cert(values, where)
    adapter = _TLS(verify, cert)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    unverified = verify is False and parts.scheme == "https"
    source = conf.source + ("; TLS certificate not verified" if unverified else "")
    return Target(
        f"{endpoint} ({source})",
        endpoint,
        key,
        secret,
        session,
        verify=verify,
        timeout=_timeout(values.get("timeout"), where),
        method=_method(values.get("method"), where("method")),
        source=conf.source,
        cert=cert,
    )


CONNECTIONS = 64


class _TLS(HTTPAdapter):
    """Sends with the target's own TLS settings: `verify` (False, True or a CA bundle path)
    and the client certificate. The cs client passes verify=True when told False
    (CloudStack.__init__) and never a certificate unless given one, so the adapter decides."""

    def __init__(self, verify: bool | str, cert: str | tuple[str, str] | None) -> None:
        # one kept-alive connection per thread that may send at once (the reader's workers,
        # --parallelism up to 64): beyond the pool, urllib3 would open and drop connections
        super().__init__(pool_maxsize=CONNECTIONS)
        self.verify, self.cert = verify, cert
        if verify is False:  # said once in the Target line, not once per request
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self.verify
        kwargs["cert"] = self.cert
        return super().send(request, **kwargs)


def _verify(values: Mapping[str, str], where: Callable[[str], str]) -> bool | str:
    """cs's `verify` (true/false or a CA bundle), cs's `dangerous_no_tls_verify`, cmk's
    `verifycert`. A CA path must exist: requests would only fail on the first call."""
    raw = values.get("verify", "").strip()
    if not raw:
        insecure = values.get("dangerous_no_tls_verify", "").strip().lower()
        if insecure and insecure not in TRUE + FALSE:
            raise TargetConfigError(
                f"{where('dangerous_no_tls_verify')}: dangerous_no_tls_verify must be true or "
                f"false, not {insecure!r}"
            )
        return insecure not in TRUE
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    path = Path(raw).expanduser()
    if not path.exists():
        raise TargetConfigError(
            f"{where('verify')}: verify is neither true/false nor an existing CA bundle: {raw}"
        )
    return str(path)


def _cert(values: Mapping[str, str], where: Callable[[str], str]) -> str | tuple[str, str] | None:
    """cs's client certificate: `cert` (a PEM holding both, or the certificate) and
    `cert_key` (its private key), as CloudStack.__init__ pairs them."""
    cert, key = values.get("cert", "").strip(), values.get("cert_key", "").strip()
    if key and not cert:
        raise TargetConfigError(f"{where('cert_key')}: cert_key is set but cert is not")
    for name, value in (("cert", cert), ("cert_key", key)):
        if value and not Path(value).expanduser().is_file():
            raise TargetConfigError(f"{where(name)}: {name}: no such file: {value}")
    if not cert:
        return None
    cert = str(Path(cert).expanduser())
    return (cert, str(Path(key).expanduser())) if key else cert


def _timeout(value: str | None, where: Callable[[str], str]) -> float:
    """cs's `timeout`, in seconds; decimals allowed. At least 1: the cs client counts whole
    seconds (int(timeout)), and a timeout of 0 would make every request fail."""
    if value is None or not value.strip():
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not seconds >= 1 or seconds == float("inf"):
        raise TargetConfigError(
            f"{where('timeout')}: timeout must be a number of seconds, at least 1, not {value!r}"
        )
    return seconds


def _method(value: Any, where: str) -> str:
    """cs's `method` option (get or post; cs's own default is get)."""
    method = str(value or "get").strip().lower()
    if method not in METHODS:
        raise CstoolError(f"{where}: method {value!r} is neither get nor post")
    return method


# --- the environment ---------------------------------------------------------------------

# cs's own names (cs.client.read_config: CLOUDSTACK_ + the upper-cased config key)
ENV_KEYS = (
    "endpoint",
    "key",
    "secret",
    "method",
    "timeout",
    "verify",
    "cert",
    "cert_key",
    "dangerous_no_tls_verify",
)


def _environment() -> _Conf | None:
    """The CLOUDSTACK_* environment, when it names a target (any of endpoint, key, secret);
    a partial one is an error rather than a fall-through to some other cloud."""
    values = {k: os.environ[f"CLOUDSTACK_{k.upper()}"] for k in ENV_KEYS if _env(k)}
    named = [k for k in ("endpoint", "key", "secret") if values.get(k)]
    if not named:
        return None
    if len(named) < 3:
        have = ", ".join(f"CLOUDSTACK_{k.upper()}" for k in named)
        lack = ", ".join(
            f"CLOUDSTACK_{k.upper()}" for k in ("endpoint", "key", "secret") if k not in named
        )
        raise NoTarget(f"the environment sets {have} but not {lack}")
    return _Conf(
        "environment CLOUDSTACK_ENDPOINT", values, lambda option: f"CLOUDSTACK_{option.upper()}"
    )


def _env(key: str) -> bool:
    return bool(os.environ.get(f"CLOUDSTACK_{key.upper()}", "").strip())


# --- cloudstack.ini ----------------------------------------------------------------------

# the keys cs reads from a section (cs.client.REQUIRED_CONFIG_KEYS and ALLOWED_CONFIG_KEYS)
INI_KEYS = ENV_KEYS


def _ini_paths() -> list[Path]:
    """cs.client.read_config_from_ini's files, in its order (a later one wins)."""
    paths = [Path.home() / ".cloudstack.ini", Path.cwd() / "cloudstack.ini"]
    named = os.environ.get("CLOUDSTACK_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise TargetConfigError(f"CLOUDSTACK_CONFIG names {named}, which does not exist")
        paths.append(path)
    return paths


def _ini_places() -> str:
    return "CLOUDSTACK_CONFIG, ./cloudstack.ini, ~/.cloudstack.ini"


def _ini_profile(name: str) -> _Conf | None:
    """A section of cloudstack.ini, merged over the files cs reads (a later file wins key by
    key, as in ConfigParser.read of all of them)."""
    values: dict[str, str] = {}
    lines: dict[str, str] = {}
    found: list[Path] = []
    for path in _ini_paths():
        parser = _parse_ini(path)
        if parser is None or not parser.has_section(name):
            continue
        found.append(path)
        for option in parser.options(name):
            if option in INI_KEYS:
                values[option] = _ini_value(parser, path, name, option)
                lines[option] = _where(path, name, option)
    if not found:
        return None
    last = found[-1]
    return _Conf(
        f"profile {name} in {_show(last)}",
        values,
        lambda option: lines.get(option) or _where(last, name, None),
    )


def _ini_default() -> _Conf | None:
    """cs's default section: CLOUDSTACK_REGION's, else [cloudstack]."""
    region = os.environ.get("CLOUDSTACK_REGION", "").strip()
    conf = _ini_profile(region or "cloudstack")
    if region and conf is None:
        raise NoTarget(f"CLOUDSTACK_REGION names section [{region}], found in no cloudstack.ini")
    if conf is not None:
        conf.source = conf.source.replace("profile ", "default profile ", 1)
    return conf


def _parse_ini(path: Path) -> configparser.ConfigParser | None:
    """One cloudstack.ini as cs reads it (ConfigParser with its defaults: %-interpolation,
    strict), or None when it does not exist. A malformed file is a located error."""
    text = _read(path)
    if text is None:
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise _located(path, exc, 0) from None
    return parser


def _ini_value(parser: configparser.ConfigParser, path: Path, section: str, option: str) -> str:
    try:
        return parser.get(section, option)
    except configparser.InterpolationError:
        raise TargetConfigError(
            f"{_where(path, section, option)}: {option}: a '%' that is not %% or %(name)s",
            hint="cloudstack.ini is read with Python's %-interpolation (as the cs client "
            "reads it): write a literal % as %%",
        ) from None


# --- CloudMonkey (cmk) ---------------------------------------------------------------------


def _cmk_path() -> Path:
    return Path(os.environ.get("CMK_CONFIG") or Path.home() / ".cmk" / "config")


def _cmk() -> tuple[configparser.ConfigParser, Path] | None:
    """The cmk config, read as cmk's go-ini reads it: the keys before the first header are the
    core options (config.go saveConfig writes them there, as ini.DEFAULT_SECTION), no
    %-interpolation, a repeated key or section is not an error (the last one wins)."""
    path = _cmk_path()
    text = _read(path)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\x00none")
    try:
        parser.read_string(f"[{_CMK_TOP}]\n" + text, source=str(path))
    except configparser.Error as exc:
        raise _located(path, exc, -1) from None
    return parser, path


def _cmk_core(parser: configparser.ConfigParser) -> dict[str, str]:
    """cmk's core options: the top of the file, go-ini's [DEFAULT], and the [core] section of
    the older Python CloudMonkey, later ones winning."""
    core: dict[str, str] = {}
    for section in (_CMK_TOP, "DEFAULT", "core"):
        if parser.has_section(section):
            core.update({k: _unquote(v) for k, v in parser.items(section)})
    return core


def _cmk_profile(name: str, default: bool = False) -> _Conf | None:
    """A CloudMonkey profile: url, apikey, secretkey; `verifycert` is a core option in cmk
    (Core.VerifyCert, default true) and may be set per profile too."""
    read = _cmk()
    if read is None or name in (_CMK_TOP, "DEFAULT", "core"):
        return None
    parser, path = read
    if not parser.has_section(name):
        return None
    core = _cmk_core(parser)
    section = {k: _unquote(v) for k, v in parser.items(name)}
    verify = section.get("verifycert") or core.get("verifycert", "true")
    values = {
        "endpoint": section.get("url", ""),
        "key": section.get("apikey", ""),
        "secret": section.get("secretkey", ""),
        "password": section.get("password", ""),
        "verify": verify,
    }
    names = {"endpoint": "url", "key": "apikey", "secret": "secretkey", "verify": "verifycert"}
    kind = "default profile" if default else "profile"

    def where(option: str) -> str:
        wanted = names.get(option, option)
        if wanted in section:
            return _where(path, name, wanted)
        top = _line(path, _CMK_TOP, wanted) if wanted in core else None
        return f"{_show(path)}:{top}" if top else _where(path, name, None)

    return _Conf(f"{kind} {name} in {_show(path)}", values, where)


def _cmk_default() -> _Conf | None:
    """CloudMonkey's default profile (`profile = NAME`, a core option)."""
    read = _cmk()
    if read is None:
        return None
    parser, path = read
    name = _cmk_core(parser).get("profile", "").strip()
    if not name:
        return None
    conf = _cmk_profile(name, default=True)
    if conf is None:
        raise NoTarget(f"{_show(path)}: the default profile {name!r} has no [{name}] section")
    return conf


def _unquote(value: str) -> str:
    """go-ini strips one pair of enclosing double quotes or backquotes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '"`':
        return value[1:-1]
    return value


def _known_profiles() -> str:
    names: list[str] = []
    try:
        for path in _ini_paths():
            parser = _parse_ini(path)
            names += parser.sections() if parser else []
        read = _cmk()
        if read:
            names += [s for s in read[0].sections() if s not in (_CMK_TOP, "DEFAULT", "core")]
    except CstoolError:
        return ""
    return f" (profiles found: {', '.join(sorted(set(names)))})" if names else ""


# --- files and locations -------------------------------------------------------------------


def _read(path: Path) -> str | None:
    """A config file's text, None when it does not exist; unreadable is a located error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TargetConfigError(f"{_show(path)}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TargetConfigError(f"{_show(path)}:{line}: not UTF-8 text") from None


def _located(path: Path, exc: configparser.Error, offset: int) -> TargetConfigError:
    """A configparser error as file:line: what is wrong; never the line's text (it may be a
    secret). `offset` undoes the header line prepended to a cmk config."""
    where = _show(path)
    line = getattr(exc, "lineno", None)
    if isinstance(exc, configparser.MissingSectionHeaderError):  # a ParsingError: first
        return TargetConfigError(
            f"{where}:{line}: a setting before the first [section] header",
            hint="cloudstack.ini needs a section per cloud, e.g. [cloudstack]",
        )
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        line = exc.errors[0][0] + offset
        return TargetConfigError(
            f"{where}:{line}: not a `name = value` line, a [section] header or a comment"
        )
    if isinstance(exc, configparser.DuplicateOptionError):
        return TargetConfigError(
            f"{where}:{(line or 0) + offset}: {exc.option} is set twice in [{exc.section}]"
        )
    if isinstance(exc, configparser.DuplicateSectionError):
        return TargetConfigError(f"{where}:{(line or 0) + offset}: [{exc.section}] appears twice")
    return TargetConfigError(f"{where}: cannot be read as an ini file: {type(exc).__name__}")


_HEADER = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")


def _line(path: Path, section: str, option: str | None) -> int | None:
    """The line of `option` in `section` (of the section header when option is None), for an
    error; a cmk config's headerless top is the section _CMK_TOP."""
    if section == _CMK_TOP and option is None:
        return 1
    current = _CMK_TOP
    for number, line in enumerate((_read(path) or "").splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            current = header["name"]
            if current == section and option is None:
                return number
        elif current == section and option is not None:
            if re.split(r"[=:]", line, maxsplit=1)[0].strip().lower() == option:
                return number
    return None


def _where(path: Path, section: str, option: str | None) -> str:
    """FILE:LINE of an option (or else its section), as errors show it."""
    line = (option and _line(path, section, option)) or _line(path, section, None)
    return f"{_show(path)}:{line}" if line else _show(path)


def _show(path: Path) -> str:
    """A path as outputs show it: under the home directory as ~/..."""
    try:
        return "~/" + str(path.resolve().relative_to(Path.home().resolve()))
    except (ValueError, OSError):
        return str(path)


# --- answers that are not the CloudStack API ---------------------------------------------


def endpoint_hint(endpoint: str) -> str | None:
    """A hint when the endpoint cannot be the API: CloudStack serves it at /client/api."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    if path.endswith(API_PATH):
        return None
    example = f"{parts.scheme}://{host_of(endpoint)}{API_PATH}"
    said = f"has the path {path}" if path else "has no path"
    return f"the endpoint {said}: CloudStack serves its API at {API_PATH}, e.g. {example}"


def refusal_hint(target: Target, code: Any) -> str | None:
    """A hint for an API error the target itself may cause: a 401 (which key, and the clock)
    or a 404 (the endpoint's path)."""
    if code == 401 and target.key:
        hint = (
            f"the server did not accept the API key and secret from {target.key_source}: "
            "check that they are this user's current keys, that the user and account are "
            "enabled, and that the command exists on this server and is allowed for the role"
        )
        if target.secret:
            # cs signs with signatureVersion=3 and expires = now + 10 min; the server refuses
            # a request whose expires is past (ApiServer.verifyRequest: "Request expired")
            hint += (
                "; every request carries an expiry (`expires`, 10 minutes ahead of this "
                "machine's clock), so a clock more than 10 minutes behind the management "
                "server's (or, with enforce.post.requests.and.timestamps, more than 5 minutes "
                "ahead) is refused the same way: compare `date -u` here and on the server"
            )
        return hint
    if code == 404:
        return endpoint_hint(target.endpoint) or "check the endpoint URL"
    return None


def not_the_api(target: Target, command: str, exc: Exception) -> CstoolError:
    """The cs client's CloudStackException for an answer that is not CloudStack's: an HTML
    page, broken or foreign JSON, a proxy's error page. The endpoint was reached."""
    response = getattr(exc, "response", None)
    args = [str(a) for a in getattr(exc, "args", ())]
    if not isinstance(response, requests.Response):
        return Unreachable(target.name, args[0] if args else str(exc))
    status, reason = response.status_code, response.reason or ""
    ctype = response.headers.get("Content-Type") or "no Content-Type"
    hint = endpoint_hint(target.endpoint) or (
        "check that the endpoint is the management server's API URL (…/client/api) and that "
        "no login page, proxy or load balancer answers in its place"
    )
    if any("Malformed JSON" in a for a in args):
        got = f"malformed JSON ({ctype}), HTTP {status} {reason}: {args[-1]}"
    elif args and args[0] == "Unexpected response from CloudStack":
        got = f"JSON that is not a CloudStack answer ({args[-1]}), HTTP {status} {reason}"
    else:
        got = f"{ctype}, HTTP {status} {reason}"
    if status >= 500:  # a gateway's error page: transient like any 5xx
        return ApiError(command, status, f"{host_of(target.endpoint)} answered {got}")
    return NotCloudStack(host_of(target.endpoint), status, got, hint)


def unreachable(target: Target, exc: requests.RequestException) -> CstoolError:
    """A transport failure, with what to do about it."""
    detail = re.sub(r" with url: \S+", "", f"{type(exc).__name__}: {exc}")
    error = Unreachable(target.name, detail)
    if isinstance(exc, requests.exceptions.SSLError):
        error.hint = (
            "the TLS handshake or certificate check failed: for a private CA set `verify = "
            "/path/to/ca.pem` in the profile or CLOUDSTACK_VERIFY; to skip the check knowingly, "
            "`verify = false` (cloudstack.ini), `verifycert = false` (cmk) or "
            "CLOUDSTACK_VERIFY=false"
        )
    elif isinstance(exc, requests.exceptions.ProxyError):
        error.hint = (
            "the HTTP proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) failed; set NO_PROXY="
            f"{urlsplit(target.endpoint).hostname} to reach the cloud directly"
        )
    elif isinstance(exc, requests.exceptions.Timeout):
        error.hint = (
            f"no answer within {target.timeout:g} s; raise `timeout` in the profile or "
            "CLOUDSTACK_TIMEOUT if the cloud is slow"
        )
    elif isinstance(exc, requests.exceptions.TooManyRedirects):
        error.hint = endpoint_hint(target.endpoint) or "the endpoint redirects in a loop"
    else:
        error.hint = endpoint_hint(target.endpoint) or (
            "check the endpoint's host and port, and that the management server is running"
        )
    return error
