"""Identifiers as Argo makes them: node ids (FNV-1a), uids and generated name suffixes."""

from __future__ import annotations

import secrets
import uuid

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv1a_32(text: str) -> int:
    """The 32-bit FNV-1a hash of the UTF-8 bytes of `text`."""
    h = _FNV_OFFSET
    for byte in text.encode():
        h ^= byte
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def node_id(workflow_name: str, node_name: str) -> str:
    """Argo's node id: the workflow name for the root node, else name-<fnv1a(node name)>."""
    if node_name == workflow_name:
        return workflow_name
    return f"{workflow_name}-{fnv1a_32(node_name)}"


def new_uid() -> str:
    """A fresh object uid in Kubernetes' format (a random UUID)."""
    return str(uuid.uuid4())


def generated_name(prefix: str) -> str:
    """`prefix` plus five random characters, as Kubernetes fills in `generateName`."""
    return prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
