"""One exception hierarchy for the engine; the CLI maps each to an exit code."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ScenarioError(EngineError, ValueError):
    """A scenario file or edit is invalid.

    Each problem names the file, the field path (``areas[cyber].floor``), the offending
    value and what was expected.
    """

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        if len(self.problems) == 1:
            text = f"{where}{self.problems[0]}"
        else:
            text = f"{where}{len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(text)


class SolverUnavailableError(EngineError):
    """The requested solver is not installed or cannot run here."""


class OutputError(EngineError):
    """Results could not be written where asked."""


class BatchError(EngineError):
    """A batch cannot go on (e.g. worker processes keep dying, scheduler unreachable)."""


class StoreError(EngineError):
    """The run store cannot be opened, has another schema version, or a batch is unknown."""


class NotFittedError(EngineError, RuntimeError):
    """A forecaster was asked to predict before it was fitted (``models.base.Forecaster``)."""
