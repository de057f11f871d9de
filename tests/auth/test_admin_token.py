"""The first start: user `admin` and a token in TRAINYARD_HOME/admin.token, 0600, only once."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.auth.conftest import Backend
from trainyard.core.clock import SystemClock
from trainyard.core.errors import ConfigError
from trainyard.service import auth as auth_module
from trainyard.service.auth import AuthService
from trainyard.store.sql import SqlStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_first_start_writes_an_admin_token_readable_by_its_owner_only(
    auth: AuthService, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    message = auth.ensure_admin_token(home)
    path = home / "admin.token"
    assert message == (
        f"an admin token was written to {path}; use it with: export TRAINYARD_TOKEN=$(cat {path})"
    )
    assert mode(path) == 0o600
    token = path.read_text().strip()
    assert path.read_text() == token + "\n"
    principal = auth.authenticate(token)
    assert (principal.name, principal.admin) == ("admin", True)
    assert [t.description for t in auth.list_tokens("admin")] == ["the first token, in admin.token"]
    assert list(home.iterdir()) == [path], "no temporary file is left behind"


def test_only_the_first_start_does_it(backend: Backend, tmp_path: Path) -> None:
    assert backend.service().ensure_admin_token(tmp_path) is not None
    written = (tmp_path / "admin.token").read_text()
    assert backend.service().ensure_admin_token(tmp_path) is None
    assert (tmp_path / "admin.token").read_text() == written
    assert len(backend.service().list_tokens()) == 1


def test_nothing_is_made_when_there_are_users(auth: AuthService, tmp_path: Path) -> None:
    auth.create_user("ana")
    assert auth.ensure_admin_token(tmp_path) is None
    assert not (tmp_path / "admin.token").exists()
    assert [u.name for u in auth.list_users()] == ["ana"]


def test_the_file_is_made_0600_from_its_first_moment(
    auth: AuthService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if "admin.token" in str(path):
            opened.append((flags, mode))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(auth_module.os, "open", spy)
    previous = os.umask(0)  # even a permissive umask gives no one else a look
    try:
        auth.ensure_admin_token(tmp_path)
    finally:
        os.umask(previous)
    [(flags, created_mode)] = opened
    assert flags & os.O_CREAT and flags & os.O_EXCL
    assert created_mode == 0o600
    assert mode(tmp_path / "admin.token") == 0o600


def test_a_file_left_by_an_earlier_database_is_replaced_not_followed(
    auth: AuthService, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    (tmp_path / "admin.token").symlink_to(target)
    assert auth.ensure_admin_token(tmp_path) is not None
    assert target.read_text() == "keep me"
    path = tmp_path / "admin.token"
    assert not path.is_symlink() and mode(path) == 0o600
    assert auth.authenticate(path.read_text().strip()).admin


def test_when_the_file_cannot_be_written_the_next_start_tries_again(
    auth: AuthService, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"cannot write the admin token .*TRAINYARD_HOME"):
        auth.ensure_admin_token(blocked / "home")
    assert auth.list_users() == [] and auth.list_tokens() == []
    assert auth.ensure_admin_token(tmp_path / "home") is not None


def test_two_servers_starting_at_once_make_one_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trainyard.db'}"
    stores = [SqlStore(url) for _ in range(4)]
    messages: list[str | None] = []
    barrier = threading.Barrier(len(stores))

    def start(store: SqlStore) -> None:
        service = AuthService(store, SystemClock())
        barrier.wait()
        messages.append(service.ensure_admin_token(tmp_path))

    threads = [threading.Thread(target=start, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len([m for m in messages if m]) == 1
        service = AuthService(stores[0], SystemClock())
        assert [u.name for u in service.list_users()] == ["admin"]
        assert len(service.list_tokens()) == 1
        assert service.authenticate((tmp_path / "admin.token").read_text().strip()).admin
    finally:
        for store in stores:
            store.close()
