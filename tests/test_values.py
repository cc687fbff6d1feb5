"""The value parsers' fast paths agree with the standard library on every text."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from cstool.model.values import ipv4, netmask

OCTET = st.one_of(
    st.integers(0, 300).map(str),
    st.text("0123456789", min_size=0, max_size=4),
    st.sampled_from(["00", "01", "+1", "-1", " 1", "١", "²", "0x1", "1e2"]),
)
ADDRESS = st.lists(OCTET, min_size=1, max_size=6).map(".".join)


def _reference(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        return None


@settings(max_examples=2000, derandomize=True, database=None, deadline=None)
@given(ADDRESS)
def test_ipv4_reads_every_text_as_ipaddress_does(text: str) -> None:
    try:
        mine: str | None = ipv4(text)
    except ValueError:
        mine = None
    assert mine == _reference(text)


def test_netmask_answers_alike_when_asked_again() -> None:
    assert netmask("/24") == netmask(24) == netmask("255.255.255.0") == "255.255.255.0"
    for bad in ("0", "255.0.255.0", "0.0.0.255", "/31"):
        for _ in range(2):  # the cached answer is the error again, not a value
            try:
                netmask(bad)
            except ValueError:
                continue
            raise AssertionError(f"{bad} accepted")
