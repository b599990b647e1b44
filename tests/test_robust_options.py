"""Near-optimal alternatives and frontiers (engine.planning.alternatives): alternatives
within the stated loss and distinct, the budget frontier concave for an LP, the risk
frontier trading expected value for CVaR."""

from __future__ import annotations

import numpy as np
import pytest

from engine.planning.alternatives import (
    alternatives,
    alternatives_table,
    budget_frontier,
    risk_frontier,
)
from tests.test_robust import SPREAD, tiny, tiny_futures


def _l1(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(abs(a[k] - b[k]) for k in a)


@pytest.mark.parametrize("project", [False, True])
def test_alternatives_are_within_the_loss_and_distinct(project):
    sc = tiny(project)
    found = alternatives(sc, within=0.05, count=3)
    best = found[0]
    assert best.label == "optimum"
    assert len(found) >= 3
    for alt in found[1:]:
        assert alt.value >= 0.95 * best.value - 1e-6
        assert alt.value <= best.value + 1e-6
    for i, a in enumerate(found):
        for b in found[:i]:
            assert _l1(a.funding, b.funding) > 1e-3
    assert found[1].distance == pytest.approx(_l1(found[1].funding, best.funding), abs=1e-6)


def test_the_first_alternative_is_as_far_as_the_loss_allows():
    sc = tiny()
    near = alternatives(sc, within=0.01, count=1)[1]
    far = alternatives(sc, within=0.10, count=1)[1]
    assert far.distance >= near.distance - 1e-6
    assert far.distance > 0


def test_alternatives_table_reports_what_each_plan_gives_up():
    found = alternatives(tiny(), within=0.05, count=2)
    table = alternatives_table(found)
    assert set(table["plan"]) == {"optimum", "alternative 1", "alternative 2"}
    assert (table.loc[table["plan"] == "optimum", "loss"] == 0).all()
    assert (table["loss_share"] <= 0.05 + 1e-9).all()


def test_budget_frontier_is_concave_for_an_lp():
    frame = budget_frontier(tiny(), [0.5, 0.75, 1.0, 1.25, 1.5, 2.0])
    assert (frame["status"] == "optimal").all()
    assert frame["value"].is_monotonic_increasing
    marginal = frame["marginal"].dropna().to_numpy()
    assert (np.diff(marginal) <= 1e-9).all()


def test_budget_frontier_reports_no_plan_below_the_floors():
    frame = budget_frontier(tiny(), [0.1, 1.0])
    assert frame.loc[0, "status"] != "optimal"
    assert np.isnan(frame.loc[0, "value"])


def test_risk_frontier_trades_expected_value_for_cvar():
    frame = risk_frontier(tiny(), tiny_futures(SPREAD), alpha=0.25)
    assert (np.diff(frame["expected_value"]) <= 1e-6).all()
    assert (np.diff(frame["cvar"]) >= -1e-6).all()
