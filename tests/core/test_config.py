"""The configuration file: a project's file on top of the home's, and file:line in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainyard.core.config import load_config
from trainyard.core.errors import ConfigError


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_the_project_adds_contexts_and_overrides_by_name(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    write(
        home,
        "config.yaml",
        "contexts:\n  a: {server: 'http://a'}\n  b: {server: 'http://b'}\n"
        "registries: {company: registry.example.com}\ngpus: 2\n",
    )
    write(
        project, "trainyard.yaml", "contexts:\n  b: {server: 'http://b2', namespace: x}\ngpus: 1\n"
    )
    config = load_config(home, project)
    assert {n: c.server for n, c in config.contexts.items()} == {"a": "http://a", "b": "http://b2"}
    assert config.contexts["b"].namespace == "x"
    assert config.registries["company"].url == "registry.example.com", "`name: URL` shorthand"
    assert config.gpus == 1
    assert config.where("contexts", "b", "server") == f"{project / 'trainyard.yaml'}:2: " + (
        "contexts.b.server"
    )
    assert config.where("contexts", "a") == f"{home / 'config.yaml'}:2: contexts.a"


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write(home, "config.yaml", "gpus: 2\nregistries:\n  r: {url: x.io, pasword: y}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(home)
    assert str(caught.value).startswith(f"{path}:3: registries.r.pasword")
    write(home, "config.yaml", "artifactRepositories:\n  scratch: {}\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: artifactRepositories.scratch: give"):
        load_config(home)


def test_plain_secrets_are_warned_about_with_their_place(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home, "config.yaml", "contexts:\n  c: {server: 'https://c', token: abc}\n")
    [warning] = load_config(home).plain_secrets()
    assert warning.startswith(f"{home / 'config.yaml'}:2: contexts.c.token is a secret")
    assert "tokenEnv or tokenFile" in warning and "abc" not in warning
