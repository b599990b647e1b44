"""A solve's arrays before they become a result frame set."""

from __future__ import annotations

from dataclasses import dataclass

from engine.formulation.core import PlanModel
from engine.results.extract import extract
from engine.results.schema import Result
from engine.solving.backends import Solution


@dataclass(frozen=True)
class Solved:
    """A solve's arrays before they become a :class:`Result`: the model, the
    value-maximising solution (its duals are the shadow prices), the tie-broken plan (the
    flows), the seconds spent building the model and the scenario's hash when known."""

    model: PlanModel
    duals: Solution
    plan: Solution
    build_seconds: float
    content_sha256: str | None = None

    def result(self) -> Result:
        """The frames a planner reads (see :mod:`engine.results.schema`)."""
        return extract(self.model, self.duals, self.plan, self.build_seconds, self.content_sha256)
