"""Offline rules of compute and storage: every rule fires on its invalid case
(tests/data/configs/invalid/infra-*.yaml, whose exact lines test_validate checks) and stays
silent on a Marvin-style zone (tests/data/configs/valid/infra-zone.yaml)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from cstool import ops
from cstool.errors import Problem
from cstool.model import validate
from cstool.model.resources import Key, State
from tests.conftest import DATA

INVALID = DATA / "configs" / "invalid"
VALID = DATA / "configs" / "valid"


def _state(base: Path, name: str) -> State:
    here = os.getcwd()
    os.chdir(base)
    try:
        return ops.check_config([name]).state
    finally:
        os.chdir(here)


def _fired(state: State, rule: validate.Rule) -> list[Problem]:
    return list(rule(state))


@pytest.fixture(scope="module")
def invalid() -> list[State]:
    return [_state(INVALID, p.name) for p in sorted(INVALID.glob("infra-*.yaml"))]


@pytest.fixture(scope="module")
def valid() -> State:
    return _state(VALID, "infra-zone.yaml")


@pytest.mark.parametrize("rule", validate.INFRA_RULES, ids=lambda r: r.__name__)
def test_every_rule_has_an_invalid_case(rule: validate.Rule, invalid: list[State]) -> None:
    assert any(_fired(s, rule) for s in invalid), f"no infra-*.yaml case triggers {rule.__name__}"


@pytest.mark.parametrize("rule", validate.INFRA_RULES, ids=lambda r: r.__name__)
def test_no_rule_fires_on_a_marvin_style_zone(rule: validate.Rule, valid: State) -> None:
    assert _fired(valid, rule) == []


def test_the_marvin_style_zone_has_every_infra_kind(valid: State) -> None:
    """So that the rules above really looked at each kind."""
    kinds = {k.kind for k in valid}
    assert kinds >= {
        "cluster",
        "cluster_setting",
        "host",
        "primary_storage",
        "zone_primary_storage",
        "image_store",
        "staging_store",
        "zone_detail",
    }


def test_a_zone_with_hosts_and_no_storage_is_warned_about(valid: State) -> None:
    bare = State(
        {k: r for k, r in valid.items() if "storage" not in k.kind and "store" not in k.kind}
    )
    found = [str(p) for p in validate.compute_needs_storage(bare)]
    assert len(found) == 2 and all(": warning: " in p for p in found)
    assert "no primary storage" in found[0] and "no secondary storage" in found[1]


def test_one_provider_for_all_image_stores_but_staging_stores_do_not_count(valid: State) -> None:
    """StorageManagerImpl:3938-3944 excludes ImageCache stores from the one-provider check."""
    assert list(validate.image_stores(valid)) == []  # NFS image store beside an NFS cache


def test_a_secret_written_as_a_value_is_refused_without_the_value() -> None:
    """Rule 14: credential-named details, a URL's password, a host password and a zone
    detail named like a credential are errors whose messages never hold the value."""
    found = []
    for case in ("infra-secrets", "infra-hosts"):
        here = os.getcwd()
        os.chdir(INVALID)
        try:
            found += [str(p) for p in ops.check_config([f"{case}.yaml"]).problems]
        finally:
            os.chdir(here)
    text = "\n".join(found)
    assert text.count("a literal secret is not allowed here") == 4
    assert "zone detail 'z1/api.password': a credential" in text
    for value in ("plainsecretvalue", "plainurlvalue", "plainhostvalue", "plainpoolvalue"):
        assert value not in text
    assert "plainvalue-never-shown" not in text


def test_cluster_names_compare_without_case_but_other_clusters_may_share_a_host_name(
    valid: State,
) -> None:
    """Per parent only: the same host name in two clusters is two hosts."""
    assert list(validate.infra_names_without_case(valid)) == []
    hosts = [k for k in valid if k.kind == "host"]
    renamed = State(dict(valid.items()))
    first = valid[hosts[0]]
    other = Key("host", (*hosts[0].path[:2], "another-cluster", first.key.path[-1].upper()))
    renamed.add(replace(first, key=other))
    assert list(validate.infra_names_without_case(renamed)) == []
