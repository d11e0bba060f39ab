"""Two instances under random commands and random exchanges end with one joint schedule.

A hypothesis state machine plans, reschedules, cancels and records meetings held on both
sides (`meeting held` on the side that does not convene a meeting records its own
minutes), proposes, accepts and declines, amends the joint track or proposes amendments of
it and settles them, and tries changes the convener and creator rules refuse; bundles are
written at random moments and delivered late, out of order, twice, or never, and each side
pulls the other's over HTTP (signed, answered by the other's server). After a final
exchange both ways, the joint schedules, the track, the proposals, the amendments and the
minutes are the same on both sides, `sync status` says they agree, and both logs verify.
The clock is fixed: no draw depends on it.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from consultations.adapters import migrations
from consultations.bootstrap import Application, bootstrap
from consultations.domain.commands import (
    AddPeer,
    AddTrack,
    AmendTrack,
    CancelMeeting,
    DeclineAmendment,
    DeclineProposal,
    PlanMeeting,
    RecordMeetingHeld,
    RegisterParty,
    RescheduleMeeting,
)
from consultations.domain.errors import InvalidInput, NotAllowed
from consultations.service_layer.identity import init_identity
from consultations.service_layer.meeting_proposals import accept, propose
from consultations.service_layer.minutes import record_held
from consultations.service_layer.services import Provenance
from consultations.service_layer.sync import exchange_status, export_bundle, import_bundle, pull
from consultations.service_layer.track_amendments import accept as accept_amendment
from consultations.service_layer.track_amendments import propose as propose_amendment
from consultations.settings import Settings
from tests.exchange.instances import Serving

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)
FIRST_DAY = date(2026, 5, 1)
SIDES = ("TM-MFA", "AZ-MFA")
ZONES = {"TM-MFA": "Asia/Ashgabat", "AZ-MFA": "Asia/Baku"}
WHO = Provenance(actor="machine")
LOCAL = {"created_at", "last_modified", "last_position", "version", "reminders"}
DAYS = st.integers(0, 60)


class Side:
    """One instance: its application, key file, and the bundles it wrote."""

    def __init__(self, party: str, url: str, folder: Path) -> None:
        self.party = party
        self.key_file = folder / f"{party}.key"
        settings = Settings.load(url, environ={"CONSULTATIONS_IDENTITY_KEY": str(self.key_file)})
        self.app: Application = bootstrap(settings, clock=lambda: NOW)
        migrations.upgrade(self.app.engine)
        self.public_key = init_identity(self.app.commands, self.key_file, party, WHO).public_key
        self.serving = Serving(self.app)  # its `serve`, which the other side pulls from
        self.planned = 0
        self.proposals = 0

    def run(self, command: Any) -> None:
        self.app.commands.execute(command, WHO)

    def joint_schedule(self) -> list[dict[str, Any]]:
        rows = self.app.read_models.schedule()
        return sorted(({k: v for k, v in r.items() if k not in LOCAL} for r in rows),
                      key=lambda r: r["meeting_id"])  # fmt: skip

    def minutes_now(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "recorded_at"}
                for row in self.app.read_models.minutes()]  # fmt: skip

    def proposals_now(self) -> list[tuple[str, str, str | None]]:
        rows = self.app.read_models.proposals()
        return sorted((r["proposal_id"], r["status"], r["decision_reason"]) for r in rows)

    def track(self) -> dict[str, Any]:
        (row,) = self.app.read_models.tracks()
        return {k: v for k, v in row.items() if k not in LOCAL}

    def amendments_now(self) -> list[tuple[str, str, str | None, str]]:
        rows = self.app.read_models.amendments()
        return sorted(
            (r["amendment_id"], r["status"], r["decision_reason"], str(r["changes"])) for r in rows
        )


class Exchange(RuleBasedStateMachine):
    """TM-MFA and AZ-MFA, each convening its own meetings in a joint track of TM-MFA's."""

    urls: Callable[[], tuple[str, str]]  # set by each test: two fresh databases

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="exchange-machine-"))
        tm_url, az_url = self.urls()
        self.sides = {"TM-MFA": Side("TM-MFA", tm_url, self.folder),
                      "AZ-MFA": Side("AZ-MFA", az_url, self.folder)}  # fmt: skip
        self.in_transit: list[tuple[str, bytes]] = []  # (receiver, bundle)
        self.meetings: dict[str, str] = {}  # meeting id -> its convener
        self.minutes: set[tuple[str, str]] = set()  # (meeting id, party) recorded

    @initialize()
    def introduce(self) -> None:
        for side in self.sides.values():
            other = self.other(side.party)
            side.run(
                AddPeer(peer_id=other.party, public_key=other.public_key, url=other.serving.url)
            )
            side.run(RegisterParty(party_id=side.party, name=side.party, tz=ZONES[side.party]))
        tm = self.sides["TM-MFA"]
        tm.run(RegisterParty(party_id="AZ-MFA", name="AZ (provisional)", tz="UTC"))
        tm.run(AddTrack(track_id="joint", title="Joint talks", kind="consultation",
                        cadence="quarter", start=date(2026, 1, 1), tz="Asia/Baku",
                        parties=SIDES))  # fmt: skip
        self.deliver_everything("TM-MFA")

    def other(self, party: str) -> Side:
        return self.sides[SIDES[1 - SIDES.index(party)]]

    def export(self, party: str) -> bytes:
        side = self.sides[party]
        peer = self.other(party).party
        text = export_bundle(side.app.commands, side.app.read_models, side.key_file, peer, WHO).text
        return text.encode()

    def deliver_everything(self, first: str) -> None:
        for party in (first, self.other(first).party, first):
            import_bundle(self.other(party).app.commands, self.export(party), WHO)

    # -- commands -------------------------------------------------------------------------

    @rule(party=st.sampled_from(SIDES), day=DAYS)
    def plan(self, party: str, day: int) -> None:
        side = self.sides[party]
        side.planned += 1
        meeting_id = f"{party}-{side.planned}"
        start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time()).replace(
            hour=10
        )
        side.run(PlanMeeting(meeting_id=meeting_id, title=f"Talks {meeting_id}",
                             track_id="joint", start=start))  # fmt: skip
        self.meetings[meeting_id] = party

    @precondition(lambda self: self.meetings)
    @rule(data=st.data(), party=st.sampled_from(SIDES), day=DAYS,
          change=st.sampled_from(["reschedule", "cancel", "held"]))  # fmt: skip
    def change(self, data: st.DataObject, party: str, day: int, change: str) -> None:
        meeting_id = data.draw(st.sampled_from(sorted(self.meetings)), label="meeting")
        side = self.sides[party]
        if side.app.read_models.meeting(meeting_id) is None:
            return  # not received here yet
        start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time()).replace(
            hour=11
        )
        command = {
            "reschedule": RescheduleMeeting(meeting_id=meeting_id, start=start),
            "cancel": CancelMeeting(meeting_id=meeting_id, reason="postponed"),
            "held": RecordMeetingHeld(meeting_id=meeting_id),
        }[change]
        convener = self.meetings[meeting_id]
        refused = _refusal(lambda: side.run(command))
        if convener != party:
            assert refused is not None, "a change of another party's meeting was accepted"
            assert f"convened by {convener}; use `meeting propose`" in refused
        elif refused is not None:  # the convener's own meeting, already held or cancelled
            assert "cannot be" in refused, refused

    @precondition(lambda self: self.meetings)
    @rule(data=st.data(), party=st.sampled_from(SIDES), attended=st.booleans())
    def held(self, data: st.DataObject, party: str, attended: bool) -> None:
        """`meeting held`: the convener records the meeting held, the other side its minutes."""
        side = self.sides[party]
        here = {row["meeting_id"]: row for row in side.app.read_models.schedule()}
        if not here:
            return  # none received here yet
        meeting_id = data.draw(st.sampled_from(sorted(here)), label="meeting")
        shown = here[meeting_id]
        command = RecordMeetingHeld(meeting_id=meeting_id, attendance=SIDES if attended else (),
                                    outcomes=(f"noted by {party}",))  # fmt: skip
        refused = _refusal(lambda: record_held(side.app.commands, command, WHO))
        if self.meetings[meeting_id] == party:
            assert refused is None or "cannot be" in refused, refused
        elif shown["status"] == "cancelled":  # as far as this side knows
            assert "cannot be minuted" in (refused or ""), refused
        elif (meeting_id, party) in self.minutes:
            assert "were recorded already" in (refused or ""), refused
        else:
            assert refused is None, refused
            self.minutes.add((meeting_id, party))

    @precondition(lambda self: self.meetings)
    @rule(data=st.data(), party=st.sampled_from(SIDES), day=DAYS)
    def propose(self, data: st.DataObject, party: str, day: int) -> None:
        meeting_id = data.draw(st.sampled_from(sorted(self.meetings)), label="meeting")
        side = self.sides[party]
        if self.meetings[meeting_id] == party or side.app.read_models.meeting(meeting_id) is None:
            return
        start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time()).replace(
            hour=9
        )
        refused = _refusal(
            lambda: propose(side.app.commands, side.app.read_models, meeting_id, start=start,
                            reason="another day", provenance=WHO)
        )  # fmt: skip
        # Refused only when the meeting was held or cancelled, or is at that time already.
        assert refused is None or "cannot be" in refused or "at that time" in refused, refused

    @rule(data=st.data(), party=st.sampled_from(SIDES), accepting=st.booleans())
    def settle(self, data: st.DataObject, party: str, accepting: bool) -> None:
        side = self.sides[party]
        open_here = [p for p in side.app.read_models.proposals() if p["status"] == "open"]
        if not open_here:
            return
        proposal = data.draw(st.sampled_from(open_here), label="proposal")
        mine = self.meetings[proposal["meeting_id"]] == party
        meeting_id, proposal_id = proposal["meeting_id"], proposal["proposal_id"]
        refused = _refusal(
            (lambda: accept(side.app.commands, meeting_id, proposal_id, WHO))
            if accepting
            else (lambda: side.run(DeclineProposal(proposal_id=proposal_id, meeting_id=meeting_id,
                                                   reason="no")))
        )  # fmt: skip
        if not mine:
            assert refused is not None, "a proposal was settled elsewhere than at the convener"
            assert "it settles proposals" in refused, refused
        elif refused is not None:  # accepted: the meeting was held or cancelled meanwhile
            assert "cannot be" in refused, refused

    @rule(party=st.sampled_from(SIDES), required=st.integers(1, 3), propose=st.booleans())
    def amend_track(self, party: str, required: int, propose: bool) -> None:
        side = self.sides[party]
        title = f"Joint talks ({required} a quarter)"
        change = AmendTrack(track_id="joint", title=title, required=required)
        if propose:
            refused = _refusal(
                lambda: propose_amendment(side.app.commands, side.app.read_models, "joint",
                                          amendment=change, reason="busier", provenance=WHO)
            )  # fmt: skip
            if party == "TM-MFA":
                assert refused is not None
                assert "was added here" in refused, refused
            else:  # refused only when the track has these values already
                assert refused is None or "has these values already" in refused, refused
            return
        unchanged = (side.track()["title"], side.track()["required"]) == (title, required)
        refused = _refusal(lambda: side.run(change))
        if party == "TM-MFA" or unchanged:  # a change of nothing is anyone's
            assert refused is None, refused
        else:
            assert refused is not None
            assert "only TM-MFA changes it" in refused, refused

    @rule(data=st.data(), party=st.sampled_from(SIDES), accepting=st.booleans())
    def settle_amendment(self, data: st.DataObject, party: str, accepting: bool) -> None:
        side = self.sides[party]
        open_here = [a for a in side.app.read_models.amendments() if a["status"] == "open"]
        if not open_here:
            return
        amendment_id = data.draw(st.sampled_from(open_here), label="amendment")["amendment_id"]
        refused = _refusal(
            (lambda: accept_amendment(side.app.commands, "joint", amendment_id, WHO))
            if accepting
            else (lambda: side.run(DeclineAmendment(amendment_id=amendment_id,
                                                    track_id="joint", reason="no")))
        )  # fmt: skip
        if party == "TM-MFA":
            assert refused is None, refused
        else:
            assert refused is not None
            assert "it settles amendments" in refused, refused

    # -- exchanges ------------------------------------------------------------------------

    @rule(party=st.sampled_from(SIDES))
    def write_bundle(self, party: str) -> None:
        self.in_transit.append((self.other(party).party, self.export(party)))

    @precondition(lambda self: self.in_transit)
    @rule(data=st.data(), keep=st.booleans(), drop=st.booleans())
    def deliver(self, data: st.DataObject, keep: bool, drop: bool) -> None:
        index = data.draw(st.integers(0, len(self.in_transit) - 1), label="bundle")
        receiver, bundle = self.in_transit[index]
        if not keep:  # else it may be delivered again later: a duplicate
            del self.in_transit[index]
        if not drop:
            import_bundle(self.sides[receiver].app.commands, bundle, WHO)

    @rule(party=st.sampled_from(SIDES))
    def pull_over_http(self, party: str) -> None:
        side, other = self.sides[party], self.other(party)
        pull(side.app.commands, side.key_file, other.party, WHO)

    @invariant()
    def nobody_changed_what_it_does_not_convene(self) -> None:
        for side in self.sides.values():
            for row in side.app.read_models.schedule():
                assert row["meeting_id"] in self.meetings

    def teardown(self) -> None:
        try:
            self.deliver_everything("TM-MFA")
            tm, az = self.sides["TM-MFA"], self.sides["AZ-MFA"]
            assert tm.joint_schedule() == az.joint_schedule()
            assert tm.proposals_now() == az.proposals_now()
            assert tm.track() == az.track()
            assert tm.amendments_now() == az.amendments_now()
            assert tm.minutes_now() == az.minutes_now()
            assert {
                (row["meeting_id"], row["party_id"]) for row in tm.minutes_now()
            } == self.minutes
            for side in (tm, az):
                (status,) = exchange_status(side.app.read_models, side.app.store, side.party)
                assert status.differences == (), status
                assert side.app.store.verify().ok
        finally:
            for side in self.sides.values():
                side.serving.close()
                side.app.close()


