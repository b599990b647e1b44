"""The run store on SQLite and on a real PostgreSQL server (ENGINE_TEST_POSTGRES_URL)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from engine.batch import tables as store_tables
from engine.batch.migrations import MIGRATE_COMMAND
from engine.batch.store import Outcome, RunStore, open_store, store_url
from engine.batch.tables import DETAIL_TABLES, SCHEMA_VERSION
from engine.errors import StoreError
from tests.cli_runs import run_many

PG_ENV = "ENGINE_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parents[1]


def postgres_or_skip() -> str:
    """The test server's URL, or skip saying why there is none."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (.ci/run starts PostgreSQL on localhost and sets it)")
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:
        pytest.skip(f"PostgreSQL at {PG_ENV} is unreachable: {type(error).__name__}")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite folder, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "store")
        return
    base = postgres_or_skip()
    schema = f"batch_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def outcome(sid: str, amount: float = 1.0) -> Outcome:
    return Outcome(
        scenario_id=sid,
        status="optimal",
        objective=2.0,
        total_allocated=amount,
        details={
            "area_funding": {"area": ["cyber"], "year": [2026], "amount": [amount], "share": [1.0]}
        },
    )


def new_batch(store: RunStore, batch_id: str = "b" * 64) -> str:
    store.ensure_batch(batch_id, "t", {"name": "t"}, "t.yaml", "c" * 64, 3)
    return batch_id


def test_a_new_store_records_its_schema_version(backend_url: str):
    with RunStore(store_url(backend_url)) as store, store.engine.connect() as conn:
        assert conn.execute(sa.text("select version from schema_version")).scalars().all() == [
            SCHEMA_VERSION
        ]
    with RunStore(store_url(backend_url)) as again:  # reopening does not add a second row
        assert again.batches().empty


def test_a_store_of_another_schema_version_is_refused(tmp_path: Path):
    with RunStore(store_url(str(tmp_path))) as store, store.engine.begin() as conn:
        conn.execute(sa.text("update schema_version set version = 99"))
    with pytest.raises(StoreError, match="schema version"):
        RunStore(store_url(str(tmp_path)))


def test_the_detail_tables_keep_version_2s_columns_taken_from_the_result_schema():
    # The columns come from engine.results.schema; a column added to a result frame must
    # not change the stored layout of version 2 without a migration.
    assert {name: [c.name for c in t.columns][2:] for name, t in DETAIL_TABLES.items()} == {
        "area_funding": ["area", "year", "amount", "share"],
        "allocations": ["member", "area", "year", "amount"],
        "constraints": ["name", "kind", "area", "member", "year", "policy", "shadow_price"],
        "diagnoses": ["name", "kind", "relax_by", "message"],
    }
    assert SCHEMA_VERSION == 2


def test_recording_a_scenario_twice_stores_it_once(backend_url: str):
    with RunStore(store_url(backend_url)) as store:
        batch = new_batch(store)
        assert store.record(batch, 0, {"draw": 0}, "{}", outcome("s" * 64))
        assert not store.record(batch, 0, {"draw": 0}, "{}", outcome("s" * 64, amount=5.0))
        assert len(store.frame("results", batch)) == 1
        funding = store.frame("area_funding", batch)
        assert funding["amount"].tolist() == [1.0]
        assert store.done_ids(batch) == {"s" * 64}


def test_a_scenario_is_stored_whole_or_not_at_all(backend_url: str):
    with RunStore(store_url(backend_url)) as store:
        batch = new_batch(store)
        # A funding row without its year and amount fails after the result row was written.
        broken = Outcome("x" * 64, "optimal", details={"area_funding": {"area": ["cyber"]}})
        with pytest.raises(StoreError, match="cannot store scenario"):
            store.record(batch, 0, {}, "{}", broken)
        assert store.done_ids(batch) == set()
        assert store.frame("scenarios", batch).empty


