"""Who owns what arrives (issue 16, point 6): party records, ids used on both sides."""

from __future__ import annotations

from pathlib import Path

from tests.exchange.instances import Instance, exchange, introduce, joint_track, send


def _parties(instance: Instance) -> dict[str, tuple[str, str]]:
    return {row["party_id"]: (row["name"], row["tz"]) for row in instance.json("party", "list")}


def test_a_party_record_comes_from_its_own_instance_and_the_import_does_not_fail(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    tm.ok("party", "add", "TM-MFA", "--name", "MFA of Turkmenistan", "--tz", "Asia/Ashgabat")
    tm.ok("party", "add", "AZ-MFA", "--name", "AZ (provisional)", "--tz", "UTC")
    az.ok("party", "add", "AZ-MFA", "--name", "MFA of Azerbaijan", "--tz", "Asia/Baku")
    az.ok("party", "add", "TM-MFA", "--name", "TM (provisional)", "--tz", "UTC")
    joint_track(tm, "t1")
    joint_track(az, "t2")
    for sender, receiver in ((tm, az), (az, tm), (tm, az)):
        path = tmp_path / f"{sender.name}-{sender.events()}.bundle"
        send(sender, receiver, path)
        result = receiver("sync", "import", str(path))
        assert (result.code, result.err) == (0, ""), result
    expected = {
        "TM-MFA": ("MFA of Turkmenistan", "Asia/Ashgabat"),
        "AZ-MFA": ("MFA of Azerbaijan", "Asia/Baku"),
    }
    assert _parties(tm) == _parties(az) == expected


def test_an_id_used_on_both_sides_is_never_merged_silently(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    for instance, venue in ((tm, "Ashgabat"), (az, "Baku")):
        instance.ok("party", "add", "TM-MFA", "--name", "TM", "--tz", "Asia/Ashgabat")
        instance.ok("party", "add", "AZ-MFA", "--name", "AZ", "--tz", "Asia/Baku")
        instance.ok("meeting", "plan", "--id", "talks", "--title", f"Talks in {venue}",
                    "--tz", "Asia/Baku", "--start", "2026-05-14 10:00", "--venue", venue,
                    "--participants", "TM-MFA,AZ-MFA")  # fmt: skip
    send(tm, az, tmp_path / "tm.bundle")
    result = az("sync", "import", str(tmp_path / "tm.bundle"))
    assert result.code == 0, result
    assert result.err == (
        "warning: TM-MFA's meeting-talks is kept in the bundle only: the id is used here already\n"
    )
    assert az.json("meeting", "show", "talks")["meeting"]["venue"] == "Baku"
    assert az.ok("events", "verify").startswith("ok: ")


def _calendars(instance: Instance) -> tuple[dict[str, str | None], list[tuple[str, str, str]]]:
    """Each party's country, and every closure (party, first day, reason)."""
    countries = {row["party_id"]: row["country"] for row in instance.json("party", "list")}
    closures = instance.json("party", "closure", "list")
    return countries, [(c["party_id"], c["first_day"], c["reason"]) for c in closures]


def test_a_partys_country_and_closures_come_from_its_own_instance(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    tm.ok("party", "add", "TM-MFA", "--name", "TM", "--tz", "Asia/Ashgabat", "--country", "TM")
    tm.ok("party", "add", "AZ-MFA", "--name", "AZ (provisional)", "--tz", "UTC")
    tm.ok("party", "amend", "AZ-MFA", "--country", "TR")  # provisional: about to give way
    tm.ok("party", "closure", "add", "AZ-MFA", "--from", "2026-03-20", "--to", "2026-03-24",
          "--reason", "Guessed Novruz")  # fmt: skip
    az.ok("party", "add", "AZ-MFA", "--name", "AZ", "--tz", "Asia/Baku")
    az.ok("party", "amend", "AZ-MFA", "--country", "AZ")
    az.ok("party", "closure", "add", "AZ-MFA", "--from", "2026-05-28", "--to", "2026-05-28",
          "--reason", "Independence Day")  # fmt: skip
    joint_track(tm, "t1")
    joint_track(az, "t2")
    exchange(tm, az, tmp_path)
    exchange(tm, az, tmp_path)
    expected = (
        {"TM-MFA": "TM", "AZ-MFA": "AZ"},
        [("AZ-MFA", "2026-05-28", "Independence Day")],
    )
    assert _calendars(tm) == _calendars(az) == expected

    # The owner's record arrived: only the owner changes it from now on.
    tm.rejected(3, "party: the record of 'AZ-MFA' comes from AZ-MFA", "party", "amend", "AZ-MFA",
                "--country", "TR")  # fmt: skip
    tm.rejected(3, "only AZ-MFA changes it", "party", "closure", "add", "AZ-MFA",
                "--from", "2026-06-01", "--to", "2026-06-01", "--reason", "Guess")  # fmt: skip
    az.ok("party", "closure", "add", "AZ-MFA", "--from", "2026-06-15", "--to", "2026-06-15",
          "--reason", "National Salvation Day")  # fmt: skip
    exchange(az, tm, tmp_path)
    assert _calendars(tm) == _calendars(az)
    assert len(_calendars(tm)[1]) == 2
    assert tm("projections", "rebuild").code == 0  # its progress bar is on stderr
    assert _calendars(tm) == _calendars(az)
