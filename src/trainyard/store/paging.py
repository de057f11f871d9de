"""Continue tokens of paged listings: where the last page ended, opaque to callers."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from trainyard.core.clock import format_time_precise, parse_time
from trainyard.core.errors import UserError


def encode(created_at: datetime, sequence: int) -> str:
    """The token for a page that ended at the object created at `created_at` as `sequence`."""
    raw = json.dumps([format_time_precise(created_at), sequence], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> tuple[datetime, int]:
    """(creation time, sequence) of a token from `encode`; UserError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        stamp, sequence = json.loads(raw)
        moment = parse_time(stamp)
        if not isinstance(sequence, int) or not 0 <= sequence < 2**63 or moment.tzinfo is None:
            raise ValueError(sequence)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise UserError(
            f"the continue token {token[:40]!r} is not one this server gave: list again without it"
        ) from None
    return moment, sequence


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards escaped by backslashes (for `ESCAPE '\\'`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
