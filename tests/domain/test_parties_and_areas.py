from datetime import datetime

import pytest

from consultations.domain import areas, parties
from consultations.domain.commands import RegisterArea, RegisterParty
from consultations.domain.errors import InvalidInput, NotAllowed
from consultations.domain.events import AreaRegistered, PartyRegistered

from .gwt import given

TM = PartyRegistered("TM-MFA", "MFA of Turkmenistan", "Asia/Ashgabat", ())


def test_register_party() -> None:
    state = (
        given()
        .when(RegisterParty("AZ-MFA", " MFA of Azerbaijan ", "Asia/Baku", ("Protocol", "Legal")))
        .then(PartyRegistered("AZ-MFA", "MFA of Azerbaijan", "Asia/Baku", ("Protocol", "Legal")))
    )
    assert state == parties.Party(
        "AZ-MFA", "MFA of Azerbaijan", "Asia/Baku", ("Protocol", "Legal"), version=1
    )


def test_register_party_twice_is_a_duplicate() -> None:
    given(TM).when(RegisterParty("TM-MFA", "Again", "Asia/Ashgabat")).then_raises(
        NotAllowed, "id", "TM-MFA"
    )


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (RegisterParty("TM MFA", "MFA", "Asia/Ashgabat"), "id"),
        (RegisterParty("TM-MFA", "", "Asia/Ashgabat"), "name"),
        (RegisterParty("TM-MFA", "MFA", "Europe/Atlantis"), "tz"),
        (RegisterParty("TM-MFA", "MFA", "localtime"), "tz"),
        (RegisterParty("TM-MFA", "MFA", "Asia/Ashgabat", ("Legal", "Legal")), "departments"),
        (RegisterParty("TM-MFA", "MFA", "Asia/Ashgabat", (" ",)), "departments"),
    ],
)
def test_register_party_rejects_invalid_input(command: RegisterParty, field: str) -> None:
    given().when(command).then_raises(InvalidInput, field)


def test_register_area() -> None:
    state = given().when(RegisterArea("energy", "Energy")).then(AreaRegistered("energy", "Energy"))
    assert state == areas.Area("energy", "Energy", version=1)


def test_register_area_twice_is_a_duplicate() -> None:
    given(AreaRegistered("energy", "Energy")).when(RegisterArea("energy", "Energy")).then_raises(
        NotAllowed, "id"
    )


def test_register_area_with_bad_id() -> None:
    given().when(RegisterArea("energy & trade", "Energy")).then_raises(InvalidInput, "id")


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        areas.decide(None, RegisterArea("energy", "Energy"), datetime(2026, 1, 1))
