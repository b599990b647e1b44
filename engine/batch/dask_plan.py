"""A batch's plan on Dask workers: installed by a worker plugin, so that workers restarted
(after a timeout) or added to the cluster later have it too.

Imported only when a batch runs on Dask (it needs ``distributed``).
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from engine.batch import worker as _worker
from engine.batch.sweep import BatchPlan


class PlanPlugin(WorkerPlugin):
    """Keeps ``plan`` in each worker process for :func:`engine.batch.worker.solve_points`."""

    def __init__(self, plan: BatchPlan) -> None:
        self.plan = plan
        self.name = f"batch-plan-{plan.batch_id}"

    def setup(self, worker: Any) -> None:
        """Keep the plan in this worker process."""
        _worker.keep_plan(self.plan)

    def teardown(self, worker: Any) -> None:
        """Forget the plan when the batch is over."""
        _worker.drop_plan(self.plan.batch_id)
