"""Secrets by reference in the model: what is accepted, and that no message ever carries a
value that was written where a reference belongs."""

from __future__ import annotations

import pytest

from cstool.model import details as dt
from cstool.model import secrets
from cstool.model.loader import load_text
from cstool.model.secrets import SecretRef, SecretUrl

# assembled at run time so that no secret-looking literal sits in the source
VALUE = "".join(["Wq7", "-zz", "Pa55", "-", "9xK"])


def test_references_parse_and_print_as_references() -> None:
    ref = secrets.parse({"env": "KVM_PASSWORD"})
    assert ref == SecretRef("env", "KVM_PASSWORD")
    assert str(ref) == "{env: KVM_PASSWORD}"
    assert ref.to_json() == {"secret": {"env": "KVM_PASSWORD"}}
    assert secrets.from_json(ref.to_json()) == ref
    assert secrets.parse({"file": "/run/secrets/x"}).warning() is None
    assert "relative path" in (secrets.parse({"file": "x.txt"}).warning() or "")


def test_secret_urls_show_the_reference_and_send_the_value() -> None:
    url = SecretUrl("rbd://admin@mon.example/pool", SecretRef("env", "CEPH_KEY"))
    assert str(url) == "rbd://admin:{env: CEPH_KEY}@mon.example/pool"
    assert url.with_value(VALUE) == f"rbd://admin:{VALUE}@mon.example/pool"
    assert secrets.from_json(url.to_json()) == url
    assert secrets.refs_in({"url": url, "details[0].value": SecretRef("file", "/k")}) == [
        SecretRef("env", "CEPH_KEY"),
        SecretRef("file", "/k"),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        VALUE,
        {"env": VALUE},  # not a variable name: perhaps the value itself
        {"env": "A", "file": VALUE},
        {"value": VALUE},
        {"file": ""},
        [VALUE],
    ],
)
def test_no_refusal_contains_the_value(raw: object) -> None:
    with pytest.raises(ValueError) as caught:
        secrets.parse(raw)
    assert VALUE not in str(caught.value)
    assert "{env: NAME}" in str(caught.value) or "environment variable" in str(caught.value)


@pytest.mark.parametrize("key", ["password", "secretkey", "accesskey", "key", "api_key"])
def test_credential_details_take_only_references(key: str) -> None:
    with pytest.raises(ValueError) as caught:
        dt.parse({key: VALUE})
    assert VALUE not in str(caught.value) and key in str(caught.value)
    assert dt.parse({key: {"env": "S3_KEY"}}) == {key: SecretRef("env", "S3_KEY")}
    assert dt.parse({"bucket": "templates"}) == {"bucket": "templates"}


def test_dt_read_drops_credential_details() -> None:
    assert dt.read({"user": "u", "password": VALUE, "nfsmountopts": "vers=3"}) == {
        "user": "u",
        "nfsmountopts": "vers=3",
    }


CONFIGS = {
    "host password": """
        clusters:
          - name: c1
            hypervisor: KVM
            hosts: [{url: "http://10.10.1.101", username: root, password: PW}]
""",
    "pool url": """
        clusters:
          - name: c1
            hypervisor: KVM
            primary_storage: [{name: ps, url: "rbd://admin:PW@mon/pool"}]
""",
    "store details": """
        clusters: []
""",
}
ZONE = """zones:
  - name: z1
    network_type: Advanced
    dns: [192.0.2.53]
    internal_dns: [10.0.0.53]
    {extra}
    pods:
      - name: p1
        gateway: 10.10.1.1
        netmask: 255.255.255.0
{pod}"""


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_no_load_error_contains_a_literal_secret(case: str) -> None:
    extra = (
        'secondary_storage: [{name: s, url: "nfs://h/p", details: {password: PW}}]'
        if case == "store details"
        else "local_storage: false"
    )
    text = ZONE.format(extra=extra, pod=CONFIGS[case]).replace("PW", VALUE)
    _, problems = load_text(text, "c.yaml")
    errors = [p for p in problems if not p.warning]
    assert errors, case
    for problem in errors:
        assert VALUE not in problem.message and VALUE not in str(problem)
        assert "{env: NAME}" in problem.message
