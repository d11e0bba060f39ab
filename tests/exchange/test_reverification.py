"""`events verify` checks the bundles accepted from peers again: signatures and entries."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from consultations.adapters.signing import SigningKey
from consultations.bootstrap import bootstrap
from consultations.domain.events import BundleAccepted, PeerAdded, PeerRemoved
from consultations.domain.exchange import GENESIS, Checkpoint, Header, chain, origin_line
from consultations.service_layer.sync import verify_received
from consultations.settings import Settings
from tests.cli.runner import run_cli

ENTRIES = ('{"seq":1}', '{"seq":2}')


def accepted(key: SigningKey, entries: tuple[str, ...], position: int = 5) -> BundleAccepted:
    checkpoint = Checkpoint(
        origin_line("AZ-MFA", "TM-MFA"), 2, chain(GENESIS, ENTRIES), position, bytes(32)
    )
    header = Header("AZ-MFA", "TM-MFA", 1, 2, (), 0, GENESIS).text()
    return BundleAccepted("AZ-MFA", header, key.sign_note(checkpoint.text()), entries, 0, ())


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_stored_checkpoints_are_verified_with_the_keys_of_their_time(
    migrated_engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = bootstrap(Settings.load(database_url, environ={}))
    store = app.store  # projected: `events verify` finds the peers in the read models
    first, second = SigningKey.generate("AZ-MFA"), SigningKey.generate("AZ-MFA")
    store.append("peer-AZ-MFA", 0, [PeerAdded("AZ-MFA", first.verifier_key.text, None)])
    store.append("received-AZ-MFA", 0, [accepted(first, ENTRIES)])
    assert verify_received(store, ["AZ-MFA"]) == []
    # Registered again with another key: what was accepted before still verifies.
    store.append(
        "peer-AZ-MFA", 1,
        [PeerRemoved("AZ-MFA", None), PeerAdded("AZ-MFA", second.verifier_key.text, None)],
    )  # fmt: skip
    assert verify_received(store, ["AZ-MFA"]) == []
    # Kept entries that do not chain to the checkpoint, and a signature by the old key.
    store.append("received-AZ-MFA", 1, [accepted(second, ('{"seq":3}',))])
    store.append("received-AZ-MFA", 2, [accepted(first, ())])
    assert verify_received(store, ["AZ-MFA"]) == [
        "AZ-MFA's bundle accepted at position 5: the entries kept do not match its checkpoint",
        "AZ-MFA's bundle accepted at position 6: its checkpoint signature does not verify",
    ]
    result = run_cli(capsys, database_url, "events", "verify")
    assert result.code == 5
    assert result.err.startswith("error: AZ-MFA's bundle accepted at position 5: the entries")
    app.close()
