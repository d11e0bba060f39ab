"""Check iCalendar files with libical 3 (Evolution, GNOME Calendar, KDE) and print its errors.

Run with the system interpreter that has Debian's ``python3-gi`` and ``gir1.2-ical-3.0``
(``/usr/bin/python3``), not the project's venv:

    /usr/bin/python3 tests/support/libical_check.py FILE.ics [FILE.ics ...]

For each file: parse it (``ICalGLib.Component.new_from_string``), apply RFC 5546's iTIP
restriction rules for its METHOD (``ICalGLib.restriction_check``), then collect every
``X-LIC-ERROR`` property libical added to the calendar or any of its subcomponents. Prints
one JSON object: ``{"FILE": {"restriction_ok": bool, "errors": ["…", …]}, …}``. With
``--probe`` it only checks that libical can be imported (exit 0) or not (exit 1).

Kept free of the project's imports: it runs outside the project's environment.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _load() -> Any:
    import gi  # noqa: PLC0415 - imported here so --probe can report a missing module

    gi.require_version("ICalGLib", "3.0")
    from gi.repository import ICalGLib  # noqa: PLC0415

    return ICalGLib


def _children(ical: Any, component: Any) -> list[Any]:
    """The direct subcomponents of ``component``, in order."""
    any_kind = ical.ComponentKind.ANY_COMPONENT
    found = []
    child = component.get_first_component(any_kind)
    while child is not None:
        found.append(child)
        child = component.get_next_component(any_kind)
    return found


def _errors(ical: Any, component: Any, *, deep: bool = True) -> list[str]:
    """The X-LIC-ERROR values of ``component`` and (``deep``) of its subcomponents."""
    found: list[str] = []
    kind = ical.PropertyKind.XLICERROR_PROPERTY
    prop = component.get_first_property(kind)
    while prop is not None:
        found.append(prop.get_value_as_string() or prop.as_ical_string().strip())
        prop = component.get_next_property(kind)
    if deep:
        for child in _children(ical, component):
            found.extend(_errors(ical, child))
    return found


def check(ical: Any, text: str) -> dict[str, Any]:
    """libical's verdict on one iCalendar text.

    ``restriction_check`` stops at the first component that fails, so each component is
    checked on its own, in a copy of the calendar that holds only it: every failing event
    gets its error. Errors are prefixed with the component's UID (or its kind).
    """
    calendar = ical.Component.new_from_string(text)
    if calendar is None:
        return {"restriction_ok": False, "errors": ["libical could not parse the text"]}
    copies = []
    for index in range(len(_children(ical, calendar))):
        alone = calendar.clone()
        for position, child in enumerate(_children(ical, alone)):
            if position != index:
                alone.remove_component(child)
        copies.append(alone)
    restriction_ok = bool(ical.restriction_check(calendar))
    errors = [f"VCALENDAR: {error}" for error in _errors(ical, calendar, deep=False)]
    for alone in copies:
        restriction_ok = bool(ical.restriction_check(alone)) and restriction_ok
        (child,) = _children(ical, alone)
        label = child.get_uid() or ical.Component.kind_to_string(child.isa())
        errors += [f"{label}: {error}" for error in _errors(ical, child)]
    return {"restriction_ok": restriction_ok, "errors": errors}


def main(argv: list[str]) -> int:
    """Check the files named in ``argv`` and print the verdicts as JSON."""
    try:
        ical = _load()
    except (ImportError, ValueError) as error:
        print(f"cannot load ICalGLib 3.0: {error}", file=sys.stderr)
        return 1
    if argv == ["--probe"]:
        return 0
    verdicts = {}
    for path in argv:
        with open(path, encoding="utf-8", newline="") as handle:
            verdicts[path] = check(ical, handle.read())
    print(json.dumps(verdicts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
