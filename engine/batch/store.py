"""The run store: batches, scenarios and their results in SQL (SQLAlchemy Core).

SQLite by default (one file, WAL mode so readers keep working while a batch writes);
PostgreSQL through a URL. Each finished scenario is written in its own transaction: a
driver or worker killed at any moment leaves only whole scenarios behind, and re-running a
batch skips what is stored and never stores twice.

The tables are in :mod:`engine.batch.tables`: the long detail tables carry only a
scenario's integer key, and readers join the hashes back (:meth:`RunStore.frame` gives the
same frames whatever the layout). A writer opening a store of an older schema version
migrates it (:mod:`engine.batch.migrations`); a reader refuses it with the command that
does.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError

from engine.batch.migrations import prepare
from engine.batch.tables import (
    BATCH_COLUMNS,
    DETAIL_TABLES,
    FAILED,
    RESULT_COLUMNS,
    SCENARIO_COLUMNS,
    batches,
    insert_new,
    insert_rows,
    results,
    scenarios,
)
from engine.errors import StoreError

#: File created inside a folder given as ``--store``.
SQLITE_FILE = "runs.sqlite"
# Identifies this store's schema changes among other users of a PostgreSQL database.
_PG_LOCK = 0x72756E73746F7265  # "runstore"


@dataclass(frozen=True)
class Outcome:
    """One solved (or failed) scenario, as a worker sends it back to the driver."""

    scenario_id: str
    status: str
    objective: float | None = None
    total_allocated: float | None = None
    solve_seconds: float | None = None
    wall_seconds: float | None = None
    mode: str | None = None
    worker: str | None = None
    message: str = ""
    error: str | None = None
    details: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether the scenario raised or timed out (rather than an answer, even infeasible)."""
        return self.status in FAILED


