"""Errors that reach the user as one sentence, each carrying the exit code of its class."""

from __future__ import annotations


class OsirisError(Exception):
    """A failure explained to the user: ``str(err)`` is the sentence, ``hint`` says what to do."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InvalidInputError(OsirisError):
    """Bad OML, connections, plugin specs or CLI usage: the run never started (exit 2)."""

    exit_code = 2


class RegistryError(InvalidInputError):
    """A component, family or adapter is unknown, duplicated or has an invalid spec."""


class StepError(OsirisError):
    """A step failed while running (exit 1). Drivers raise it with the step id and the cause."""

    def __init__(self, step_id: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"Step '{step_id}': {message}", hint=hint)
        self.step_id = step_id
