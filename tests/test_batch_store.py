"""The run store on SQLite and on a real PostgreSQL server (ENGINE_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.batch.store import SCHEMA_VERSION, Outcome, RunStore, StoreError, store_url

PG_ENV = "ENGINE_TEST_POSTGRES_URL"


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


@pytest.fixture(params=["sqlite", "postgresql"])
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
                    "insert into scenarios (batch_id, scenario_id, position, labels, content) "
                    "values (:b, :s, 1, '{}', '{}')"
                ),
                {"b": batch, "s": "q" * 64},
            )
            # The write transaction is open: a reader still reads, and sees committed rows.
            assert reader.done_ids(batch) == {"a" * 64}
            assert len(reader.frame("scenarios", batch)) == 1
            open_write.rollback()
