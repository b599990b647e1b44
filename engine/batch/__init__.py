"""Batch optimisation runs: sweep files, a crash-safe run store, executors and summaries.

- :mod:`engine.batch.sweep`: the sweep file and the scenarios it generates (stable ids);
- :mod:`engine.batch.store`: the run store (SQLAlchemy; SQLite by default, PostgreSQL by URL);
- :mod:`engine.batch.execute`: a local process pool or a Dask cluster, warm re-solves per worker;
- :mod:`engine.batch.summary`: quantiles, floor-met probabilities, binding constraints, exports.
"""
