"""Where the shared folder (Argo's schema, GPU traces) is, wherever the repo was cloned."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """TRAINYARD_SHARED, else a `shared/` beside the checkout, else /work/shared."""
    given = os.environ.get("TRAINYARD_SHARED")
    if given:
        return Path(given)
    for candidate in (ROOT.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared"


SHARED = shared_dir()
TRACES = SHARED / "traces"
ARGO_SCHEMA = SHARED / "argo" / "schema.json"
