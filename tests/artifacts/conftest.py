"""Artifact repositories under test: a local directory, and a bucket on a real S3 server."""

from __future__ import annotations

import io
import secrets
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.artifacts import s3server
from trainyard.artifacts.base import ArtifactRepository
from trainyard.artifacts.local import LocalArtifactRepository
from trainyard.artifacts.s3 import S3ArtifactRepository
from trainyard.core.config import S3Config

Entry = tuple[tarfile.TarInfo, bytes | None]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[s3server.S3Server]:
    """moto's S3 server on 127.0.0.1, checking signatures: only its `credentials` pass."""
    server = s3server.start(auth=True)
    yield server
    server.stop()


@pytest.fixture
def s3_config(s3_server: s3server.S3Server) -> S3Config:
    """A new, empty bucket on the test server, configured as Argo would."""
    bucket = s3_server.make_bucket(f"test-{secrets.token_hex(6)}")
    return S3Config(bucket=bucket, endpoint=s3_server.endpoint, insecure=True)


@pytest.fixture
def s3_repository(s3_server: s3server.S3Server, s3_config: S3Config) -> S3ArtifactRepository:
    """An S3 repository on an empty bucket of the test server."""
    return S3ArtifactRepository(s3_config, s3_server.credentials)


@pytest.fixture(params=["local", "s3"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactRepository:
    """An empty repository of the implementation under test."""
    if request.param == "local":
        return LocalArtifactRepository(tmp_path / "repository")
    found: S3ArtifactRepository = request.getfixturevalue("s3_repository")
    return found


@pytest.fixture
def locate(repository: ArtifactRepository) -> Callable[[str], dict[str, Any]]:
    """`locate(key)`: the location fields the repository under test gives that key."""
    kind = "s3" if isinstance(repository, S3ArtifactRepository) else "local"
    return lambda key: {kind: {"key": key}}


def _entry(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    *,
    link: str = "",
    data: bytes | None = None,
    mode: int = 0o644,
) -> Entry:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    if kind == tarfile.REGTYPE and data is None:
        data = b""
    return info, data


def _write_tarball(path: Path, *entries: Entry) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.fixture
def entry() -> Callable[..., Entry]:
    """`entry(name, kind=REGTYPE, link=, data=, mode=)`: one tar member, however unsafe."""
    return _entry


@pytest.fixture
def write_tarball() -> Callable[..., Path]:
    """`write_tarball(path, *entries)`: a tar+gzip file holding exactly those members."""
    return _write_tarball
