"""Did-you-mean suggestions for misspelled names in workflow documents."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices`, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def known(choices: Iterable[str], limit: int = 12) -> str:
    """`choices` as a short, sorted, comma-separated list for messages ("none" when empty)."""
    names = sorted(set(choices))
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")
