"""Artifact keys: relative paths that stay inside a repository, whatever stores them."""

from __future__ import annotations

from trainyard.core.errors import UserError


def valid_parts(parts: list[str]) -> bool:
    """Whether every part of a `/`-split key is a plain name (not empty, `.` or `..`)."""
    return all(part not in ("", ".", "..") and "\x00" not in part for part in parts)


def check_key(key: str, *, reserved: str = "") -> None:
    """Raise UserError unless `key` is a relative path of plain names (not `reserved`)."""
    parts = key.split("/")
    if not key or not valid_parts(parts) or (reserved and parts[0] == reserved):
        raise UserError(
            f"artifact key {key!r} must be a relative path inside the repository, "
            "such as 'my-wf/my-wf-123/model.tgz'"
        )


def check_prefix(prefix: str) -> None:
    """Raise UserError unless `prefix` is a key prefix ("" and "wf-" are; "/x", "a/../" not)."""
    *folders, stem = prefix.split("/")
    if stem in (".", "..") or not valid_parts(folders):
        raise UserError(f"artifact key prefix {prefix!r} must be a relative path")
