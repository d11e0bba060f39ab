from datetime import UTC, date, datetime

import pytest

from consultations.domain import areas, parties
from consultations.domain.commands import RegisterArea, RegisterParty
from consultations.domain.errors import InvalidInput, NotAllowed
from consultations.domain.events import (
    AreaRegistered,
    PartyAmended,
    PartyClosureAdded,
    PartyRegistered,
)
from consultations.domain.working_calendar import Closure

from .gwt import given

TM = PartyRegistered("TM-MFA", "MFA of Turkmenistan", "Asia/Ashgabat", ())
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_register_party() -> None:
    state = (
        given()
        .when(
            RegisterParty(
                party_id="AZ-MFA",
                name=" MFA of Azerbaijan ",
                tz="Asia/Baku",
                departments=("Protocol", "Legal"),
            )
        )
        .then(PartyRegistered("AZ-MFA", "MFA of Azerbaijan", "Asia/Baku", ("Protocol", "Legal")))
    )
    assert state == parties.Party(
        "AZ-MFA", "MFA of Azerbaijan", "Asia/Baku", ("Protocol", "Legal"), version=1
    )


def test_register_party_with_an_email() -> None:
    state = (
        given()
        .when(
            RegisterParty(
                party_id="AZ-MFA", name="MFA", tz="Asia/Baku", email=" protocol@mfa.example "
            )
        )
        .then(PartyRegistered("AZ-MFA", "MFA", "Asia/Baku", (), email="protocol@mfa.example"))
    )
    assert state is not None
    assert state.email == "protocol@mfa.example"


def test_a_party_without_an_email_has_none() -> None:
    state = (
        given()
        .when(RegisterParty(party_id="AZ-MFA", name="MFA", tz="Asia/Baku"))
        .then(PartyRegistered("AZ-MFA", "MFA", "Asia/Baku", ()))
    )
    assert state is not None
    assert state.email is None


@pytest.mark.parametrize(
    "email",
    [
        "protocol@mfa.example",
        "Bilateral.Desk+tm@mfa.gov.example",
        "o'neil!#$%&*/=?^_`{|}~-@a-b.c0.example",
        "a" * 64 + "@" + "b" * 63 + ".example",
    ],
)
def test_valid_emails_are_accepted(email: str) -> None:
    (event,) = parties.decide(
        None, RegisterParty(party_id="X", name="X", tz="UTC", email=email), NOW
    )
    assert event.email == email


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "protocol",
        "protocol@",
        "@mfa.example",
        "protocol@mfa",  # one label: not a host name of the public DNS
        "pro tocol@mfa.example",
        "a@b@mfa.example",
        ".protocol@mfa.example",
        "protocol.@mfa.example",
        "pro..tocol@mfa.example",
        "protocol@-mfa.example",
        "protocol@mfa-.example",
        "protocol@mfa..example",
        "protocol@mfa.example.",
        "protocol@mfa_x.example",
        '"quoted"@mfa.example',
        "Protocol <protocol@mfa.example>",
        "protocol@mfa.example\nBcc: x@y.example",
        "mailto:protocol@mfa.example",
        "pröto@mfa.example",
        "proto@mfä.example",
        "a" * 65 + "@mfa.example",
        "a@" + "b" * 64 + ".example",
        "a@" + ".".join(["b" * 60] * 5) + ".example",  # over 254 characters
    ],
)
def test_invalid_emails_are_rejected_naming_the_field(email: str) -> None:
    given().when(RegisterParty(party_id="X", name="X", tz="UTC", email=email)).then_raises(
        InvalidInput, "email"
    )


def test_register_party_twice_is_a_duplicate() -> None:
    given(TM).when(RegisterParty(party_id="TM-MFA", name="Again", tz="Asia/Ashgabat")).then_raises(
        NotAllowed, "id", "TM-MFA"
    )


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (RegisterParty(party_id="TM MFA", name="MFA", tz="Asia/Ashgabat"), "id"),
        (RegisterParty(party_id="TM-MFA", name="", tz="Asia/Ashgabat"), "name"),
        (RegisterParty(party_id="TM-MFA", name="MFA", tz="Europe/Atlantis"), "tz"),
        (RegisterParty(party_id="TM-MFA", name="MFA", tz="localtime"), "tz"),
        (
            RegisterParty(
                party_id="TM-MFA", name="MFA", tz="Asia/Ashgabat", departments=("Legal", "Legal")
            ),
            "departments",
        ),
        (
            RegisterParty(party_id="TM-MFA", name="MFA", tz="Asia/Ashgabat", departments=(" ",)),
            "departments",
        ),
    ],
)
def test_register_party_rejects_invalid_input(command: RegisterParty, field: str) -> None:
    given().when(command).then_raises(InvalidInput, field)


def test_register_area() -> None:
    state = (
        given()
        .when(RegisterArea(area_id="energy", name="Energy"))
        .then(AreaRegistered("energy", "Energy"))
    )
    assert state == areas.Area("energy", "Energy", version=1)


def test_register_area_twice_is_a_duplicate() -> None:
    given(AreaRegistered("energy", "Energy")).when(
        RegisterArea(area_id="energy", name="Energy")
    ).then_raises(NotAllowed, "id")


def test_register_area_with_bad_id() -> None:
    given().when(RegisterArea(area_id="energy & trade", name="Energy")).then_raises(
        InvalidInput, "id"
    )


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        areas.decide(None, RegisterArea(area_id="energy", name="Energy"), datetime(2026, 1, 1))


def test_a_second_registration_replaces_the_record_with_its_calendar() -> None:
    """The party's own instance's record (received later) replaces a provisional one whole."""
    provisional = PartyRegistered("AZ-MFA", "AZ (provisional)", "UTC", (), country="TR")
    owners = PartyRegistered("AZ-MFA", "MFA of Azerbaijan", "Asia/Baku", ("Europe",))
    party = parties.fold(
        [
            provisional,
            PartyClosureAdded("AZ-MFA", date(2026, 3, 20), date(2026, 3, 24), "Guessed"),
            owners,
            PartyAmended("AZ-MFA", country="AZ"),
            PartyClosureAdded("AZ-MFA", date(2026, 5, 28), date(2026, 5, 28), "Independence Day"),
        ]
    )
    assert party is not None
    assert (party.name, party.tz, party.departments, party.country, party.version) == (
        "MFA of Azerbaijan", "Asia/Baku", ("Europe",), "AZ", 5,
    )  # fmt: skip
    assert party.closures == (Closure(date(2026, 5, 28), date(2026, 5, 28), "Independence Day"),)