def test_finding_a_batch_by_id_prefix_or_name(backend_url: str):
    with RunStore(store_url(backend_url)) as store:
        batch = new_batch(store, "ab" + "0" * 62)
        assert store.find_batch("ab00")["batch_id"] == batch
        assert store.find_batch("t")["batch_id"] == batch
        with pytest.raises(StoreError, match="no batch"):
            store.find_batch("zz")


def test_store_urls_accept_folders_files_and_postgres():
    assert store_url("runs").database == str(Path("runs") / "runs.sqlite")
    assert store_url("a/b.sqlite").database == "a/b.sqlite"
    assert store_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(StoreError, match="not a database URL"):
        store_url("://nowhere")
    with pytest.raises(StoreError, match="nonsense"):
        RunStore(store_url("nonsense://host/db"))


def test_an_unreachable_database_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot open the run store"):
        RunStore(store_url("postgresql://nobody@127.0.0.1:1/none"))


def test_readers_keep_working_while_a_batch_writes(tmp_path: Path):
    with RunStore(store_url(str(tmp_path))) as writer, RunStore(store_url(str(tmp_path))) as reader:
        batch = new_batch(writer)
        writer.record(batch, 0, {}, "{}", outcome("a" * 64))
        with writer.engine.connect() as conn:
            assert conn.execute(sa.text("pragma journal_mode")).scalar() == "wal"
        with writer.engine.connect() as conn:
            open_write = conn.begin()
            conn.execute(
                sa.text(
                    "insert into scenarios (batch_key, scenario_id, position, labels, content) "
                    "select batch_key, :s, 1, '{}', '{}' from batches where batch_id = :b"
                ),
                {"b": batch, "s": "q" * 64},
            )
            # The write transaction is open: a reader still reads, and sees committed rows.
            assert reader.done_ids(batch) == {"a" * 64}
            assert len(reader.frame("scenarios", batch)) == 1
            open_write.rollback()


# --------------------------------------------------------------------------- schema version 1


def v1_layout() -> sa.MetaData:
    """Schema version 1's tables as that engine created them: every row keyed by the
    batch's and the scenario's 64-character hashes."""
    meta = sa.MetaData()

    def keys() -> list[sa.Column]:
        return [
            sa.Column("batch_id", sa.String(64), nullable=False),
            sa.Column("scenario_id", sa.String(64), nullable=False),
        ]

    sa.Table(
        "schema_version",
        meta,
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "batches",
        meta,
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sweep", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("base_sha256", sa.String(64), nullable=False),
        sa.Column("n_scenarios", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "scenarios",
        meta,
        *keys(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "scenario_id"),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"]),
    )
    sa.Table(
        "results",
        meta,
        *keys(),
        *(
            sa.Column(c.name, c.type, nullable=c.nullable)
            for c in store_tables.results.columns
            if c.name != "scenario_key"
        ),
        sa.PrimaryKeyConstraint("batch_id", "scenario_id"),
        sa.ForeignKeyConstraint(
            ["batch_id", "scenario_id"], ["scenarios.batch_id", "scenarios.scenario_id"]
        ),
    )
    for name, table in DETAIL_TABLES.items():
        sa.Table(
            name,
            meta,
            *keys(),
            *(sa.Column(c.name, c.type, nullable=c.nullable) for c in list(table.columns)[2:]),
            sa.Index(f"ix_{name}_scenario", "batch_id", "scenario_id"),
        )
    return meta


V1_TABLES = ["batches", "scenarios", "results", *DETAIL_TABLES]


def write_v1(url: str, tables: dict[str, pd.DataFrame]) -> None:
    """A version-1 store at ``url`` holding the given tables' rows, in their order."""
    url = store_url(url)
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    meta = v1_layout()
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(meta.tables["schema_version"].insert().values(version=1, created_at=_NOW))
        for name in V1_TABLES:
            if not tables[name].empty:
                rows = tables[name].astype(object).where(tables[name].notna(), None)
                conn.execute(meta.tables[name].insert(), rows.to_dict("records"))
    engine.dispose()


def read_v1(url: str, batch_id: str) -> dict[str, pd.DataFrame]:
    """Frames as version 1 read them: results by position, other tables by scenario id
    (the order its (batch_id, scenario_id) index gave), then as stored."""
    engine = sa.create_engine(store_url(url))
    meta = v1_layout()
    out = {}
    with engine.connect() as conn:
        for name in V1_TABLES[1:]:
            t = meta.tables[name]
            frame = pd.read_sql(sa.select(t).where(t.c.batch_id == batch_id), conn)
            out[name] = frame.sort_values("scenario_id", kind="stable", ignore_index=True)
        s = meta.tables["scenarios"]
        out["results"] = pd.read_sql(
            sa.select(s.c.position, s.c.labels, meta.tables["results"])
            .join(
                s,
                (s.c.batch_id == meta.tables["results"].c.batch_id)
                & (s.c.scenario_id == meta.tables["results"].c.scenario_id),
            )
            .where(s.c.batch_id == batch_id)
            .order_by(s.c.position),
            conn,
        )
    engine.dispose()
    return out


def v1_rows(store: RunStore) -> dict[str, pd.DataFrame]:
    """Every batch's rows of a (version 2) store, as version 1's tables, in storage order."""
    batch_rows = pd.read_sql(sa.select(store_tables.batches), store.engine)
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in V1_TABLES[1:]}
    for batch_id in batch_rows["batch_id"]:
        results = store.frame("results", batch_id).drop(columns=["position", "labels"])
        tables["results"].append(results)
        for name in ("scenarios", *DETAIL_TABLES):
            tables[name].append(store.frame(name, batch_id))
    out = {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()}
    out["batches"] = batch_rows.drop(columns=["batch_key"])
    return out


_NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def v1_content() -> dict[str, pd.DataFrame]:
    """Two batches of version-1 rows: scenarios stored out of id order, one infeasible with
    its diagnosis, details with NULLs."""
    batches = pd.DataFrame(
        [
            (b * 64, name, "{}", f"{name}.yaml", "c" * 64, 3, _NOW)
            for b, name in (("e", "first"), ("a", "second"))
        ],
        columns=["batch_id", "name", "sweep", "source", "base_sha256", "n_scenarios", "created_at"],
    )
    ids = {"e" * 64: ["9" * 64, "1" * 64, "5" * 64], "a" * 64: ["1" * 64, "7" * 64]}
    scenarios, results, funding, cons, diag = [], [], [], [], []
    for batch, sids in ids.items():
        for position, sid in enumerate(sids):
            key = {"batch_id": batch, "scenario_id": sid}
            scenarios.append({**key, "position": position, "labels": "{}", "content": "{}"})
            infeasible = sid == "5" * 64
            results.append(
                {
                    **key,
                    "status": "infeasible" if infeasible else "optimal",
                    "objective": None if infeasible else float(position),
                    "total_allocated": None if infeasible else 10.0 + position,
                    "solve_seconds": 0.01,
                    "wall_seconds": 0.02,
                    "mode": "warm",
                    "worker": "w1",
                    "message": "",
                    "error": None,
                    "finished_at": _NOW,
                }
            )
            if infeasible:
                diag.append(
                    {
                        **key,
                        "name": "floor[cyber,2026]",
                        "kind": "floor",
                        "relax_by": 2.0,
                        "message": "raise the budget",
                    }
                )
                continue
            for area, amount in (("space", 4.0), ("cyber", 6.0 + position)):
                funding.append(
                    {**key, "area": area, "year": 2026, "amount": amount, "share": amount / 10}
                )
            cons.append(
                {
                    **key,
                    "name": "budget[DEU,2026]",
                    "kind": "budget",
                    "area": None,
                    "member": "DEU",
                    "year": 2026,
                    "policy": None,
                    "shadow_price": 1.5,
                }
            )
    allocations = pd.DataFrame([{**f, "member": "DEU"} for f in funding])[
        ["batch_id", "scenario_id", "member", "area", "year", "amount"]
    ]
    return {
        "batches": batches,
        "scenarios": pd.DataFrame(scenarios),
        "results": pd.DataFrame(results),
        "area_funding": pd.DataFrame(funding),
        "allocations": allocations,
        "constraints": pd.DataFrame(cons),
        "diagnoses": pd.DataFrame(diag),
    }


