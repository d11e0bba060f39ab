"""Domain errors. The CLI maps the class to an exit code and prints ``str(err)``."""


class DomainError(Exception):
    """A command was rejected; ``field`` names the offending input, ``problem`` says why."""

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
