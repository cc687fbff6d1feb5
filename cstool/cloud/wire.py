"""What a request looks like on the wire, shared by api.py (which sends) and record.py (which
writes exchanges down and answers them back): which commands may go by GET, the parameters
that identify a request, and which of them are credentials.

Imports nothing of cstool.cloud, so api.py and record.py both depend on it and not on each
other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import requests

from cstool.model.secrets import is_credential_key

REPLAY_ENDPOINT = "http://replay.cstool.invalid/client/api"
REDACTED = "<redacted>"

# Signing and session parameters: they change on every request and say nothing of what was
# asked (ApiServer.verifyRequest reads them; no command declares them), so they are dropped.
SIGNING = frozenset(
    {"apikey", "signature", "signatureversion", "expires", "response", "sessionkey"}
)

# Parameter and response-field names whose value is a credential. Matched on the whole name
# (lower-cased; for map parameters such as details[0].password, on the part after the last
# dot), never on the value's shape: an offering called DefaultSharedNetworkOfferingWithSGService
# is a name, not a secret.
CREDENTIAL_NAMES = frozenset(
    {
        "apikey",
        "secretkey",
        "accesskey",
        "signature",
        "sessionkey",
        "password",
        "passwd",
        "secret",
        "token",
        "privatekey",
        "credential",
        "credentials",
    }
)
CREDENTIAL_SUFFIXES = ("password", "secretkey", "privatekey", "apikey", "secret", "token")
# scheme://user:password@host -> the password part (e.g. rbd:// pool URLs, endpoints)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<pw>[^/@\s]+)@")

# ApiServlet.GET_REQUEST_COMMANDS and GET_REQUEST_COMMANDS_LIST (apache/cloudstack@3d6cafe1936e,
# ApiServlet.isStateChangingCommandUsingPOST): the commands a server with
# enforce.post.requests.and.timestamps=true still accepts by GET. Every other command is
# "state changing" and answers 400 when not POSTed. (The server's pattern is
# ^(get|list|query|find)(\w+)+$, matched on the lower-cased name.)
_QUERY_PATTERN = re.compile(r"^(get|list|query|find)\w+$")
_QUERY_NAMES = frozenset(
    {
        "isaccountallowedtocreateofferingswithtags",
        "readyforshutdown",
        "cloudianisenabled",
        "quotabalance",
        "quotasummary",
        "quotatarifflist",
        "quotaisenabled",
        "quotastatement",
        "verifyoauthcodeandgetuser",
    }
)


def is_query(command: str) -> bool:
    """True when the server treats `command` as read-only (it may be sent by GET)."""
    name = command.lower()
    return bool(_QUERY_PATTERN.match(name)) or name in _QUERY_NAMES


def is_credential_name(name: str) -> bool:
    """True when a parameter or field of this name carries a credential."""
    last = name.lower().rsplit(".", 1)[-1]
    return last in CREDENTIAL_NAMES or last.endswith(CREDENTIAL_SUFFIXES)


def without_url_passwords(value: str) -> str:
    """The text with the password of every scheme://user:password@ URL redacted."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}@", value)


# a map parameter in key/value form: details[0].key=password&details[0].value=...
_PAIR_VALUE = re.compile(r"^(?P<map>.+\[\d+\])\.value$", re.IGNORECASE)


def pair_is_credential(name: str, params: Mapping[str, object]) -> bool:
    """True when `name` is the value half of a key/value map entry whose key half names a
    credential (addImageStore, createSecondaryStagingStore and updateZone take `details` in
    this form). A short secret is never found by its value, so it is found by its pair."""
    match = _PAIR_VALUE.match(name)
    if match is None:
        return False
    for half in ("key", "name"):
        for candidate, key in params.items():
            if candidate.lower() == f"{match['map']}.{half}".lower() and isinstance(key, str):
                # a details key: Swift's bare `key` names its credential too
                return is_credential_key(key)
    return False


def meaningful(params: Mapping[str, str]) -> dict[str, str]:
    """The parameters that identify a request: no signing parameters, credentials redacted
    by name, or by the name their key/value pair gives (values are kept exactly otherwise)."""
    out = {}
    for name, value in sorted(params.items()):
        if name.lower() in SIGNING:
            continue
        secret = is_credential_name(name) or pair_is_credential(name, params)
        out[name] = REDACTED if secret else without_url_passwords(str(value))
    return out


def sent_params(request: requests.PreparedRequest) -> dict[str, str]:
    """Every parameter of a request as sent: the query string and a form-encoded body (POST)
    merged; the query wins, as in ApiServlet.processRequestInContext (utf8Fixup)."""
    params: dict[str, str] = {}
    if request.body:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        params.update(parse_qsl(str(body), keep_blank_values=True))
    params.update(parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True))
    return params


def request_params(request: requests.PreparedRequest) -> dict[str, str]:
    """The meaningful parameters of a request, as a recording stores them (plus command);
    the same for a GET query and a POST form."""
    return meaningful(sent_params(request))
