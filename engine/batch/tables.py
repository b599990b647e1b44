"""The run store's tables (schema version 2, money in the fund's currency units).

- ``schema_version``: the layout's version (:data:`SCHEMA_VERSION`);
- ``batches``: batch_key, batch_id (unique), name, sweep (JSON), source, base_sha256,
  n_scenarios, created_at;
- ``scenarios``: scenario_key, batch_key, scenario_id (content hash, unique in its batch),
  position, labels (JSON), content (JSON);
- ``results``: scenario_key, status (optimal, infeasible, ..., error, timed_out),
  objective, total_allocated, solve_seconds, wall_seconds, mode (warm/cold), worker,
  message, error, finished_at;
- ``area_funding``: scenario_key, seq, area, year, amount, share;
- ``allocations``: scenario_key, seq, member, area, year, amount (non-zero flows);
- ``constraints``: scenario_key, seq, name, kind, area, member, year, policy,
  shadow_price (binding constraints a planner set);
- ``diagnoses``: scenario_key, seq, name, kind, relax_by, message (infeasible scenarios).

Batches and scenarios are known by their content hashes (``batch_id``, ``scenario_id``: 64
hex characters, the public identity); inside the store each also has an integer key, and
the long detail tables carry only the scenario's key. ``seq`` numbers a scenario's rows in
the order the worker sent them; (scenario_key, seq) is the detail tables' only index (on
SQLite the table itself: ``WITHOUT ROWID``). Version 1's layout and its migration:
:mod:`engine.batch.migrations`.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.results.schema import FRAMES

#: Version of the table layout this engine writes; version 1 is migrated, others refused.
SCHEMA_VERSION = 2

metadata = sa.MetaData()

# 64-bit keys on PostgreSQL; on SQLite "INTEGER PRIMARY KEY" is the table's rowid itself.
_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _detail(name: str, *columns: sa.Column) -> sa.Table:
    """A long detail table keyed by (scenario_key, seq), clustered on that key on SQLite."""
    return sa.Table(
        name,
        metadata,
        sa.Column("scenario_key", _KEY, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("scenario_key", "seq"),
        sqlite_with_rowid=False,
    )


schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_key", _KEY, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(64), nullable=False, unique=True),
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
    sa.Column("scenario_key", _KEY, primary_key=True, autoincrement=True),
    sa.Column("batch_key", _KEY, sa.ForeignKey("batches.batch_key"), nullable=False),
    sa.Column("scenario_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("labels", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.UniqueConstraint("batch_key", "scenario_id"),
)
results = sa.Table(
    "results",
    metadata,
    sa.Column(
        "scenario_key",
        _KEY,
        sa.ForeignKey("scenarios.scenario_key"),
        primary_key=True,
        autoincrement=False,
    ),
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
)
#: What each detail table stores: the result frame (:mod:`engine.results.schema`) and the
#: frame's columns it leaves out. A plan's ``value`` per area, a row's ``label`` (its words
#: for a planner) and a binding row's activity, bounds and slack are not stored: the summary
#: and exports need the amounts, the binding rules' keys and their shadow prices.
_LEFT_OUT: dict[str, tuple[str, tuple[str, ...]]] = {
    "area_funding": ("areas", ("value",)),
    "allocations": ("allocation", ()),
    "constraints": ("constraints", ("label", "activity", "lower", "upper", "slack", "binding")),
    "diagnoses": ("diagnosis", ("label",)),
}
#: The stored columns of each detail table, in the result frame's order.
STORED_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c for c in FRAMES[frame] if c not in left_out)
    for table, (frame, left_out) in _LEFT_OUT.items()
}
# Each stored column's type; a constraint's area, member, year and policy apply to some
# kinds of row only, and a diagnosis may have no relaxation or message.
_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "member": sa.String(8),
    "area": sa.String(100),
    "year": sa.Integer(),
    "amount": sa.Float(),
    "share": sa.Float(),
    "name": sa.String(200),
    "kind": sa.String(32),
    "policy": sa.String(100),
    "shadow_price": sa.Float(),
    "relax_by": sa.Float(),
    "message": sa.Text(),
}
_OPTIONAL = {
    "constraints": {"area", "member", "year", "policy", "shadow_price"},
    "diagnoses": {"relax_by", "message"},
}


def _stored(name: str) -> sa.Table:
    optional = _OPTIONAL.get(name, set())
    return _detail(
        name,
        *(sa.Column(c, _TYPES[c], nullable=c in optional) for c in STORED_COLUMNS[name]),
    )


area_funding = _stored("area_funding")
allocations = _stored("allocations")
constraints = _stored("constraints")
diagnoses = _stored("diagnoses")

#: Status of a scenario stopped by the batch's wall-clock timeout.
TIMED_OUT = "timed_out"
#: Statuses without a solver's answer: the scenario raised, or overran the timeout.
FAILED = ("error", TIMED_OUT)

#: Detail tables, each as columns (name -> values) in :class:`engine.batch.store.Outcome`.
DETAIL_TABLES = {
    "area_funding": area_funding,
    "allocations": allocations,
    "constraints": constraints,
    "diagnoses": diagnoses,
}
# Columns of each table as readers see them (version 1's layout, the hashes joined back).
BATCH_COLUMNS = [c for c in batches.columns if c.name != "batch_key"]
RESULT_COLUMNS = [c for c in results.columns if c.name != "scenario_key"]
SCENARIO_COLUMNS = ["scenario_id", "position", "labels", "content"]


def insert_new(dialect: sa.Dialect, table: sa.Table) -> Any:
    """An INSERT that skips a row whose key is there already."""
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_rows(
    conn: sa.Connection, table: sa.Table, key: int, columns: dict[str, list[Any]]
) -> None:
    """One scenario's rows of a detail table, zipped from the columns (a missing column is
    NULL), in one executemany, or one COPY on PostgreSQL: SQLAlchemy's per-row parameter
    processing would cost as much as the database's own work for the thousands of flows
    of a scenario."""
    names = [c.name for c in table.columns]
    n = max((len(v) for v in columns.values()), default=0)
    if not n:
        return
    values = zip(
        repeat(key, n),
        range(n),
        *(columns.get(c) or repeat(None, n) for c in names[2:]),
        strict=False,
    )
    dialect = conn.dialect
    if dialect.name == "postgresql":
        # COPY in the same transaction: a third of executemany's CPU on the driver.
        sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        dbapi = cast(Any, dialect.dbapi)  # psycopg 3
        cursor = cast(Any, conn.connection.driver_connection).cursor()
        try:
            with cursor, cursor.copy(sql) as copy:
                for row in values:
                    copy.write_row(row)
        except dbapi.Error as error:
            # As SQLAlchemy reports its own statements' errors (IntegrityError, ...).
            raise sa.exc.DBAPIError.instance(sql, None, error, dbapi.Error) from error
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    conn.exec_driver_sql(sql, list(values))


__all__ = [
    "BATCH_COLUMNS",
    "DETAIL_TABLES",
    "FAILED",
    "RESULT_COLUMNS",
    "SCENARIO_COLUMNS",
    "SCHEMA_VERSION",
    "STORED_COLUMNS",
    "TIMED_OUT",
    "allocations",
    "area_funding",
    "batches",
    "constraints",
    "diagnoses",
    "insert_new",
    "insert_rows",
    "metadata",
    "results",
    "scenarios",
    "schema_version",
]
