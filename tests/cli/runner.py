"""Run the CLI in-process as a user would, capturing exit code, stdout and stderr."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from consultations.entrypoints.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], database_url: str, *args: str) -> Result:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["--database-url", database_url, *args])
    captured = capsys.readouterr()
    code = exited.value.code
    return Result(code if isinstance(code, int) else 1, captured.out, captured.err)
