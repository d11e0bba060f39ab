"""Validation of identifiers, short texts and dates shared by all aggregates."""

import re
import unicodedata
from datetime import date, datetime

from consultations.domain.errors import InvalidInput

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2200, 12, 31)
MAX_TITLE_LENGTH = 200

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
# RFC 5322 dot-atom local part; a DNS host name of two or more labels (letters, digits, "-").
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@({_LABEL}(?:\.{_LABEL})+)", re.ASCII)
MAX_EMAIL_LENGTH = 254  # RFC 5321: a forward path holds at most 254 octets of address
MAX_LOCAL_PART_LENGTH = 64


def validate_id(value: str, field: str = "id") -> str:
    """Return ``value`` if it is a valid id: 1..64 ASCII letters, digits, ``-``, ``_``, ``.``.

    The first character must be a letter or digit (so ``.`` and ``..`` are not ids).
    """
    if not _ID.fullmatch(value):
        raise InvalidInput(
            field,
            f"invalid id {value!r}: use 1 to 64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit",
        )
    return value


def validate_email(value: str, field: str = "email") -> str:
    """Return ``value`` stripped if it is a plain ASCII address such as ``protocol@mfa.example``.

    A dot-atom local part (no quoted strings, comments or display names) at most 64
    characters long, ``@``, and a domain of two or more DNS labels; 254 characters in all.
    """
    text = value.strip()
    if not text:
        raise InvalidInput(field, "must not be empty")
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidInput(
            field, f"is {len(text)} characters long; at most {MAX_EMAIL_LENGTH} allowed"
        )
    found = _EMAIL.fullmatch(text)
    if found is None:
        raise InvalidInput(
            field, f"{value!r} is not an e-mail address such as protocol@mfa.example"
        )
    if len(found.group(1)) > MAX_LOCAL_PART_LENGTH:
        raise InvalidInput(
            field, f"the part before '@' is longer than {MAX_LOCAL_PART_LENGTH} characters"
        )
    return text


def validate_ids(values: tuple[str, ...], field: str) -> tuple[str, ...]:
    """Validate each id in ``values`` and reject duplicates."""
    seen: set[str] = set()
    for value in values:
        validate_id(value, field)
        if value in seen:
            raise InvalidInput(field, f"{value!r} is listed twice")
        seen.add(value)
    return values


def validate_line(value: str, field: str, *, max_length: int = MAX_TITLE_LENGTH) -> str:
    """Return ``value`` stripped; reject empty, over-long or multi-line text."""
    text = value.strip()
    if not text:
        raise InvalidInput(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidInput(field, f"is {len(text)} characters long; at most {max_length} allowed")
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise InvalidInput(field, "must be a single line without control characters")
    return text


def validate_lines(
    values: tuple[str, ...], field: str, *, max_length: int = 2000
) -> tuple[str, ...]:
    """Validate each entry of ``values`` with :func:`validate_line`."""
    return tuple(validate_line(value, field, max_length=max_length) for value in values)


def validate_date(value: date, field: str) -> date:
    """Reject dates (or the date part of datetimes) outside 1900-01-01..2200-12-31."""
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise InvalidInput(
            field, f"{value.isoformat()} is outside {MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}"
        )
    return value


def require_aware(now: datetime) -> datetime:
    """Return ``now`` if it is timezone-aware; a naive clock reading is a programming error."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")
    return now
