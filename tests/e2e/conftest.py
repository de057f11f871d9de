"""Fixtures for end-to-end tests: an S3-speaking server for workflows whose artifacts live there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.artifacts import s3server


@pytest.fixture(scope="module")
def server() -> Iterator[s3server.S3Server]:
    """moto's S3 server with signature checks on."""
    started = s3server.start(auth=True)
    yield started
    started.stop()
