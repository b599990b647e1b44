"""The stages of every solve, whichever the solver: build, go/no-go, value LP, tie-break.

:func:`solve_stages` drives them through a :class:`Backend`. HiGHS's backend is the
:class:`engine.solving.resolver.Resolver` (warm state: the loaded LPs and their bases, the
last model to patch, the last go/no-go decisions to try first); CBC's is the stateless
:class:`CbcBackend` (each LP solved afresh). Both solvers go through the same stages in
the same order, so their plans differ only by what the solvers return:

1. build the model (the resolver patches the last one when only bounds changed);
2. the go/no-go decisions: kept from the last plan when provably still optimal (HiGHS
   only), else the MIP (:func:`engine.solving.mip.solve_integers`); no plan ends here;
3. the value LP (the decisions fixed): its duals are the shadow prices;
4. the tie-break (:func:`engine.solving.tiebreak.break_ties`): among optimal plans the one
   closest to the reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from engine.formulation.build import build_model
from engine.formulation.core import PlanModel
from engine.scenario.schema import Scenario
from engine.solving.backends import Solution, SolverOptions, solve_cbc
from engine.solving.mip import solve_integers, with_mip
from engine.solving.solved import Solved
from engine.solving.tiebreak import TieBounds, break_ties, tie_break_model


class Backend(Protocol):
    """What a solver supplies to the stages."""

    @property
    def options(self) -> SolverOptions:
        """How to solve (the MIP stage reads the solver, limits and gap from it)."""
        ...

    def build(self, scenario: Scenario) -> PlanModel:
        """The scenario's model (built, or patched from the last one)."""
        ...

    def keep_decisions(self, built: PlanModel) -> tuple[PlanModel, Solution, Solution] | None:
        """The LP with the last plan's go/no-go decisions fixed, a MIP-like solution and the
        LP's solution, when those decisions are provably optimal for ``built``; else None."""
        ...

    def solve_value(self, model: PlanModel) -> Solution:
        """Solve the value LP (an LP: go/no-go decisions, if any, are fixed)."""
        ...

    def value_solved(
        self, built: PlanModel, model: PlanModel, mip: Solution | None, solution: Solution
    ) -> None:
        """Told the value LP's outcome (the resolver keeps the decisions for next time)."""
        ...

    def reference_flows(
        self, model: PlanModel, reference: pd.DataFrame | None
    ) -> dict[int, float] | None:
        """The reference's flows by column when already known, else None."""
        ...

    def solve_tie_break(
        self, model: PlanModel, first: Solution, reference: dict[int, float], bounds: TieBounds
    ) -> Solution:
        """Solve the tie-break LP of :func:`engine.solving.tiebreak.tie_break_model`."""
        ...


def solve_stages(
    backend: Backend,
    scenario: Scenario,
    reference: pd.DataFrame | None = None,
    content_sha256: str | None = None,
) -> Solved:
    """Run the stages (see the module's docstring) for ``scenario`` with ``backend``."""
    start = time.perf_counter()
    built = backend.build(scenario)
    build_seconds = time.perf_counter() - start
    kept = backend.keep_decisions(built)
    mip: Solution | None
    if kept is not None:
        model, mip, solution = kept
    else:
        model, mip = solve_integers(built, backend.options)
        if mip is not None and model.integer:  # the MIP found no plan
            return Solved(model, mip, mip, build_seconds, content_sha256)
        solution = backend.solve_value(model)
    backend.value_solved(built, model, mip, solution)
    flows = backend.reference_flows(model, reference)
    plan = break_ties(model, solution, reference, backend.solve_tie_break, flows)
    return Solved(
        model, with_mip(solution, mip), with_mip(plan, mip), build_seconds, content_sha256
    )


@dataclass(frozen=True)
class CbcBackend:
    """CBC through PuLP: every LP solved afresh, nothing kept between solves."""

    options: SolverOptions

    def build(self, scenario: Scenario) -> PlanModel:
        return build_model(scenario)

    def keep_decisions(self, built: PlanModel) -> tuple[PlanModel, Solution, Solution] | None:
        return None  # no warm state: the MIP decides every time

    def solve_value(self, model: PlanModel) -> Solution:
        return solve_cbc(model, self.options)

    def value_solved(
        self, built: PlanModel, model: PlanModel, mip: Solution | None, solution: Solution
    ) -> None:
        return None

    def reference_flows(
        self, model: PlanModel, reference: pd.DataFrame | None
    ) -> dict[int, float] | None:
        return None

    def solve_tie_break(
        self, model: PlanModel, first: Solution, reference: dict[int, float], bounds: TieBounds
    ) -> Solution:
        return solve_cbc(tie_break_model(model, first, reference, bounds), self.options)