def store_url(text: str) -> URL:
    """A SQLAlchemy URL from ``--store``: a URL, a ``.sqlite``/``.db`` file, or a folder
    (which gets :data:`SQLITE_FILE`). ``postgresql://`` uses the psycopg 3 driver."""
    if "://" in text:
        try:
            url = make_url(text)
        except ArgumentError:
            raise StoreError(f"--store {text!r}: not a database URL") from None
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    path = Path(text)
    if path.suffix.lower() not in (".sqlite", ".sqlite3", ".db"):
        path = path / SQLITE_FILE
    return URL.create("sqlite", database=str(path))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the what-if app, `runs show`) read while a batch writes; NORMAL
    # sync keeps every committed transaction through a killed process (not an OS crash).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class RunStore:
    """Open (and create if needed) a run store; see the module docstring for the tables.

    ``writer``: a store of schema version 1 is migrated to version 2 (one transaction); a
    reader (``writer=False``) refuses it with the command that migrates it.
    Raises StoreError when the database cannot be reached, has another schema version, or
    a version-1 store is opened by a reader.
    """

    def __init__(self, url: str | URL, writer: bool = True) -> None:
        self.url = store_url(url) if isinstance(url, str) else url
        self.label = self.url.render_as_string(hide_password=True)
        self.engine = self._connect()
        self.migrated_from: int | None = None
        self._batch_keys: dict[str, int] = {}
        self._open(writer)
        self._insert_scenario = insert_new(self.engine.dialect, scenarios).returning(
            scenarios.c.scenario_key
        )

    def _connect(self) -> Engine:
        if self.url.get_backend_name() == "sqlite":
            database = Path(self.url.database or "")
            try:
                database.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"{database}: cannot create the folder ({error})") from None
            engine = sa.create_engine(self.url, connect_args={"timeout": 60})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        try:
            return sa.create_engine(self.url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as error:
            raise StoreError(f"--store {self.label}: {error}") from None

    @property
    def _sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def _locked(self) -> Iterator[sa.Connection]:
        """A transaction holding the store's write lock from its first statement, so that
        processes opening the store at once create or migrate it one after the other."""
        with self.engine.connect() as conn:
            if self._sqlite:
                # pysqlite would begin only at the first INSERT, leaving DDL outside.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK)))
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _open(self, writer: bool) -> None:
        try:
            with self._locked() as conn:
                self.migrated_from = prepare(conn, writer, self.label)
        except SQLAlchemyError as error:
            raise StoreError(f"{self.label}: cannot open the run store ({_short(error)})") from None
        if self.migrated_from is not None and self._sqlite:
            self._vacuum()

    def _vacuum(self) -> None:
        """Give the version-1 tables' space back to the file system (outside any transaction)."""
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM")
                # VACUUM wrote the whole file through the WAL: give that back too.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except OperationalError:
            # A reader holds the file open: the migrated store is whole, only larger.
            pass

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def ensure_batch(
        self,
        batch_id: str,
        name: str,
        sweep: dict[str, Any],
        source: str,
        base_sha256: str,
        n_scenarios: int,
    ) -> bool:
        """Record a batch unless it is already there; returns True if it was new."""
        row = {
            "batch_id": batch_id,
            "name": name,
            "sweep": json.dumps(sweep, sort_keys=True),
            "source": source,
            "base_sha256": base_sha256,
            "n_scenarios": n_scenarios,
            "created_at": _now(),
        }
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(
                    sa.select(batches.c.batch_id).where(batches.c.batch_id == batch_id)
                ).first()
                if exists:
                    return False
                conn.execute(batches.insert().values(**row))
                return True
        except IntegrityError:
            return False

    def _batch_key(self, batch_id: str) -> int | None:
        """The batch's integer key (None for an unknown batch); a batch's key never changes."""
        key = self._batch_keys.get(batch_id)
        if key is None:
            with self.engine.connect() as conn:
                key = conn.execute(
                    sa.select(batches.c.batch_key).where(batches.c.batch_id == batch_id)
                ).scalar()
            if key is not None:
                self._batch_keys[batch_id] = key
        return key

    def record(
        self, batch_id: str, position: int, labels: dict[str, Any], content: str, outcome: Outcome
    ) -> bool:
        """Store one finished scenario in one transaction; False if it was already stored.

        Raises StoreError for a batch not recorded with :meth:`ensure_batch`, or when the
        database refuses the rows.
        """
        batch_key = self._batch_key(batch_id)
        if batch_key is None:
            raise StoreError(f"{self.label}: no batch {batch_id[:12]} to store a scenario in")
        sid = outcome.scenario_id
        try:
            with self.engine.begin() as conn:
                # No look-ups first: a scenario stored already makes the results insert fail
                # (primary key), and the whole transaction is rolled back.
                key = conn.execute(
                    self._insert_scenario,
                    {
                        "batch_key": batch_key,
                        "scenario_id": sid,
                        "position": position,
                        "labels": json.dumps(labels, default=str),
                        "content": content,
                    },
                ).scalar()
                if key is None:  # its row is there (written without a result): reuse it
                    key = conn.execute(
                        sa.select(scenarios.c.scenario_key).where(
                            scenarios.c.batch_key == batch_key, scenarios.c.scenario_id == sid
                        )
                    ).scalar_one()
                # The results table's columns are the outcome's fields and the time stored.
                row = {
                    c.name: getattr(outcome, c.name)
                    for c in RESULT_COLUMNS
                    if c.name != "finished_at"
                }
                row.update(
                    scenario_key=key, objective=_finite(outcome.objective), finished_at=_now()
                )
                conn.execute(results.insert(), row)
                for name, columns in outcome.details.items():
                    insert_rows(conn, DETAIL_TABLES[name], key, columns)
            return True
        except IntegrityError as error:
            # A second driver on the same batch stored it first: nothing is stored twice.
            if sid in self._stored(batch_key, [sid]):
                return False
            raise StoreError(
                f"{self.label}: cannot store scenario {sid[:12]} ({_short(error)})"
            ) from None

    def _stored(self, batch_key: int, ids: list[str]) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.select(scenarios.c.scenario_id)
                    .join(results, results.c.scenario_key == scenarios.c.scenario_key)
                    .where(scenarios.c.batch_key == batch_key, scenarios.c.scenario_id.in_(ids))
                ).scalars()
            )

    # ------------------------------------------------------------------ reading

    def forget_failed(self, batch_id: str) -> int:
        """Delete the batch's scenarios that raised or timed out (:data:`FAILED`), so that
        the next run solves them again; returns how many. Scenarios with an answer are kept."""
        batch_key = self._batch_key(batch_id)
        if batch_key is None:
            return 0
        with self.engine.begin() as conn:
            keys = (
                conn.execute(
                    sa.select(results.c.scenario_key)
                    .join(scenarios, scenarios.c.scenario_key == results.c.scenario_key)
                    .where(scenarios.c.batch_key == batch_key, results.c.status.in_(FAILED))
                )
                .scalars()
                .all()
            )
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                for table in (*DETAIL_TABLES.values(), results, scenarios):
                    conn.execute(sa.delete(table).where(table.c.scenario_key.in_(chunk)))
        return len(keys)

    def done_ids(self, batch_id: str) -> set[str]:
        """Ids of the batch's scenarios that have a stored result (failures included)."""
        return set(self.stored_positions(batch_id).values())

    def stored_positions(self, batch_id: str) -> dict[int, str]:
        """Position in the sweep -> id of the batch's scenarios that have a stored result."""
        query = (
            sa.select(scenarios.c.position, scenarios.c.scenario_id)
            .join(results, results.c.scenario_key == scenarios.c.scenario_key)
            .join(batches, batches.c.batch_key == scenarios.c.batch_key)
            .where(batches.c.batch_id == batch_id)
        )
        with self.engine.connect() as conn:
            return {position: sid for position, sid in conn.execute(query)}

    def batches(self) -> pd.DataFrame:
        """Every batch with its counts: scenarios, stored, failed (errors, timeouts), no plan."""
        status = results.c.status
        query = (
            sa.select(
                batches.c.batch_id,
                batches.c.name,
                batches.c.created_at,
                batches.c.n_scenarios,
                sa.func.count(results.c.scenario_key).label("stored"),
                sa.func.coalesce(sa.func.sum(sa.case((status.in_(FAILED), 1), else_=0)), 0).label(
                    "failed"
                ),
                sa.func.coalesce(
                    sa.func.sum(
                        sa.case((status.in_(["optimal", "feasible", *FAILED]), 0), else_=1)
                    ),
                    0,
                ).label("no_plan"),
            )
            .select_from(
                batches.outerjoin(
                    scenarios.join(results, results.c.scenario_key == scenarios.c.scenario_key),
                    scenarios.c.batch_key == batches.c.batch_key,
                )
            )
            .group_by(batches.c.batch_key)
            .order_by(batches.c.created_at, batches.c.batch_key)
        )
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def find_batch(self, ref: str) -> dict[str, Any]:
        """The batch whose id starts with ``ref``, or the latest batch named ``ref``.

        Raises StoreError when none or several match.
        """
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(*BATCH_COLUMNS).where(batches.c.batch_id.startswith(ref.lower()))
                )
                .mappings()
                .all()
            )
            if not rows:
                rows = (
                    conn.execute(
                        sa.select(*BATCH_COLUMNS)
                        .where(batches.c.name == ref)
                        .order_by(batches.c.created_at.desc())
                        .limit(1)
                    )
                    .mappings()
                    .all()
                )
        if not rows:
            raise StoreError(f"{self.label}: no batch {ref!r} (see: python optimise.py runs list)")
        if len(rows) > 1:
            raise StoreError(f"{self.label}: {len(rows)} batches start with {ref!r}; give more")
        return dict(rows[0])

    def frame(self, table: str, batch_id: str) -> pd.DataFrame:
        """One table's rows for a batch, with the batch's and scenarios' ids (not the
        store's integer keys): ``results`` comes with position and labels, in position
        order; the other tables by scenario id, then in the order the worker sent them."""
        in_batch = scenarios.join(batches, batches.c.batch_key == scenarios.c.batch_key)
        if table == "results":
            query = (
                sa.select(
                    scenarios.c.position,
                    scenarios.c.labels,
                    batches.c.batch_id,
                    scenarios.c.scenario_id,
                    *RESULT_COLUMNS,
                )
                .select_from(
                    in_batch.join(results, results.c.scenario_key == scenarios.c.scenario_key)
                )
                .order_by(scenarios.c.position)
            )
        elif table == "scenarios":
            query = (
                sa.select(batches.c.batch_id, *(scenarios.c[c] for c in SCENARIO_COLUMNS))
                .select_from(in_batch)
                .order_by(scenarios.c.scenario_id)
            )
        else:
            t = DETAIL_TABLES[table]
            query = (
                sa.select(
                    batches.c.batch_id,
                    scenarios.c.scenario_id,
                    *(c for c in t.columns if c.name not in ("scenario_key", "seq")),
                )
                .select_from(in_batch.join(t, t.c.scenario_key == scenarios.c.scenario_key))
                .order_by(scenarios.c.scenario_id, t.c.seq)
            )
        with self.engine.connect() as conn:
            return pd.read_sql(query.where(batches.c.batch_id == batch_id), conn)

    def contents(self, batch_id: str, scenario_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored scenario contents (file-format dicts) by scenario id."""
        ids = list(scenario_ids)
        batch_key = self._batch_key(batch_id)
        out: dict[str, dict[str, Any]] = {}
        if batch_key is None:
            return out
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    sa.select(scenarios.c.scenario_id, scenarios.c.content).where(
                        scenarios.c.batch_key == batch_key,
                        scenarios.c.scenario_id.in_(ids[start : start + 500]),
                    )
                )
                out.update({sid: json.loads(text) for sid, text in rows})
        return out


def open_store(text: str, writer: bool = False, create: bool = False) -> RunStore:
    """Open the store named by ``--store`` (URL, file or folder) for reading, or for
    writing (``writer``: a version-1 store is migrated); ``create``: a SQLite store that
    does not exist yet is created, else refused. Raises StoreError."""
    url = store_url(text)
    if not create and url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        # A mistyped path would otherwise leave an empty store behind and report no batches.
        raise StoreError(f"{text}: no run store here (check the path; `batch` creates one)")
    return RunStore(url, writer=writer)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _short(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__


__all__ = ["SQLITE_FILE", "Outcome", "RunStore", "open_store", "store_url"]