def test_a_version_1_store_is_migrated_by_a_writer_with_its_content_intact(backend_url: str):
    write_v1(backend_url, v1_content())
    before = {b: read_v1(backend_url, b) for b in ("e" * 64, "a" * 64)}
    with RunStore(store_url(backend_url)) as store, store.engine.connect() as conn:
        assert store.migrated_from == 1
        assert conn.execute(sa.text("select version from schema_version")).scalars().all() == [2]
        assert not {f"{t}_v1" for t in V1_TABLES} & set(sa.inspect(conn).get_table_names())
        for batch_id, frames in before.items():
            for name, frame in frames.items():
                pd.testing.assert_frame_equal(store.frame(name, batch_id), frame, obj=name)
        assert store.done_ids("a" * 64) == {"1" * 64, "7" * 64}
        assert store.find_batch("first")["batch_id"] == "e" * 64
        assert store.batches()[["name", "stored", "no_plan"]].values.tolist() == [
            ["first", 3, 1],
            ["second", 2, 0],
        ]
    with RunStore(store_url(backend_url)) as again:  # migrated once
        assert again.migrated_from is None


def test_a_reader_refuses_a_version_1_store_naming_it_and_the_migrate_command(tmp_path: Path):
    url = str(tmp_path / "old")
    write_v1(url, v1_content())
    with pytest.raises(StoreError) as refused:
        open_store(url)
    message = str(refused.value)
    assert str(tmp_path / "old" / "runs.sqlite") in message
    assert "schema version 1" in message
    assert f"{MIGRATE_COMMAND} " in message
    assert read_v1(url, "a" * 64)["results"]["scenario_id"].tolist() == ["1" * 64, "7" * 64]
    run = subprocess.run(
        [sys.executable, "optimise.py", "runs", "list", "--store", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "runs migrate" in run.stderr
    assert "Traceback" not in run.stderr
    run = subprocess.run(
        [sys.executable, "optimise.py", "runs", "migrate", "--store", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "migrated from version 1" in run.stdout
    with open_store(url) as store:
        assert len(store.frame("area_funding", "e" * 64)) == 4


def test_a_failed_migration_leaves_the_version_1_store_whole(backend_url: str):
    content = v1_content()
    # A funding row whose scenario is not stored: version 2 cannot key it.
    orphan = content["area_funding"].iloc[:1].assign(scenario_id="0" * 64)
    content["area_funding"] = pd.concat([content["area_funding"], orphan], ignore_index=True)
    write_v1(backend_url, content)
    before = read_v1(backend_url, "e" * 64)
    with pytest.raises(StoreError, match="area_funding has 9 rows in version 1 but 8"):
        RunStore(store_url(backend_url))
    engine = sa.create_engine(store_url(backend_url))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version from schema_version")).scalar() == 1
        assert set(V1_TABLES) <= set(sa.inspect(conn).get_table_names())
    engine.dispose()
    after = read_v1(backend_url, "e" * 64)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)


def test_runs_commands_refuse_a_store_that_does_not_exist_and_create_nothing(tmp_path: Path):
    missing = tmp_path / "typo"
    commands = [
        ["runs", "list", "--store", str(missing)],
        ["runs", "show", "abc", "--store", str(missing)],
        ["runs", "export", "abc", "--out", str(tmp_path / "out"), "--store", str(missing)],
        ["runs", "migrate", "--store", str(missing)],
        ["runs", "list", "--store", str(tmp_path / "typo.sqlite")],
    ]
    for args, ran in zip(commands, run_many([("optimise.py", a) for a in commands]), strict=True):
        assert ran.returncode == 2, (args, ran.stderr)
        assert "no run store here (check the path; `batch` creates one)" in ran.stderr, args
        assert args[-1] in ran.stderr
    assert list(tmp_path.iterdir()) == []
