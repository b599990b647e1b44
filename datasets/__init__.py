"""Shipped data: real public tables (see PROVENANCE.md) and default scenarios."""

from pathlib import Path

DATA_DIR = Path(__file__).parent
SCENARIOS_DIR = DATA_DIR / "scenarios"
DEFAULT_SCENARIO = SCENARIOS_DIR / "aspf-2026.yaml"


def scenario_path(name: str) -> Path:
    """A shipped scenario by name (``aspf-2026``, ``nif``) or any path given as is."""
    candidate = SCENARIOS_DIR / f"{name}.yaml"
    try:
        shipped = candidate.exists()
    except OSError:  # e.g. a name too long for the file system: no shipped scenario
        shipped = False
    return candidate if shipped else Path(name)
