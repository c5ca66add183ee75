"""The core's errors. Each names the field and the id it is about, so the API can turn it
into one `invalid_input` answer and the CLI into one clear line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProblemIssue:
    """One thing wrong with the input: which field of which object, and why."""

    field: str
    id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}[{self.id}]" if self.id else self.field
        return f"{where}: {self.message}"


class OnTimeError(Exception):
    """Base class of every error the optimizer raises on purpose."""


class InvalidProblem(OnTimeError, ValueError):
    """The input is malformed or inconsistent; `issues` lists every problem found."""

    def __init__(self, issues: list[ProblemIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(str(issue) for issue in issues))


class InstanceFormatError(OnTimeError, ValueError):
    """A classic instance file could not be read; the message names the line."""


class EngineUnavailable(OnTimeError):
    """The requested engine cannot solve a problem with these features."""
