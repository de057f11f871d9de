"""Artifact repositories under test (local now; S3 joins the parameters when it exists)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from trainyard.artifacts.base import ArtifactRepository
from trainyard.artifacts.local import LocalArtifactRepository

REPOSITORIES: dict[str, Callable[[Path], ArtifactRepository]] = {
    "local": LocalArtifactRepository,
}

Entry = tuple[tarfile.TarInfo, bytes | None]


@pytest.fixture(params=sorted(REPOSITORIES))
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactRepository:
    """An empty repository of the implementation under test."""
    return REPOSITORIES[request.param](tmp_path / "repository")


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
