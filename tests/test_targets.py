"""One target per run, stated: which source wins, what the output says, TLS options, located
errors for malformed cloudstack.ini and CloudMonkey configs, and the answers that are not the
CloudStack API (a 401, a missing /client/api, an HTML page, broken JSON)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from cstool.cli import app
from cstool.cloud import targets
from cstool.cloud.api import Api, configured_target
from cstool.errors import NoTarget, TargetConfigError, TargetConflict
from cstool.simulator.transport import Simulator, make_server
from tests.conftest import CONFIGS

runner = CliRunner()
BASIC = str(CONFIGS / "basic")
KEY, SECRET = "targets-test-api-key-0123456789", "targets-test-secret-key-0123456789"


@pytest.fixture(autouse=True)
def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No cloudstack.ini, cmk config or CLOUDSTACK_* variable but the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for name in ("CLOUDSTACK_CONFIG", "CLOUDSTACK_REGION", "CMK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in targets.ENV_KEYS:
        monkeypatch.delenv(f"CLOUDSTACK_{name.upper()}", raising=False)
    return home


@pytest.fixture
def sim_server() -> Iterator[str]:
    """`sim serve` on 127.0.0.1 with the key pair KEY/SECRET; yields its endpoint."""
    server = make_server(Simulator(keys={KEY: SECRET}), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/client/api"
    server.shutdown()
    server.server_close()


def _env(monkeypatch: pytest.MonkeyPatch, endpoint: str, key: str = KEY, secret: str = SECRET):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CLOUDSTACK_ENDPOINT", endpoint)
    monkeypatch.setenv("CLOUDSTACK_KEY", key)
    monkeypatch.setenv("CLOUDSTACK_SECRET", secret)


def _ini(home: Path, text: str) -> Path:
    path = home / ".cloudstack.ini"
    path.write_text(text)
    return path


def _cmk(home: Path, text: str) -> Path:
    (home / ".cmk").mkdir(exist_ok=True)
    path = home / ".cmk" / "config"
    path.write_text(text)
    return path


# --- exactly one source ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--sim", "--profile", "prod"],
        ["--sim", "--replay", "r.yaml"],
        ["--profile", "prod", "--replay", "r.yaml"],
    ],
)
@pytest.mark.parametrize("command", ["plan", "drift", "apply", "export"])
def test_two_target_flags_are_a_usage_error(command: str, flags: list[str]) -> None:
    args = [command, *([] if command == "export" else [BASIC]), *flags]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "give exactly one" in result.output


def test_a_profile_wins_over_the_environment_and_says_so(
    clean_home: Path, monkeypatch: pytest.MonkeyPatch, sim_server: str
) -> None:
    ini = _ini(clean_home, f"[prod]\nendpoint = {sim_server}\nkey = {KEY}\nsecret = {SECRET}\n")
    _env(monkeypatch, "http://127.0.0.1:1/client/api", "env-key-xxxxxxxx", "env-secret-xxxxxxx")
    target = configured_target("prod")
    assert (target.endpoint, target.key) == (sim_server, KEY)
    result = runner.invoke(app, ["plan", BASIC, "--profile", "prod"])
    assert result.exit_code == 3, result.output
    assert f"Target: {sim_server} (profile prod in ~/.cloudstack.ini)" in result.output
    assert ini.exists()


def test_the_environment_is_named_as_the_source(
    monkeypatch: pytest.MonkeyPatch, sim_server: str
) -> None:
    _env(monkeypatch, sim_server)
    result = runner.invoke(app, ["drift", BASIC])
    assert result.exit_code == 3, result.output
    assert f"Target: {sim_server} (environment CLOUDSTACK_ENDPOINT)" in result.output


def test_a_partial_environment_is_an_error_not_a_fall_through(
    clean_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cmk(clean_home, "profile = lab\n[lab]\nurl = http://h/client/api\napikey = a\nsecretkey = b\n")
    monkeypatch.setenv("CLOUDSTACK_KEY", "k")
    with pytest.raises(NoTarget, match="sets CLOUDSTACK_KEY but not CLOUDSTACK_ENDPOINT"):
        configured_target(None)


def test_cloudmonkeys_default_profile_is_used_without_flag_or_environment(
    clean_home: Path, monkeypatch: pytest.MonkeyPatch, sim_server: str
) -> None:
    # as cmk writes it (config.go saveConfig): core options before any section header
    _cmk(
        clean_home,
        "prompt = 🐱\nasyncblock = true\ntimeout = 1800\noutput = json\nverifycert = true\n"
        f"profile = lab\n\n[localcloud]\nurl = http://localhost:8080/client/api\n\n"
        f"[lab]\nurl = {sim_server}\nusername = admin\napikey = {KEY}\nsecretkey = {SECRET}\n",
    )
    result = runner.invoke(app, ["plan", BASIC])
    assert result.exit_code == 3, result.output
    assert f"Target: {sim_server} (default profile lab in ~/.cmk/config)" in result.output
    # the environment wins over a default profile
    _env(monkeypatch, "http://127.0.0.1:1/client/api")
    assert configured_target(None).source == "environment CLOUDSTACK_ENDPOINT"


def test_the_older_core_section_names_the_default_profile_too(clean_home: Path) -> None:
    _cmk(clean_home, "[core]\nprofile = lab\n[lab]\nurl = https://h/client/api\n"
         "apikey = a\nsecretkey = b\n")  # fmt: skip
    assert configured_target(None).source == "default profile lab in ~/.cmk/config"


def test_two_default_profiles_are_ambiguous(clean_home: Path) -> None:
    _ini(clean_home, "[cloudstack]\nendpoint = https://a/client/api\nkey = k\nsecret = s\n")
    _cmk(clean_home, "profile = lab\n[lab]\nurl = https://b/client/api\napikey = a\nsecretkey = b")
    with pytest.raises(TargetConflict, match="two default profiles"):
        configured_target(None)


def test_a_missing_default_profile_section_is_named(clean_home: Path) -> None:
    _cmk(clean_home, "profile = gone\n[lab]\nurl = https://b/client/api\n")
    with pytest.raises(NoTarget, match="default profile 'gone' has no \\[gone\\] section"):
        configured_target(None)


def test_an_unknown_profile_lists_the_ones_found(clean_home: Path) -> None:
    _ini(clean_home, "[a]\nendpoint = https://a/client/api\n")
    _cmk(clean_home, "[b]\nurl = https://b/client/api\n")
    with pytest.raises(NoTarget, match=r"profiles found: a, b"):
        configured_target("c")


# --- malformed files: located errors -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("endpoint = https://a/client/api\n[p]\n", 1, "before the first [section] header"),
        ("[p]\nendpoint = https://a/client/api\nthis is not a setting\n", 3, "not a `name = "),
        ("[p]\nkey = a\nkey = b\n", 3, "key is set twice in [p]"),
        ("[p]\nendpoint = https://a/client/api\nkey = k\nsecret = 50%off\n", 4, "write a "),
        ("[p]\nendpoint = https://a/client/api\nkey = k\nsecret = s\ntimeout = abc\n", 5, "at "),
        ("[p]\nendpoint = https://a/client/api\nkey = k\nsecret = s\ntimeout = 0.5\n", 5, "at "),
        ("[p]\nendpoint = cloud.example\nkey = k\nsecret = s\n", 2, "not an http(s) URL"),
        ("[p]\nendpoint = https://a/client/api\nkey = k\n", 1, "has no API secret"),
        ("[p]\nendpoint = https://a/client/api\nkey = k\nsecret = s\nverify = /no/ca\n", 5, ""),
    ],
)
def test_a_malformed_cloudstack_ini_is_a_located_error(
    clean_home: Path, text: str, line: int, says: str
) -> None:
    _ini(clean_home, text)
    result = runner.invoke(app, ["plan", BASIC, "--profile", "p"])
    assert result.exit_code == 1, result.output
    assert f"error: ~/.cloudstack.ini:{line}: " in result.output
    assert says in result.output
    assert "internal error" not in result.output


def test_cloudstack_ini_timeout_may_have_decimals(clean_home: Path) -> None:
    _ini(clean_home, "[p]\nendpoint = https://a/client/api\nkey = k\nsecret = s\ntimeout = 1.5\n")
    assert configured_target("p").timeout == 1.5


def test_a_cmk_secret_with_a_percent_sign_is_read_as_written(clean_home: Path) -> None:
    _cmk(clean_home, "[lab]\nurl = https://h/client/api\napikey = a\nsecretkey = x%y%%z\n")
    assert configured_target("lab").secret == "x%y%%z"  # go-ini has no %-interpolation


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("profile = lab\n[lab]\nurl = https://h/client/api\n???\n", 4, "not a `name = value`"),
        ("[lab]\nurl = https://h/client/api\napikey = a\n", 1, "has no API secret"),
        ("[lab]\nurl = https://h/client/api\napikey = a\nsecretkey =\n", 4, "no API secret"),
        ("[lab]\nurl = /client/api\napikey = a\nsecretkey = b\n", 2, "not an http(s) URL"),
        ("verifycert = maybe\n[lab]\nurl = https://h/client/api\napikey = a\nsecretkey = b\n",
         1, "neither true/false"),
    ],
)  # fmt: skip
def test_a_malformed_cmk_config_is_a_located_error(
    clean_home: Path, text: str, line: int, says: str
) -> None:
    _cmk(clean_home, text)
    result = runner.invoke(app, ["drift", BASIC, "--profile", "lab"])
    assert result.exit_code == 1, result.output
    assert f"error: ~/.cmk/config:{line}: " in result.output
    assert says in result.output


def test_an_unreadable_or_non_utf8_config_is_located(clean_home: Path) -> None:
    _ini(clean_home, "[p]\n").write_bytes(b"[p]\nendpoint = https://a/\xff\n")
    with pytest.raises(TargetConfigError, match=r"cloudstack.ini:2: not UTF-8"):
        configured_target("p")
    (clean_home / ".cloudstack.ini").unlink()
    (clean_home / ".cloudstack.ini").mkdir()
    with pytest.raises(TargetConfigError, match=r"cloudstack.ini: cannot read"):
        configured_target("p")


# --- TLS -------------------------------------------------------------------------------------


def _sent_with(target: Any) -> dict[str, Any]:
    """The verify and cert the target's session hands to the transport."""
    seen: dict[str, Any] = {}

    def capture(self: Any, request: Any, **kwargs: Any) -> Any:
        seen.update(verify=kwargs.get("verify"), cert=kwargs.get("cert"))
        raise _Captured  # not a transport error: nothing retries it

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.adapters.HTTPAdapter, "send", capture)
        with pytest.raises(_Captured):
            Api(target).list("listZones")
    return seen


