"""The run store's schema versions: create the tables of a new store, refuse a version
this engine cannot read, migrate version 1 to version 2.

Version 1 stores (every row keyed by the batch's and the scenario's hashes) are migrated to
version 2 in one transaction when a writer opens them (``python optimise.py runs
migrate``); readers refuse them with that command rather than misread them.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from engine.batch.tables import (
    BATCH_COLUMNS,
    DETAIL_TABLES,
    RESULT_COLUMNS,
    SCENARIO_COLUMNS,
    SCHEMA_VERSION,
    metadata,
    schema_version,
)
from engine.errors import StoreError

#: Command that migrates a store, named in the message that refuses an old one.
MIGRATE_COMMAND = "python optimise.py runs migrate --store"


def prepare(conn: sa.Connection, writer: bool, label: str) -> int | None:
    """Make the store behind ``conn`` (in the caller's locked transaction) one of
    :data:`SCHEMA_VERSION`: create the tables of an empty store, or migrate a version-1
    store (``writer`` only). Returns the version migrated from, None if nothing was.

    Raises StoreError for another version, or a version-1 store opened by a reader.
    """
    tables = set(sa.inspect(conn).get_table_names())
    if "schema_version" not in tables:
        metadata.create_all(conn)
        created = dt.datetime.now(dt.UTC)
        conn.execute(schema_version.insert().values(version=SCHEMA_VERSION, created_at=created))
        return None
    found = conn.execute(sa.select(schema_version.c.version)).scalars().all()
    if found == [SCHEMA_VERSION]:
        return None
    if found != [1]:
        raise StoreError(
            f"{label}: the store has schema version {found}, this engine "
            f"reads versions 1 and {SCHEMA_VERSION}; use the engine that wrote it, "
            "or a new store"
        )
    if not writer:
        raise StoreError(
            f"{label}: the store has schema version 1, this engine reads "
            f"version {SCHEMA_VERSION}; migrate it first (one transaction, "
            f"nothing lost): {MIGRATE_COMMAND} {label}"
        )
    migrate_v1(conn, tables, label)
    return 1


def migrate_v1(conn: sa.Connection, tables: set[str], label: str) -> None:
    """Rewrite a version-1 store (every row keyed by the batch's and the scenario's hashes)
    as version 2 inside the caller's transaction: a crash anywhere leaves version 1 whole.

    Keys follow the rows' physical order (the order version 1 returned them in), so the
    frames read back are the same. Raises StoreError when a table's row count changes.
    """
    sqlite = conn.dialect.name == "sqlite"
    names = ["batches", "scenarios", "results", *DETAIL_TABLES]
    missing = [name for name in names if name not in tables]
    if missing:
        raise StoreError(f"{label}: version-1 store without its table(s) {', '.join(missing)}")
    old = {name: f"{name}_v1" for name in names}
    if not sqlite:
        # Index names are schema-wide on PostgreSQL: free "batches_pkey" etc. for version 2.
        indexes = conn.execute(
            sa.text(
                "select indexname from pg_indexes "
                "where schemaname = current_schema() and tablename = any(:names)"
            ),
            {"names": names},
        ).scalars()
        for index in list(indexes):
            conn.exec_driver_sql(f'ALTER INDEX "{index}" RENAME TO "{index}_v1"')
    for name, renamed in old.items():
        conn.exec_driver_sql(f"ALTER TABLE {name} RENAME TO {renamed}")
    metadata.create_all(conn)
    physical = "rowid" if sqlite else "ctid"
    batch_columns = ", ".join(c.name for c in BATCH_COLUMNS)
    conn.exec_driver_sql(
        f"INSERT INTO batches ({batch_columns}) SELECT {batch_columns} FROM {old['batches']} "
        f"ORDER BY {physical}"
    )
    conn.exec_driver_sql(
        f"INSERT INTO scenarios (batch_key, {', '.join(SCENARIO_COLUMNS)}) "
        f"SELECT b.batch_key, {', '.join(f's.{c}' for c in SCENARIO_COLUMNS)} "
        f"FROM {old['scenarios']} s JOIN batches b ON b.batch_id = s.batch_id "
        f"ORDER BY s.{physical}"
    )
    keyed = (
        "JOIN batches b ON b.batch_id = o.batch_id "
        "JOIN scenarios s ON s.batch_key = b.batch_key AND s.scenario_id = o.scenario_id"
    )
    result_columns = ", ".join(c.name for c in RESULT_COLUMNS)
    conn.exec_driver_sql(
        f"INSERT INTO results (scenario_key, {result_columns}) "
        f"SELECT s.scenario_key, {', '.join(f'o.{c.name}' for c in RESULT_COLUMNS)} "
        f"FROM {old['results']} o {keyed}"
    )
    for name, table in DETAIL_TABLES.items():
        columns = [c.name for c in table.columns][2:]
        conn.exec_driver_sql(
            f"INSERT INTO {name} (scenario_key, seq, {', '.join(columns)}) "
            "SELECT s.scenario_key, "
            f"ROW_NUMBER() OVER (PARTITION BY s.scenario_key ORDER BY o.{physical}) - 1, "
            f"{', '.join(f'o.{c}' for c in columns)} FROM {old[name]} o {keyed}"
        )
    for name, renamed in old.items():
        before = conn.exec_driver_sql(f"SELECT count(*) FROM {renamed}").scalar()
        after = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()
        if before != after:
            raise StoreError(
                f"{label}: migrating to schema version {SCHEMA_VERSION}: table {name} has {before} "
                f"rows in version 1 but {after} after (rows whose scenario is not stored); "
                "the store is left at version 1"
            )
    for renamed in reversed(old.values()):
        conn.exec_driver_sql(f"DROP TABLE {renamed}")
    conn.execute(schema_version.update().values(version=SCHEMA_VERSION))


__all__ = ["MIGRATE_COMMAND", "migrate_v1", "prepare"]
