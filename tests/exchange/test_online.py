"""Online as well as by file (issue 16, point 5): a peer's signed pull under /sync/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from consultations.adapters.signing import SigningKey
from consultations.bootstrap import bootstrap
from consultations.domain.exchange import PULL_PATH
from consultations.service_layer.sync import pull_headers
from consultations.settings import Settings
from tests.exchange.instances import Instance, Serving, introduce, joint_track


@pytest.fixture
def tm_serves(tm: Instance) -> Iterator[str]:
    """TM-MFA's `serve` on a free port (its key file beside its database); its base URL."""
    app = bootstrap(Settings.load(tm.url, environ={}))
    serving = Serving(app)
    yield serving.url
    serving.close()
    app.close()


@pytest.fixture
def joint(tm: Instance, az: Instance, tm_serves: str) -> str:
    """TM-MFA serves a joint track and a meeting; AZ-MFA knows where: the pull URL."""
    introduce(tm, az, urls={"TM-MFA": tm_serves})
    joint_track(tm)
    tm.ok("meeting", "plan", "--track", "t", "--id", "m1", "--title", "Talks",
          "--start", "2026-05-14 10:00")  # fmt: skip
    return tm_serves + PULL_PATH


def test_sync_pull_fetches_and_imports_the_peers_bundle(
    tm: Instance, az: Instance, joint: str
) -> None:
    out = az.ok("sync", "pull", "--peer", "TM-MFA").splitlines()
    assert out[0].startswith("TM-MFA: accepted entries 1–3 (3 applied)")
    assert out[1].startswith("TM-MFA: in agreement as of ")
    assert [row["meeting_id"] for row in az.json("schedule", "--all")] == ["m1"]
    assert az.ok("sync", "pull", "--peer", "TM-MFA").startswith("TM-MFA: nothing new")
    tm.rejected(3, "peer: AZ-MFA has no URL", "sync", "pull", "--peer", "AZ-MFA")


def _signed(
    az: Instance,
    url: str,
    *,
    at: datetime,
    key: SigningKey | None = None,
    receiver: str = "TM-MFA",
) -> dict[str, str]:
    signer = key or SigningKey.load(az.key_file, "AZ-MFA")
    return pull_headers(signer, party="AZ-MFA", receiver=receiver, method="POST",
                        path=PULL_PATH, body=b"", now=at)  # fmt: skip


def test_a_pull_that_is_not_the_peers_or_not_now_or_again_is_refused(
    tm: Instance, az: Instance, joint: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)  # the server's clock is the real one: so is the request's
    before = tm.events()
    stranger = pull_headers(SigningKey.generate("KZ-MFA"), party="KZ-MFA", receiver="TM-MFA",
                            method="POST",
                            path=PULL_PATH, body=b"", now=now)  # fmt: skip
    impostor = _signed(az, joint, at=now, key=SigningKey.generate("AZ-MFA"))
    stale = _signed(az, joint, at=now - timedelta(minutes=10))
    # Until the signature verifies, every refusal gives the same reason: it tells nobody
    # which parties are registered peers (the log says what went wrong).
    unauthenticated = "not a signed pull of a registered peer"
    refusals = [
        (stranger, unauthenticated, "KZ-MFA is not a registered peer"),
        (impostor, unauthenticated, "the signature is not AZ-MFA's"),
        ({"Consultations-Peer": "NOPE"}, unauthenticated, "NOPE is not a registered peer"),
        (
            {"Consultations-Peer": "AZ-MFA"},
            unauthenticated,
            "the timestamp is missing or not a number",
        ),
        (
            {**_signed(az, joint, at=now), "Consultations-Timestamp": "x"},
            unauthenticated,
            "the timestamp is missing or not a number",
        ),
        (stale, "the timestamp is outside the clock window", None),
    ]
    for headers, reason, logged in refusals:
        caplog.clear()
        response = httpx.post(joint, headers=headers)
        assert (response.status_code, response.text) == (401, f"{reason}\n")
        assert f"sync pull refused: {logged or reason}" in caplog.text
    assert tm.events() == before, "a refused pull must write nothing"
    good = _signed(az, joint, at=now)
    first = httpx.post(joint, headers=good)
    assert first.status_code == 200
    assert first.text.startswith("consultations-bundle/1\n")
    written = tm.events()
    again = httpx.post(joint, headers=good)
    assert (again.status_code, again.text) == (
        401,
        "this request was answered already (a replay)\n",
    )
    assert tm.events() == written
    assert httpx.post(joint, headers=good, content=b"x").status_code == 401  # the body is signed


def test_a_pull_signed_for_another_instance_is_refused(
    tm: Instance, az: Instance, joint: str
) -> None:
    # AZ-MFA's pull from UZ-MFA's instance, replayed to TM-MFA's within the window.
    before = tm.events()
    for_uz = _signed(az, joint, at=datetime.now(UTC), receiver="UZ-MFA")
    response = httpx.post(joint, headers=for_uz)
    assert response.status_code == 401
    assert tm.events() == before


def test_a_pull_with_a_large_body_is_refused_unread(tm: Instance, az: Instance, joint: str) -> None:
    before = tm.events()
    response = httpx.post(joint, headers=_signed(az, joint, at=datetime.now(UTC)),
                          content=b"x" * (64 * 1024 + 1))  # fmt: skip
    assert (response.status_code, response.text) == (413, "the request body is too large\n")
    assert tm.events() == before


def test_the_daemon_pulls_every_peer_with_a_url(
    tm: Instance, az: Instance, joint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSULTATIONS_SYNC_INTERVAL", "PT5M")
    out = az.ok("daemon", "--once")
    assert "sync: pulled TM-MFA, entries up to 3 accepted" in out
    assert [row["meeting_id"] for row in az.json("schedule", "--all")] == ["m1"]
