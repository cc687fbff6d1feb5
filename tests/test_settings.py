"""Settings know their scope, type, default and category, in the config checks and in the
simulator, and both follow the server (ConfigurationManagerImpl, searchForConfigurations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cs import CloudStack, CloudStackApiException

from cstool.model import marvin
from cstool.model import settings as catalog
from cstool.simulator import settings as declared
from tests.conftest import ROOT, raw_sim

DATA = json.loads((ROOT / "cstool" / "data" / "settings-4.22.json").read_text())


def _refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(CloudStackApiException) as info:
        call()
    return int(info.value.error["errorcode"]), str(info.value.error["errortext"])


def _zone(cs: CloudStack) -> dict[str, Any]:
    zone = cs.createZone(name="z1", networktype="Advanced", dns1="8.8.8.8", internaldns1="10.0.0.1")
    return dict(zone["zone"])


def _listed(cs: CloudStack, **params: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in cs.listConfigurations(fetch_list=True, **params)}


# --- the catalog ---------------------------------------------------------------------------


def test_catalog_holds_every_setting_of_the_data_file_with_its_scopes() -> None:
    known = catalog.catalog()
    assert len(known) == DATA["counts"]["settings"] == len(DATA["settings"])
    by_scope: dict[str, int] = {}
    for setting in known.values():
        for scope in setting.scopes:
            by_scope[scope] = by_scope.get(scope, 0) + 1
    assert by_scope == DATA["counts"]["by_scope"]
    assert sum(s.hidden for s in known.values()) == DATA["counts"]["hidden"]
    assert sum(s.secure for s in known.values()) == DATA["counts"]["secure"]


@pytest.mark.parametrize(
    ("name", "scopes"),
    [  # Errata E2: legacy Config enum entries are Global only
        ("router.aggregation.command.each.timeout", ("global",)),
        ("vm.network.throttling.rate", ("global",)),
        ("storage.overprovisioning.factor", ("storagepool",)),
        ("system.vm.use.local.storage", ("zone",)),
        ("use.external.dns", ("zone",)),
        ("enable.dynamic.scale.vm", ("zone",)),
    ],
)
def test_scopes_are_the_servers(name: str, scopes: tuple[str, ...]) -> None:
    assert catalog.catalog()[name].scopes == scopes


def test_the_validated_type_is_the_config_enum_type_where_there_is_one() -> None:
    # agent.load.threshold: ConfigKey<Double>, Config.AgentLoadThreshold Float
    setting = catalog.catalog()["agent.load.threshold"]
    assert (setting.type, setting.check_type) == ("Double", "Float")


@pytest.mark.parametrize(
    ("name", "value", "scoped", "ok"),
    [
        ("expunge.delay", "60", False, True),
        ("expunge.delay", "+60", False, True),  # Integer.parseInt takes a sign
        ("expunge.delay", "1_000", False, False),  # Python's int() would take it
        ("expunge.delay", " 60 ", False, True),  # trimmed first
        ("expunge.delay", "2147483648", False, False),
        ("default.page.size", "2147483648", False, True),  # Long
        ("expunge.delay", "", False, False),  # null for a global value: not an Integer
        ("guest.domain.suffix", "", False, True),  # a String may be cleared
        ("network.throttling.rate", "", True, False),
        ("ping.timeout", "1.5f", False, True),  # Float.parseFloat suffix
        ("ping.timeout", "1e39", False, False),  # beyond float: infinite
        ("router.health.checks.free.disk.space.threshold", "1e39", True, True),  # Double
        ("router.health.checks.free.disk.space.threshold", "Infinity", True, False),
        ("use.external.dns", "TRUE", True, True),  # lower-cased before the check
        ("use.external.dns", "yes", True, False),
        ("check.pod.cidrs", "FALSE", False, True),  # Config range, ignoring case
        ("check.pod.cidrs", "no", False, False),
        ("router.extra.public.nics", "5", False, True),
        ("router.extra.public.nics", "6", False, False),
        ("instance.name", "VM-1", False, False),
        ("hypervisor.list", "KVM,VMware", False, True),
        ("hypervisor.list", "KVM,Any", False, False),
    ],
)
def test_values_are_checked_as_the_server_checks_them(
    name: str, value: str, scoped: bool, ok: bool
) -> None:
    problem = catalog.value_problem(catalog.catalog()[name], value, scoped)
    assert (problem is None) == ok, problem


@pytest.mark.parametrize(
    ("name", "value", "scoped", "shown"),
    [
        ("router.health.checks.free.disk.space.threshold", "100", True, "100.0"),
        ("router.health.checks.free.disk.space.threshold", "100", False, "100"),
        ("router.health.checks.free.disk.space.threshold", "0.90", True, "0.9"),
        ("router.health.checks.free.disk.space.threshold", "1e7", True, "1.0E7"),
        ("router.health.checks.free.disk.space.threshold", "0.0001", True, "1.0E-4"),
        ("zone.backupStorage.capacity.notificationthreshold", "0.1", True, "0.1"),  # Float
        ("network.throttling.rate", "007", True, "7"),
        ("network.throttling.rate", "007", False, "007"),
        ("use.external.dns", "True", True, "true"),
        ("check.pod.cidrs", "TRUE", False, "TRUE"),  # a String: kept as written
    ],
)
def test_listed_form_follows_configkey_valueof(
    name: str, value: str, scoped: bool, shown: str
) -> None:
    assert catalog.listed(catalog.catalog()[name], value, scoped) == shown


def test_export_leaves_out_defaults_hidden_secure_and_unknown_settings() -> None:
    assert catalog.export_global("expunge.delay", "60")
    assert not catalog.export_global("expunge.delay", "86400")  # the declared default
    assert not catalog.export_global("alert.smtp.password", "c2VjcmV0")  # Secure
    assert not catalog.export_global("no.such.setting", "1")
    threshold = "router.health.checks.free.disk.space.threshold"
    assert not catalog.export_zone(threshold, "100.0", "100")  # the global value, listed
    assert catalog.export_zone(threshold, "90.0", "100")
    assert not catalog.export_zone("backup.plugin.veeam.password", "x", "")  # Secure


def test_marvin_global_config_skips_what_cstool_cannot_manage() -> None:
    data = {
        "zones": [],
        "globalConfig": [
            {"name": "expunge.delay", "value": "60"},
            {"name": "outofbandmanagement.sync.interval", "value": "300"},
            {"name": "security.hash.key", "value": "x"},
        ],
    }
    converted = marvin.convert(data)
    assert converted.config["settings"] == {"expunge.delay": "60"}
    assert [w for w in converted.warnings if "globalConfig" in w] == [
        "skipped globalConfig outofbandmanagement.sync.interval: CloudStack 4.22 has no such "
        "setting (did you mean 'outofbandmanagement.sync.poolsize'?)",
        "skipped globalConfig security.hash.key: category Hidden, which cstool cannot compare "
        "(set it on the server by hand)",
    ]


# --- the simulator -------------------------------------------------------------------------


def test_simulator_declares_every_setting_and_lists_all_but_hidden_ones() -> None:
    _, cs = raw_sim()
    listed = _listed(cs)
    visible = {n for n, raw in DATA["settings"].items() if raw["category"] != "Hidden"}
    assert set(listed) == visible
    assert len(cs.listConfigurations(page=2, pagesize=500)["configuration"]) == len(visible) - 500
    assert _listed(cs, name="security.hash.key") == {}  # Hidden: never, even by name
    assert listed["expunge.delay"]["value"] == listed["expunge.delay"]["defaultvalue"] == "86400"
    assert listed["expunge.delay"]["type"] == "Number"  # getConfigurationType, not the Java type


def test_zone_listing_has_only_zone_scoped_settings_and_counts_the_page() -> None:
    _, cs = raw_sim()
    zone = _zone(cs)
    answer = cs.listConfigurations(zoneid=zone["id"])
    zoned = {
        n
        for n, raw in DATA["settings"].items()
        if "zone" in raw["scopes"] and raw["category"] != "Hidden"
    }
    assert {c["name"] for c in answer["configuration"]} == zoned
    assert answer["count"] == len(zoned)
    assert {c["scope"] for c in answer["configuration"]} == {"zone"}
    page = cs.listConfigurations(zoneid=zone["id"], page=1, pagesize=10)
    assert page["count"] == 10  # configVOList.size(), not all matches
    threshold = "router.health.checks.free.disk.space.threshold"
    assert _listed(cs, zoneid=zone["id"], name=threshold)[threshold]["value"] == "100.0"
    assert _listed(cs, name=threshold)[threshold]["value"] == "100"


def test_name_filter_is_a_case_insensitive_like() -> None:
    _, cs = raw_sim()
    assert "check.pod.cidrs" in _listed(cs, name="POD.CIDR")
    assert set(_listed(cs, name="expunge.delay")) == {"expunge.delay"}
    assert "expunge.delay" in _listed(cs, name="expunge_delay")  # _ is LIKE's any character


def test_update_refuses_unknown_names_wrong_scopes_and_wrong_types() -> None:
    _, cs = raw_sim()
    zone = _zone(cs)
    assert _refusal(lambda: cs.updateConfiguration(name="no.such", value="1")) == (
        431,
        "Config parameter with name no.such doesn't exist",
    )
    name = "router.aggregation.command.each.timeout"
    assert _refusal(lambda: cs.updateConfiguration(name=name, value="30", zoneid=zone["id"])) == (
        431,
        f"Invalid scope id provided for the parameter {name}",
    )
    assert _refusal(lambda: cs.updateConfiguration(name="expunge.delay", value="soon")) == (
        431,
        "Value [soon] is not a valid [class java.lang.Integer].",
    )
    assert _refusal(lambda: cs.updateConfiguration(name="check.pod.cidrs", value="no")) == (
        431,
        "The provided value is neither a valid value for this configuration (Options are: "
        "[true]) NOR a valid value for this configuration (Options are: [false]).",
    )
    assert _refusal(lambda: cs.updateConfiguration(name="expunge.delay", value="")) == (
        431,
        "Value [null] is not a valid [class java.lang.Integer].",
    )


def test_update_stores_what_the_server_stores_and_lists_it_per_scope() -> None:
    _, cs = raw_sim()
    zone = _zone(cs)
    cs.updateConfiguration(name="use.external.dns", value=" TRUE ", zoneid=zone["id"])
    cs.updateConfiguration(name="network.throttling.rate", value="007", zoneid=zone["id"])
    zoned = _listed(cs, zoneid=zone["id"])
    assert zoned["use.external.dns"]["value"] == "true"
    assert zoned["network.throttling.rate"]["value"] == "7"
    assert _listed(cs)["use.external.dns"]["value"] == "false"  # the global value is untouched
    cs.updateConfiguration(name="network.throttling.rate", value="300")
    assert _listed(cs, zoneid=zone["id"])["network.throttling.rate"]["value"] == "7"


def test_secure_values_are_stored_but_listed_encrypted() -> None:
    _, cs = raw_sim()
    answer = cs.updateConfiguration(name="alert.smtp.password", value="s3cret")["configuration"]
    listed = _listed(cs, name="alert.smtp.password")["alert.smtp.password"]
    assert answer["value"] == listed["value"] == declared.encrypted("s3cret") != "s3cret"
    cs.updateConfiguration(name="alert.smtp.password", value="other")
    again = _listed(cs, name="alert.smtp.password")["alert.smtp.password"]["value"]
    assert again not in (listed["value"], "other")


def test_reset_returns_to_the_global_value_or_the_default() -> None:
    _, cs = raw_sim()
    zone = _zone(cs)
    cs.updateConfiguration(name="network.throttling.rate", value="300")
    cs.updateConfiguration(name="network.throttling.rate", value="700", zoneid=zone["id"])
    reset = cs.resetConfiguration(name="network.throttling.rate", zoneid=zone["id"])
    assert (reset["configuration"]["value"], reset["configuration"]["scope"]) == ("300", "Zone")
    assert _listed(cs, zoneid=zone["id"])["network.throttling.rate"]["value"] == "300"
    assert cs.resetConfiguration(name="network.throttling.rate")["configuration"]["value"] == "200"
    code, _ = _refusal(lambda: cs.resetConfiguration(name="expunge.delay", zoneid=zone["id"]))
    assert code == 431


def test_state_file_keeps_only_changed_values(tmp_path: Path) -> None:
    sim, cs = raw_sim(tmp_path)
    zone = _zone(cs)
    cs.updateConfiguration(name="expunge.delay", value="60")
    cs.updateConfiguration(name="use.external.dns", value="true", zoneid=zone["id"])
    sim.store.flush()
    tables = json.loads((tmp_path / "sim.json").read_text())["tables"]
    assert list(tables["globalconfig"]) == ["expunge.delay"]
    assert [r["name"] for r in tables["zoneconfig"].values()] == ["use.external.dns"]


SAMPLES = ("true", "TRUE", "no", "", " 7 ", "+7", "-1", "1.5", "1e39", "NaN", "x-y", "0x1p3")


# settings that change how the simulator itself answers (paging, POST, ports)
OWN_BEHAVIOUR = {
    "default.page.size",
    "enforce.post.requests.and.timestamps",
    "integration.api.port",
}


def _kinds_of_check() -> list[str]:
    """One setting for each way the server checks a value (type, range, weight, name)."""
    seen: dict[tuple[Any, ...], str] = {}
    for name, s in sorted(catalog.catalog().items()):
        if s.comparable and name not in OWN_BEHAVIOUR:
            suffix = name.rsplit(".", 1)[-1]
            address = suffix if suffix in ("ip", "ipaddress", "iprange") else ""
            key = (s.check_type, s.options, s.weight, "zone" in s.scopes, address, s.config_key)
            seen.setdefault(key, name)
    return sorted({*seen.values(), *catalog.RESTRICTED})


def test_config_checks_and_simulator_agree_on_values() -> None:
    """cstool validate and the simulator are two descriptions of the server's checks: they
    accept the same values, globally and for a zone, and expect the same listed form."""
    disagree = []
    for name in _kinds_of_check():
        _, cs = raw_sim()
        zone = _zone(cs)
        setting = catalog.catalog()[name]
        scopes = [None, zone["id"]] if "zone" in setting.scopes else [None]
        for zoneid, value in ((z, v) for z in scopes for v in SAMPLES):
            problem = catalog.value_problem(setting, value, scoped=zoneid is not None)
            params = {"zoneid": zoneid} if zoneid else {}
            try:
                cs.updateConfiguration(name=name, value=value, **params)
            except CloudStackApiException:
                if problem is None:
                    disagree.append((name, zoneid, value, "refused"))
                continue
            if problem is not None:
                disagree.append((name, zoneid, value, problem))
            shown = _listed(cs, name=name, **params)[name].get("value", "")
            if shown != catalog.listed(setting, value, scoped=zoneid is not None):
                disagree.append((name, zoneid, value, shown))
    assert disagree == []
