"""Peers (issue 16, point 2): registered, listed and removed as events."""

from __future__ import annotations

import pytest

from consultations.adapters.eventlog import SqlEventLog
from consultations.domain.events import PeerAdded, PeerRemoved
from tests.exchange.instances import Instance


def _identities(tm: Instance, az: Instance) -> tuple[str, str]:
    tm.ok("identity", "init", "--party", "TM-MFA")
    az.ok("identity", "init", "--party", "AZ-MFA")
    return tm.json("identity", "show")["public_key"], az.json("identity", "show")["public_key"]


def test_add_list_and_remove_a_peer(
    tm: Instance, az: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, az_key = _identities(tm, az)
    url = "https://consultations.mfa.gov.az"
    out = tm.ok("peer", "add", "AZ-MFA", "--key", az_key, "--url", url + "/")
    fingerprint = az.json("identity", "show")["fingerprint"]
    assert out == f"AZ-MFA: added, key {fingerprint}\n"
    (listed,) = tm.json("peer", "list")
    assert {k: listed[k] for k in ("peer_id", "status", "url", "public_key", "fingerprint")} == {
        "peer_id": "AZ-MFA",
        "status": "active",
        "url": url,
        "public_key": az_key,
        "fingerprint": fingerprint,
    }
    monkeypatch.setenv("COLUMNS", "80")
    table = tm.ok("peer", "list").splitlines()
    assert max(map(len, table)) <= 80
    assert any(line.startswith("│ AZ-MFA ") and az_key.split("+")[1] in line for line in table)

    tm.ok("peer", "remove", "AZ-MFA", "--reason", "reinstalled")
    assert tm.json("peer", "list")[0]["status"] == "removed"
    new_key = az.json("identity", "show")["public_key"]
    tm.ok("peer", "add", "AZ-MFA", "--key", new_key)
    events = [e.event for e in SqlEventLog(tm.engine).read_stream("peer-AZ-MFA")]
    assert events == [
        PeerAdded("AZ-MFA", az_key, url),
        PeerRemoved("AZ-MFA", "reinstalled"),
        PeerAdded("AZ-MFA", new_key, None),
    ]
    assert tm.json("peer", "list")[0]["status"] == "active"
    assert tm("projections", "rebuild").code == 0
    assert tm.json("peer", "list")[0]["status"] == "active"


def test_refusals_append_nothing(tm: Instance, az: Instance) -> None:
    tm_key, az_key = _identities(tm, az)
    tm.rejected(3, "party: TM-MFA is the party this instance speaks for",
                "peer", "add", "TM-MFA", "--key", tm_key)  # fmt: skip
    tm.rejected(2, "key: the key names 'AZ-MFA', not 'KZ-MFA'",
                "peer", "add", "KZ-MFA", "--key", az_key)  # fmt: skip
    tm.rejected(2, "key: 'AZ-MFA' is not a public key", "peer", "add", "AZ-MFA", "--key", "AZ-MFA")
    tm.rejected(2, "url: 'ftp://x' is not an http:// or https:// URL",
                "peer", "add", "AZ-MFA", "--key", az_key, "--url", "ftp://x")  # fmt: skip
    tm.rejected(4, "peer: no peer 'AZ-MFA'", "peer", "remove", "AZ-MFA")
    tm.ok("peer", "add", "AZ-MFA", "--key", az_key)
    tm.rejected(3, "party: AZ-MFA is a peer already", "peer", "add", "AZ-MFA", "--key", az_key)
    tm.rejected(4, "did you mean 'AZ-MFA'?", "peer", "remove", "AZ-MF")
    tm.ok("peer", "remove", "AZ-MFA")
    tm.rejected(3, "party: AZ-MFA was removed already", "peer", "remove", "AZ-MFA")
