"""Build a scenario's whole model: the allocation families, then the go/no-go ones."""

from __future__ import annotations

from engine.formulation.conditioning import check_coefficients
from engine.formulation.core import (
    ModelBuilder,
    PlanModel,
    define_absorption,
    define_area_limits,
    define_budgets,
    define_flows,
    define_funding,
    define_policies,
    define_value,
)
from engine.formulation.project_rules import define_projects
from engine.scenario.schema import Scenario
from engine.scenario.units import UNIT_FACTORS


def build_model(scenario: Scenario) -> PlanModel:
    """Build the allocation LP of a validated scenario (one pass per constraint family)."""
    model = ModelBuilder(scenario, scale=UNIT_FACTORS[scenario.fund.unit])
    define_flows(model)
    define_funding(model)
    define_budgets(model)
    define_area_limits(model)
    define_absorption(model)
    define_policies(model)
    define_projects(model)
    define_value(model)
    return check_coefficients(model.freeze())  # amounts the solvers see alike
