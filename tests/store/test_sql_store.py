"""What SqlStore promises beyond the Store contract: file safety, SQLite tuning, URLs."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from trainyard.core.errors import ConfigError, ConflictError, EnvironmentError_
from trainyard.store.sql import SqlStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_file_and_parents_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "home" / "trainyard.db"
    store = SqlStore(f"sqlite:///{path}")
    try:
        store.create("Secret", {"metadata": {"name": "token", "namespace": "default"}})
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        # The write-ahead log and its index hold the same data as the file.
        assert mode(Path(f"{path}-wal")) == 0o600
        assert mode(Path(f"{path}-shm")) == 0o600
    finally:
        store.close()


def test_nothing_is_opened_before_the_first_operation(tmp_path: Path) -> None:
    path = tmp_path / "lazy" / "trainyard.db"
    SqlStore(f"sqlite:///{path}").close()
    assert not path.exists()


def test_sqlite_runs_in_wal_mode_with_normal_sync_and_a_busy_timeout(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 't.db'}", busy_timeout=2.5)
    try:
        store.list("Workflow")
        conn = store._conn
        assert conn is not None
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout")
        }
        assert pragma == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 2500}
    finally:
        store.close()


def test_an_in_memory_database_works(tmp_path: Path) -> None:
    store = SqlStore("sqlite://")
    try:
        store.create("Workflow", {"metadata": {"name": "a", "namespace": "default"}})
        assert store.get("Workflow", "default", "a")["metadata"]["resourceVersion"] == "1"
    finally:
        store.close()


def test_a_closed_store_opens_again_on_use(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 't.db'}")
    store.create("Workflow", {"metadata": {"name": "a", "namespace": "default"}})
    store.close()
    store.close()
    assert store.get("Workflow", "default", "a")["metadata"]["name"] == "a"
    store.close()


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 't.db'}")
    store.create("ConfigMap", {"metadata": {"name": "n", "namespace": "d"}, "data": {"n": "0"}})
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(50):
                while True:
                    obj = store.get("ConfigMap", "d", "n")
                    obj["data"]["n"] = str(int(obj["data"]["n"]) + 1)
                    try:
                        store.update("ConfigMap", obj)
                        break
                    except ConflictError:
                        continue
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert store.get("ConfigMap", "d", "n")["data"]["n"] == "300"
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/db", "neither sqlite:// nor postgresql://"),
        ("not a url", "is not valid"),
    ],
)
def test_unsupported_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SqlStore(url)


def test_a_plain_postgresql_url_uses_psycopg(postgres_url: str) -> None:
    store = SqlStore(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        store.create("Workflow", {"metadata": {"name": "a", "namespace": "default"}})
        assert store.get("Workflow", "default", "a")["metadata"]["resourceVersion"] == "1"
    finally:
        store.close()


def test_an_unreachable_database_is_an_environment_error() -> None:
    store = SqlStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(EnvironmentError_, match=r"127\.0\.0\.1:1/none"):
        store.list("Workflow")
    store.close()


def test_a_database_file_that_cannot_be_created_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    store = SqlStore(f"sqlite:///{tmp_path / 'a-file' / 'trainyard.db'}")
    with pytest.raises(ConfigError, match="cannot create the database file"):
        store.list("Workflow")
    store.close()
