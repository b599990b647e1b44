"""Shared fixtures: the repository root, the shipped scenarios and random scenarios.

The random-scenario generator lives in :mod:`tests.scenario_factory` so that property
tests can use it as a hypothesis strategy and benchmarks can import it as plain code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
#: The folder of the shipped scenario files (aspf-2026.yaml, nif.yaml, ...).
SCENARIOS = ROOT / "datasets" / "scenarios"

from engine.scenario.schema import Scenario  # noqa: E402
from engine.scenario.validate import validate_scenario  # noqa: E402
from tests.scenario_factory import random_scenario, tiny_scenario  # noqa: E402


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where optimise.py lives)."""
    return ROOT


@pytest.fixture(scope="session")
def default_scenario_path() -> Path:
    """The shipped default scenario file (ASPF)."""
    return SCENARIOS / "aspf-2026.yaml"


@pytest.fixture
def tiny() -> Scenario:
    """A validated hand-sized scenario (see :func:`tests.scenario_factory.tiny_scenario`)."""
    return validate_scenario(tiny_scenario())


@pytest.fixture(params=[1, 2, 3])
def random_small(request: pytest.FixtureRequest) -> Scenario:
    """A validated random feasible scenario from a fixed seed."""
    return validate_scenario(random_scenario(request.param))