def _refusal(action: Callable[[], object]) -> str | None:
    """The message of the refusal (exit 2 or 3 on the command line), or None if it ran."""
    try:
        action()
    except (NotAllowed, InvalidInput) as error:
        return str(error)
    return None


def _machine(urls: Callable[[], tuple[str, str]]) -> type[Exchange]:
    return type("ExchangeMachine", (Exchange,), {"urls": staticmethod(urls)})


def test_two_sqlite_instances_end_with_one_joint_schedule(tmp_path: Path) -> None:
    def urls() -> tuple[str, str]:
        name = uuid.uuid4().hex[:8]
        return f"sqlite:///{tmp_path / f'tm-{name}.db'}", f"sqlite:///{tmp_path / f'az-{name}.db'}"

    run_state_machine_as_test(
        _machine(urls), settings=settings(max_examples=12, stateful_step_count=25)
    )


@pytest.mark.postgresql
def test_sqlite_and_postgresql_instances_end_with_one_joint_schedule(
    tmp_path: Path, postgres_server: Any
) -> None:
    def urls() -> tuple[str, str]:
        name = uuid.uuid4().hex[:12]
        return f"sqlite:///{tmp_path / f'tm-{name}.db'}", postgres_server.create_database(
            f"az_{name}"
        )

    run_state_machine_as_test(
        _machine(urls), settings=settings(max_examples=6, stateful_step_count=25)
    )
