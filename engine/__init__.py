"""The coalition fund planning engine: its public API.

Every face (``optimise.py``, ``forecast.py``, ``cli/``, ``app/``, ``reports/``) imports
from here and nowhere else in ``engine``; batch runs have theirs in :mod:`engine.batch`.
The pipeline, stage by stage (see docs/architecture.md):

1. :mod:`engine.scenario`: schema, units, validation, ``--set`` edits, forecast pledges;
2. :mod:`engine.files`: scenario files (YAML, JSON, Excel), result files, atomic writes;
3. :mod:`engine.formulation`: the LP/MIP as arrays;
4. :mod:`engine.solving`: back-ends, the go/no-go stage, the tie-break, warm re-solves;
5. :mod:`engine.results`: the result's frames and their plain-language names;
6. :mod:`engine.analysis`: what-if, sensitivity, diagnosis, the nearest feasible plan.
"""

from __future__ import annotations

from engine.analysis.advice import EditAdvice, advise_edits
from engine.analysis.nearest import Nearest, nearest_feasible
from engine.analysis.sensitivity import Sensitivity, sensitivity
from engine.analysis.unspent import UNSPENT, describe_unspent, unspent_reasons
from engine.analysis.whatif import Comparison, compare
from engine.api import (
    WhatIf,
    check_model,
    edit_scenario,
    load_with_edits,
    naming_source,
    resolve_inputs,
    scenario_from_data,
    whatif,
)
from engine.coalition.burden import burden_bands, contribution_key, key_from_table
from engine.coalition.members import (
    member_project_shares,
    members_table,
    plan_values,
    standalone,
)
from engine.coalition.stability import Stability, solve_with_participation, stability
from engine.errors import EngineError, OutputError, ScenarioError, SolverUnavailableError
from engine.files.atomic import atomic_write_bytes, atomic_write_text
from engine.files.folder import check_folder, write_file_set
from engine.files.results import (
    check_result_folder,
    result_file_bytes,
    write_folder,
    write_result,
)
from engine.files.scenario_files import (
    READERS,
    dump_scenario_yaml,
    load_scenario,
    read_scenario_data,
    save_scenario,
)
from engine.planning.alternatives import (
    Alternative,
    alternatives,
    alternatives_table,
    budget_frontier,
    risk_frontier,
)
from engine.planning.evaluate import Scores, score_first_stage
from engine.planning.futures import Futures, draw_futures
from engine.planning.output import ROBUST_FILES, write_robust
from engine.planning.robust import RobustReport, plan_robust
from engine.planning.rules import FloorRule, Risk
from engine.planning.stochastic import StochasticPlan, solve_stochastic
from engine.planning.study import RobustStudy, robust_study
from engine.results.describe import money, shadow_sentence
from engine.results.money import column_digits, footed, money_as, money_column, shown_total
from engine.results.projects import project_totals
from engine.results.schema import Result, Summary, result_tables
from engine.results.shares import shares_of_change
from engine.results.wording import count_noun, year_span
from engine.scenario.edits import Edit, edited_source, parse_edit
from engine.scenario.from_forecast import forecast_settings
from engine.scenario.schema import Limit, Scenario, scenario_sha256
from engine.scenario.units import UNIT_FACTORS, format_money
from engine.scenario.validate import scenario_json_schema
from engine.solving.backends import SolverOptions, SolveStatus, parse_highs_options
from engine.solving.pipeline import has_plan, solve
from engine.solving.resolver import Resolver

__all__ = [
    "READERS",
    "ROBUST_FILES",
    "UNIT_FACTORS",
    "UNSPENT",
    "Alternative",
    "Comparison",
    "Edit",
    "EditAdvice",
    "EngineError",
    "FloorRule",
    "Futures",
    "Limit",
    "Nearest",
    "OutputError",
    "Resolver",
    "Result",
    "Risk",
    "RobustReport",
    "RobustStudy",
    "Scenario",
    "ScenarioError",
    "Scores",
    "Sensitivity",
    "SolveStatus",
    "SolverOptions",
    "SolverUnavailableError",
    "Stability",
    "StochasticPlan",
    "Summary",
    "WhatIf",
    "advise_edits",
    "alternatives",
    "alternatives_table",
    "atomic_write_bytes",
    "atomic_write_text",
    "budget_frontier",
    "burden_bands",
    "check_folder",
    "check_model",
    "check_result_folder",
    "column_digits",
    "compare",
    "contribution_key",
    "count_noun",
    "describe_unspent",
    "draw_futures",
    "dump_scenario_yaml",
    "edit_scenario",
    "edited_source",
    "footed",
    "forecast_settings",
    "format_money",
    "has_plan",
    "key_from_table",
    "load_scenario",
    "load_with_edits",
    "member_project_shares",
    "members_table",
    "money",
    "money_as",
    "money_column",
    "naming_source",
    "nearest_feasible",
    "parse_edit",
    "parse_highs_options",
    "plan_robust",
    "plan_values",
    "project_totals",
    "read_scenario_data",
    "resolve_inputs",
    "result_file_bytes",
    "result_tables",
    "risk_frontier",
    "robust_study",
    "save_scenario",
    "scenario_from_data",
    "scenario_json_schema",
    "scenario_sha256",
    "score_first_stage",
    "sensitivity",
    "shadow_sentence",
    "shares_of_change",
    "shown_total",
    "solve",
    "solve_stochastic",
    "solve_with_participation",
    "stability",
    "standalone",
    "unspent_reasons",
    "whatif",
    "write_file_set",
    "write_folder",
    "write_result",
    "write_robust",
    "year_span",
]