class _Captured(Exception):
    pass


def test_tls_options_of_cloudstack_ini_reach_the_transport(clean_home: Path) -> None:
    ca, cert, key = (clean_home / n for n in ("ca.pem", "client.pem", "client.key"))
    for path in (ca, cert, key):
        path.write_text("-----BEGIN-----\n")
    base = "endpoint = https://a/client/api\nkey = k\nsecret = s\n"
    _ini(
        clean_home,
        f"[off]\n{base}verify = false\n[ca]\n{base}verify = {ca}\n"
        f"[mtls]\n{base}cert = {cert}\ncert_key = {key}\n[danger]\n{base}"
        "dangerous_no_tls_verify = true\n",
    )
    assert _sent_with(configured_target("off")) == {"verify": False, "cert": None}
    assert _sent_with(configured_target("ca")) == {"verify": str(ca), "cert": None}
    assert _sent_with(configured_target("mtls")) == {"verify": True, "cert": (str(cert), str(key))}
    assert _sent_with(configured_target("danger"))["verify"] is False
    assert "TLS certificate not verified" in configured_target("off").name


def test_tls_options_of_the_environment_and_cmk_reach_the_transport(
    clean_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, "https://a/client/api")
    ca = clean_home / "ca.pem"
    ca.write_text("x")
    monkeypatch.setenv("CLOUDSTACK_VERIFY", str(ca))
    monkeypatch.setenv("CLOUDSTACK_CERT", str(ca))
    assert _sent_with(configured_target(None)) == {"verify": str(ca), "cert": str(ca)}
    monkeypatch.setenv("CLOUDSTACK_VERIFY", "false")
    assert _sent_with(configured_target(None))["verify"] is False
    _cmk(clean_home, "verifycert = false\n[lab]\nurl = https://h/client/api\napikey = a\n"
         "secretkey = b\n[strict]\nurl = https://h/client/api\napikey = a\nsecretkey = b\n"
         "verifycert = true\n")  # fmt: skip
    assert _sent_with(configured_target("lab"))["verify"] is False
    assert _sent_with(configured_target("strict"))["verify"] is True


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`sim serve` behind TLS with a self-signed certificate; yields (endpoint, cert file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = make_server(Simulator(keys={KEY: SECRET}), "127.0.0.1", 0)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/client/api", cert
    server.shutdown()
    server.server_close()


def test_a_private_ca_cloud_is_reachable_with_verify_and_refused_without(
    clean_home: Path, tls_server: tuple[str, Path]
) -> None:
    endpoint, cert = tls_server
    base = f"endpoint = {endpoint}\nkey = {KEY}\nsecret = {SECRET}\n"
    _ini(clean_home, f"[strict]\n{base}[ca]\n{base}verify = {cert}\n[off]\n{base}verify = no\n")
    refused = runner.invoke(app, ["plan", BASIC, "--profile", "strict"])
    assert refused.exit_code == 1
    assert "SSLError" in refused.output and "CLOUDSTACK_VERIFY" in refused.output
    assert runner.invoke(app, ["plan", BASIC, "--profile", "ca"]).exit_code == 3
    insecure = runner.invoke(app, ["plan", BASIC, "--profile", "off"])
    assert insecure.exit_code == 3, insecure.output
    assert "TLS certificate not verified" in insecure.output
    assert "Unverified HTTPS request" not in insecure.output


# --- answers that are not what was hoped for -------------------------------------------------


def test_a_401_names_the_key_source_and_the_clock(
    clean_home: Path, monkeypatch: pytest.MonkeyPatch, sim_server: str
) -> None:
    _cmk(clean_home, f"[lab]\nurl = {sim_server}\napikey = {KEY}\nsecretkey = wrong-secret-1\n")
    result = runner.invoke(app, ["plan", BASIC, "--profile", "lab"])
    assert result.exit_code == 1
    assert "(401) unable to verify user credentials" in result.output
    assert "from profile lab in ~/.cmk/config" in result.output
    assert "clock" in result.output and "expires" in result.output


def test_an_endpoint_without_client_api_gets_a_hint(
    monkeypatch: pytest.MonkeyPatch, sim_server: str
) -> None:
    root = sim_server.removesuffix("/client/api")
    _env(monkeypatch, root)
    result = runner.invoke(app, ["plan", BASIC])
    assert result.exit_code == 1
    assert "(None)" not in result.output and "(404) no such path /" in result.output
    assert f"CloudStack serves its API at /client/api, e.g. {sim_server}" in result.output


def _answering(status: int, ctype: str, body: bytes) -> Callable[[], Iterator[str]]:
    def serve() -> Iterator[str]:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}/client/api"
        server.shutdown()
        server.server_close()

    return serve


@pytest.mark.parametrize(
    ("status", "ctype", "body", "got"),
    [
        (200, "text/html; charset=utf-8", b"<html>Login</html>", "got text/html; charset=utf-8, "
         "HTTP 200 OK"),
        (200, "application/json", b'{"listzonesresponse": {"cou', "got malformed JSON"),
        (200, "application/json", b'{"a": 1, "b": 2}', "got JSON that is not a CloudStack"),
        (404, "text/html", b"<html>Not found</html>", "got text/html, HTTP 404"),
    ],
)  # fmt: skip
def test_an_answer_that_is_not_the_api_says_it_was_reached(
    monkeypatch: pytest.MonkeyPatch, status: int, ctype: str, body: bytes, got: str
) -> None:
    serve = _answering(status, ctype, body)()
    endpoint = next(serve)
    try:
        _env(monkeypatch, endpoint)
        result = runner.invoke(app, ["plan", BASIC])
    finally:
        next(serve, None)
    host = endpoint.split("/")[2]
    assert result.exit_code == 1
    assert f"reached {host} but it did not answer as the CloudStack API ({got}" in result.output
    assert "cannot reach" not in result.output
