"""Generate large, valid cstool configs for the benchmarks (zones x pods)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def zone(z: int, pods: int) -> dict[str, Any]:
    """One Advanced zone with two physical networks, a public range and `pods` pods."""
    mgmt = [
        {"type": "Management", "labels": {"kvm": "cloudbr0"}},
        {"type": "Storage", "labels": {"kvm": "cloudbr0"}},
    ]
    guest = [
        {"type": "Guest", "labels": {"kvm": "cloudbr1"}},
        {"type": "Public", "labels": {"kvm": "cloudbr1"}},
    ]
    return {
        "name": f"zone{z:03d}",
        "network_type": "Advanced",
        "dns": ["192.0.2.53"],
        "internal_dns": [f"10.{z}.255.53"],
        "physical_networks": [
            {
                "name": "mgmt",
                "isolation": "VLAN",
                "traffic": mgmt,
                "providers": {"VirtualRouter": "enabled"},
            },
            {
                "name": "trunk",
                "isolation": "VLAN",
                "vlan_ranges": ["500-899"],
                "tags": ["guest"],
                "traffic": guest,
                "providers": {"VirtualRouter": "enabled"},
            },
        ],
        "public_ranges": [
            {
                "vlan": 100,
                "gateway": f"100.{64 + z // 250}.{z % 250}.1",
                "netmask": "255.255.255.0",
                "start": f"100.{64 + z // 250}.{z % 250}.10",
                "end": f"100.{64 + z // 250}.{z % 250}.250",
            }
        ],
        "pods": [pod(z, p) for p in range(pods)],
    }


def pod(z: int, p: int) -> dict[str, Any]:
    return {
        "name": f"pod{p:03d}",
        "gateway": f"10.{z}.{p}.1",
        "netmask": "255.255.255.0",
        "management_ranges": [
            {"start": f"10.{z}.{p}.10", "end": f"10.{z}.{p}.40"},
            {"start": f"10.{z}.{p}.50", "end": f"10.{z}.{p}.60"},
        ],
        "storage_ranges": [
            {
                "gateway": f"172.{16 + z % 16}.{p}.1",
                "netmask": "255.255.255.0",
                "start": f"172.{16 + z % 16}.{p}.10",
                "end": f"172.{16 + z % 16}.{p}.90",
                "vlan": 20,
            }
        ],
    }


def write_config(directory: Path, zones: int, pods: int) -> Path:
    """One file per zone plus the settings file; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.yaml").write_text(
        yaml.safe_dump({"settings": {"check.pod.cidrs": True}})
    )
    for z in range(zones):
        text = yaml.safe_dump({"zones": [zone(z, pods)]}, sort_keys=False)
        (directory / f"zone{z:03d}.yaml").write_text(text)
    return directory
