"""The run store: batches, scenarios and their results in SQL (SQLAlchemy Core).

SQLite by default (one file, WAL mode so readers keep working while a batch writes);
PostgreSQL through a URL. Each finished scenario is written in its own transaction,
keyed by (batch, scenario hash): a driver or worker killed at any moment leaves only whole
scenarios behind, and re-running a batch skips what is stored and never stores twice.

Tables (money in the fund's currency units):

- ``schema_version``: the layout's version (:data:`SCHEMA_VERSION`);
- ``batches``: batch_id, name, sweep (JSON), source, base_sha256, n_scenarios, created_at;
- ``scenarios``: batch_id, scenario_id (content hash), position, labels (JSON), content (JSON);
- ``results``: batch_id, scenario_id, status (optimal, infeasible, ..., error, timed_out),
  objective, total_allocated, solve_seconds, wall_seconds, mode (warm/cold), worker,
  message, error, finished_at;
- ``area_funding``: batch_id, scenario_id, area, year, amount, share;
- ``allocations``: batch_id, scenario_id, member, area, year, amount (non-zero flows);
- ``constraints``: batch_id, scenario_id, name, kind, area, member, year, policy,
  shadow_price (binding constraints a planner set);
- ``diagnoses``: batch_id, scenario_id, name, kind, relax_by, message (infeasible scenarios).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from engine.errors import EngineError

#: Version of the table layout; a store written by another version is refused, not altered.
SCHEMA_VERSION = 1
#: File created inside a folder given as ``--store``.
SQLITE_FILE = "runs.sqlite"

metadata = sa.MetaData()


def _keys() -> list[sa.Column]:
    return [
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("scenario_id", sa.String(64), nullable=False),
    ]


schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sweep", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("base_sha256", sa.String(64), nullable=False),
    sa.Column("n_scenarios", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
scenarios = sa.Table(
    "scenarios",
    metadata,
    *_keys(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("labels", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("batch_id", "scenario_id"),
    sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"]),
)
results = sa.Table(
    "results",
    metadata,
    *_keys(),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("objective", sa.Float),
    sa.Column("total_allocated", sa.Float),
    sa.Column("solve_seconds", sa.Float),
    sa.Column("wall_seconds", sa.Float),
    sa.Column("mode", sa.String(8)),
    sa.Column("worker", sa.String(200)),
    sa.Column("message", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("batch_id", "scenario_id"),
    sa.ForeignKeyConstraint(
        ["batch_id", "scenario_id"], ["scenarios.batch_id", "scenarios.scenario_id"]
    ),
)
area_funding = sa.Table(
    "area_funding",
    metadata,
    *_keys(),
    sa.Column("area", sa.String(100), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Index("ix_area_funding_scenario", "batch_id", "scenario_id"),
)
allocations = sa.Table(
    "allocations",
    metadata,
    *_keys(),
    sa.Column("member", sa.String(8), nullable=False),
    sa.Column("area", sa.String(100), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Index("ix_allocations_scenario", "batch_id", "scenario_id"),
)
constraints = sa.Table(
    "constraints",
    metadata,
    *_keys(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("area", sa.String(100)),
    sa.Column("member", sa.String(8)),
    sa.Column("year", sa.Integer),
    sa.Column("policy", sa.String(100)),
    sa.Column("shadow_price", sa.Float),
    sa.Index("ix_constraints_scenario", "batch_id", "scenario_id"),
)
diagnoses = sa.Table(
    "diagnoses",
    metadata,
    *_keys(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("relax_by", sa.Float),
    sa.Column("message", sa.Text),
    sa.Index("ix_diagnoses_scenario", "batch_id", "scenario_id"),
)

#: Status of a scenario stopped by the batch's wall-clock timeout.
TIMED_OUT = "timed_out"
#: Statuses without a solver's answer: the scenario raised, or overran the timeout.
FAILED = ("error", TIMED_OUT)

#: Detail tables, each as columns (name -> values) in :class:`Outcome`.
DETAIL_TABLES = {
    "area_funding": area_funding,
    "allocations": allocations,
    "constraints": constraints,
    "diagnoses": diagnoses,
}


class StoreError(EngineError):
    """The run store cannot be opened, has another schema version, or a batch is unknown."""


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

    Raises StoreError when the database cannot be reached or has another schema version.
    """

    def __init__(self, url: str | URL) -> None:
        self.url = store_url(url) if isinstance(url, str) else url
        self.label = self.url.render_as_string(hide_password=True)
        self.engine = self._connect()
        self._migrate()

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

    def _migrate(self, retry: bool = True) -> None:
        try:
            with self.engine.begin() as conn:
                metadata.create_all(conn, checkfirst=True)
                found = conn.execute(sa.select(schema_version.c.version)).scalars().all()
                if not found:
                    conn.execute(
                        schema_version.insert().values(version=SCHEMA_VERSION, created_at=_now())
                    )
                elif found != [SCHEMA_VERSION]:
                    raise StoreError(
                        f"{self.label}: the store has schema version {found}, this engine "
                        f"writes version {SCHEMA_VERSION}; export it with the engine that "
                        "wrote it, or use a new store"
                    )
        except IntegrityError:
            if not retry:
                raise
            # Another process created the same tables at the same moment: use theirs.
            self._migrate(retry=False)
        except SQLAlchemyError as error:
            raise StoreError(f"{self.label}: cannot open the run store ({_short(error)})") from None

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

    def record(
        self, batch_id: str, position: int, labels: dict[str, Any], content: str, outcome: Outcome
    ) -> bool:
        """Store one finished scenario in one transaction; False if it was already stored."""
        key = {"batch_id": batch_id, "scenario_id": outcome.scenario_id}
        try:
            with self.engine.begin() as conn:
                # No look-ups first: a scenario stored already makes the results insert fail
                # (primary key), and the whole transaction is rolled back.
                conn.execute(
                    self._insert_new(scenarios).values(
                        **key,
                        position=position,
                        labels=json.dumps(labels, default=str),
                        content=content,
                    )
                )
                conn.execute(
                    results.insert().values(
                        **key,
                        status=outcome.status,
                        objective=_finite(outcome.objective),
                        total_allocated=outcome.total_allocated,
                        solve_seconds=outcome.solve_seconds,
                        wall_seconds=outcome.wall_seconds,
                        mode=outcome.mode,
                        worker=outcome.worker,
                        message=outcome.message,
                        error=outcome.error,
                        finished_at=_now(),
                    )
                )
                for name, columns in outcome.details.items():
                    self._insert_rows(conn, DETAIL_TABLES[name], key, columns)
            return True
        except IntegrityError as error:
            # A second driver on the same batch stored it first: nothing is stored twice.
            if outcome.scenario_id in self._stored(batch_id, [outcome.scenario_id]):
                return False
            raise StoreError(
                f"{self.label}: cannot store scenario {outcome.scenario_id[:12]} ({_short(error)})"
            ) from None

    def _insert_new(self, table: sa.Table) -> Any:
        """An INSERT that skips a row whose primary key is there already."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table).on_conflict_do_nothing()

    def _insert_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: dict[str, str],
        columns: dict[str, list[Any]],
    ) -> None:
        """Rows zipped from the columns (a missing column is NULL) in one executemany, or
        one COPY on PostgreSQL: SQLAlchemy's per-row parameter processing would cost as
        much as the database's own work for the thousands of flows of a scenario."""
        names = [c.name for c in table.columns]
        n = max((len(v) for v in columns.values()), default=0)
        if not n:
            return
        values = zip(
            repeat(key["batch_id"], n),
            repeat(key["scenario_id"], n),
            *(columns.get(c) or repeat(None, n) for c in names[2:]),
            strict=False,
        )
        if self.engine.dialect.name == "postgresql":
            # COPY in the same transaction: a third of executemany's CPU on the driver.
            sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
            dbapi = self.engine.dialect.dbapi
            cursor = conn.connection.driver_connection.cursor()
            try:
                with cursor, cursor.copy(sql) as copy:
                    for row in values:
                        copy.write_row(row)
            except dbapi.Error as error:
                # As SQLAlchemy reports its own statements' errors (IntegrityError, ...).
                raise sa.exc.DBAPIError.instance(sql, None, error, dbapi.Error) from error
            return
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join([mark] * len(names))})"
        )
        conn.exec_driver_sql(sql, list(values))

    def _stored(self, batch_id: str, ids: list[str]) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.select(results.c.scenario_id).where(
                        results.c.batch_id == batch_id, results.c.scenario_id.in_(ids)
                    )
                ).scalars()
            )

    # ------------------------------------------------------------------ reading

    def forget_failed(self, batch_id: str) -> int:
        """Delete the batch's scenarios that raised or timed out (:data:`FAILED`), so that
        the next run solves them again; returns how many. Scenarios with an answer are kept."""
        with self.engine.begin() as conn:
            failed = (results.c.batch_id == batch_id) & results.c.status.in_(FAILED)
            ids = conn.execute(sa.select(results.c.scenario_id).where(failed)).scalars().all()
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(sa.delete(results).where(failed, results.c.scenario_id.in_(chunk)))
                conn.execute(
                    sa.delete(scenarios).where(
                        scenarios.c.batch_id == batch_id, scenarios.c.scenario_id.in_(chunk)
                    )
                )
        return len(ids)

    def done_ids(self, batch_id: str) -> set[str]:
        """Ids of the batch's scenarios that have a stored result (failures included)."""
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.select(results.c.scenario_id).where(results.c.batch_id == batch_id)
                ).scalars()
            )

    def stored_positions(self, batch_id: str) -> dict[int, str]:
        """Position in the sweep -> id of the batch's scenarios that have a stored result."""
        query = (
            sa.select(scenarios.c.position, scenarios.c.scenario_id)
            .join(
                results,
                (results.c.batch_id == scenarios.c.batch_id)
                & (results.c.scenario_id == scenarios.c.scenario_id),
            )
            .where(scenarios.c.batch_id == batch_id)
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
                sa.func.count(results.c.scenario_id).label("stored"),
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
            .select_from(batches.outerjoin(results, results.c.batch_id == batches.c.batch_id))
            .group_by(batches.c.batch_id)
            .order_by(batches.c.created_at)
        )
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def find_batch(self, ref: str) -> dict[str, Any]:
        """The batch whose id starts with ``ref``, or the latest batch named ``ref``.

        Raises StoreError when none or several match.
        """
        with self.engine.connect() as conn:
            rows = (
                conn.execute(sa.select(batches).where(batches.c.batch_id.startswith(ref.lower())))
                .mappings()
                .all()
            )
            if not rows:
                rows = (
                    conn.execute(
                        sa.select(batches)
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
        """One table's rows for a batch (``results`` comes with position and labels)."""
        if table == "results":
            query = (
                sa.select(scenarios.c.position, scenarios.c.labels, results)
                .join(
                    scenarios,
                    (scenarios.c.batch_id == results.c.batch_id)
                    & (scenarios.c.scenario_id == results.c.scenario_id),
                )
                .where(results.c.batch_id == batch_id)
                .order_by(scenarios.c.position)
            )
        else:
            t = metadata.tables[table]
            query = sa.select(t).where(t.c.batch_id == batch_id)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def contents(self, batch_id: str, scenario_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored scenario contents (file-format dicts) by scenario id."""
        ids = list(scenario_ids)
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    sa.select(scenarios.c.scenario_id, scenarios.c.content).where(
                        scenarios.c.batch_id == batch_id,
                        scenarios.c.scenario_id.in_(ids[start : start + 500]),
                    )
                )
                out.update({sid: json.loads(text) for sid, text in rows})
        return out


def open_store(text: str) -> RunStore:
    """Open the store named by ``--store`` (URL, file or folder); raises StoreError."""
    return RunStore(store_url(text))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _short(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__


__all__ = [
    "DETAIL_TABLES",
    "FAILED",
    "SCHEMA_VERSION",
    "TIMED_OUT",
    "Outcome",
    "RunStore",
    "StoreError",
    "open_store",
    "store_url",
]
