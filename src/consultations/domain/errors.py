"""Domain errors. The CLI maps the class to an exit code and prints ``str(err)``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DomainError(Exception):
    """A command was rejected; ``field`` names the offending input, ``problem`` says why.

    The line shown is ``field: problem``, so ``problem`` never starts by naming the field
    again ("duration: 'PT0H' must be longer than zero", not "duration: duration …").
    """

    def __init__(self, field: str, problem: str) -> None:
        # Keep the message on one line: the CLI prints it as a single stderr line.
        problem = " ".join(problem.splitlines())
        super().__init__(field, problem)
        self.field = field
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InvalidInput(DomainError):
    """The input itself is malformed or out of range (CLI exit code 2)."""


class NotAllowed(DomainError):
    """The input is well-formed but not allowed in the current state (CLI exit code 3)."""


class NotFound(DomainError):
    """Something the command refers to does not exist (CLI exit code 4)."""


class VerificationFailed(DomainError):
    """A signature, a hash or a history does not check out (CLI exit code 5)."""


class UnknownId(NotFound):
    """An id that names no party, area, track, meeting or feed: ``no track 'x'``.

    The one place such messages are made. ``known`` holds the ids that do exist, when
    whoever raises (or passes on) the error knows them; the closest is suggested ("did you
    mean 'strategy-workshop'?"). ``hint`` says what to do if the id is new.
    """

    def __init__(
        self,
        kind: str,
        value: str,
        field: str | None = None,
        *,
        known: Iterable[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.kind, self.value, self.hint = kind, value, hint
        self.known = None if known is None else tuple(known)
        problem = f"no {kind} {value!r}"
        closest = difflib.get_close_matches(value, self.known or (), n=1)
        if closest:
            problem += f"; did you mean {closest[0]!r}?"
        if hint:
            problem += f" If not, {hint}" if closest else f"; {hint}"
        super().__init__(field or kind, problem)

    def among(self, known: Iterable[str]) -> UnknownId:
        """The same error, suggesting the closest of ``known`` (the ids that exist)."""
        return UnknownId(self.kind, self.value, self.field, known=known, hint=self.hint)
