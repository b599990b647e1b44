"""The engine's public entry points, shared by the CLI, the web app and batch runs."""

from __future__ import annotations

import os
from collections.abc import Iterable

from engine.edits import Edit, apply_edits_to_data
from engine.io import read_scenario_data
from engine.scenario import Scenario, validate_scenario


def load_with_edits(path: str | os.PathLike[str], edits: Iterable[Edit | str] = ()) -> Scenario:
    """Load a scenario file and apply ``--set`` edits before validating it once.

    Raises ScenarioError naming the file (or the edit), the field and the problem.
    """
    data = read_scenario_data(path)
    edits = list(edits)
    if edits and isinstance(data, dict):
        data = apply_edits_to_data(data, edits)
    return validate_scenario(data, source=str(path))
