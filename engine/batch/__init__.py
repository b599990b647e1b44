"""Batch optimisation runs: sweep files, a crash-safe run store, pools of workers, summaries.

The pipeline of a batch, module by module:

- :mod:`engine.batch.sweep`: the sweep file, its base scenario (forecast pledges resolved as
  ``optimise.py solve`` resolves them) and the scenarios it generates, with stable ids;
- :mod:`engine.batch.worker`: what runs in each worker process: the batch's plan kept there,
  each point built, hashed and solved warm on a per-worker resolver cache;
- :mod:`engine.batch.pools`: where workers run: a local process pool or a Dask cluster
  (:mod:`engine.batch.dask_plan` installs the plan on Dask workers);
- :mod:`engine.batch.driver`: :func:`run_batch`: dispatch chunks of points, collect the
  replies, store each scenario as it arrives; Ctrl-C, timeouts and lost workers;
- :mod:`engine.batch.store`: the run store (SQLAlchemy; SQLite by default, PostgreSQL by URL),
  its tables in :mod:`engine.batch.tables` and their schema versions in
  :mod:`engine.batch.migrations`;
- :mod:`engine.batch.summary`: quantiles, floor-met probabilities, binding constraints, exports.

The batch CLI (``cli/batch.py``) imports the names below from here.
"""

from __future__ import annotations

from engine.batch.driver import Tally, run_batch
from engine.batch.store import RunStore, open_store
from engine.batch.summary import export, summary_tables
from engine.batch.sweep import BatchPlan, load_sweep
from engine.batch.tables import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "BatchPlan",
    "RunStore",
    "Tally",
    "export",
    "load_sweep",
    "open_store",
    "run_batch",
    "summary_tables",
]
