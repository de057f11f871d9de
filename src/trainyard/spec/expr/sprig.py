"""The `sprig.*` functions Argo exposes (Go template library), with sprig's argument order."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from trainyard.spec.expr.values import EvalFailure, display, is_number, to_json

# Go reference-time layout pieces -> strftime, longest first.
_LAYOUT = [
    ("2006", "%Y"), ("January", "%B"), ("Monday", "%A"), ("Jan", "%b"), ("Mon", "%a"),
    ("MST", "%Z"), ("01", "%m"), ("02", "%d"), ("15", "%H"), ("03", "%I"), ("04", "%M"),
    ("05", "%S"), ("06", "%y"), ("PM", "%p"),
]  # fmt: skip


def to_int(value: Any) -> int:
    """sprig's int/atoi: like Go's cast.ToInt, 0 for anything that is not a number."""
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 0) if value.strip()[:2].lower() == "0x" else int(value)
        except ValueError:
            return 0
    return 0


def to_float(value: Any) -> float:
    """sprig's float64: 0 for anything that is not a number."""
    if is_number(value) or isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def empty(value: Any) -> bool:
    """sprig's empty: nil, false, 0, "" and empty collections."""
    if value is None or value is False:
        return True
    if is_number(value):
        return bool(value == 0)
    if isinstance(value, str | list | dict):
        return len(value) == 0
    return False


def _default(fallback: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return fallback
    return given[0]


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise EvalFailure("expected a list")


def _split(sep: str, text: str) -> dict[str, str]:
    return {f"_{i}": part for i, part in enumerate(str(text).split(sep))}


def _date(layout: str, when: Any) -> str:
    if isinstance(when, dict) and isinstance(when.get("RFC3339"), str):
        # `workflow.creationTimestamp` in an expression is the map of its formats.
        when = when["RFC3339"]
    if isinstance(when, int | float) and not isinstance(when, bool):
        moment = datetime.fromtimestamp(when).astimezone()
    elif isinstance(when, str):
        try:
            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise EvalFailure(f"sprig.date: cannot read {when!r} as a time") from None
    else:
        raise EvalFailure("sprig.date needs a time (RFC 3339 text or Unix seconds)")
    fmt = layout
    for go, py in _LAYOUT:
        fmt = fmt.replace(go, py)
    return moment.strftime(fmt)


def _from_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return ""


def _regex_find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(0) if match else ""


def _go_replacement(repl: str) -> str:
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", repl)


SPRIG: dict[str, Any] = {
    "trim": lambda s: str(s).strip(),
    "trimAll": lambda chars, s: str(s).strip(chars),
    "trimPrefix": lambda p, s: str(s).removeprefix(p),
    "trimSuffix": lambda p, s: str(s).removesuffix(p),
    "upper": lambda s: str(s).upper(),
    "lower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
    "repeat": lambda n, s: str(s) * to_int(n),
    "replace": lambda old, new, s: str(s).replace(old, new),
    "nospace": lambda s: re.sub(r"\s", "", str(s)),
    "trunc": lambda n, s: str(s)[: to_int(n)] if to_int(n) >= 0 else str(s)[to_int(n) :],
    "quote": lambda *s: " ".join(json.dumps(display(x)) for x in s if x is not None),
    "squote": lambda *s: " ".join(f"'{display(x)}'" for x in s if x is not None),
    "contains": lambda part, s: str(part) in str(s),
    "hasPrefix": lambda p, s: str(s).startswith(p),
    "hasSuffix": lambda p, s: str(s).endswith(p),
    "split": _split,
    "splitList": lambda sep, s: str(s).split(sep),
    "join": lambda sep, items: str(sep).join(display(x) for x in _items(items)),
    "toString": display,
    "toJson": to_json,
    "fromJson": _from_json,
    "int": to_int,
    "int64": to_int,
    "atoi": to_int,
    "float64": to_float,
    "add": lambda *n: sum(to_int(x) for x in n),
    "add1": lambda n: to_int(n) + 1,
    "sub": lambda a, b: to_int(a) - to_int(b),
    "mul": lambda *n: _product(n),
    "div": lambda a, b: _divide(to_int(a), to_int(b)),
    "mod": lambda a, b: to_int(a) % to_int(b) if to_int(b) else _zero(),
    "max": lambda first, *rest: max(to_int(x) for x in (first, *rest)),
    "min": lambda first, *rest: min(to_int(x) for x in (first, *rest)),
    "default": _default,
    "empty": empty,
    "coalesce": lambda *v: next((x for x in v if not empty(x)), None),
    "ternary": lambda yes, no, test: yes if test else no,
    "list": lambda *v: list(v),
    "has": lambda needle, items: needle in _items(items),
    "uniq": lambda items: list(dict.fromkeys(_items(items))),
    "first": lambda items: _items(items)[0] if _items(items) else None,
    "last": lambda items: _items(items)[-1] if _items(items) else None,
    "rest": lambda items: _items(items)[1:],
    "initial": lambda items: _items(items)[:-1],
    "reverse": lambda items: list(reversed(_items(items))),
    "b64enc": lambda s: base64.b64encode(str(s).encode()).decode(),
    "b64dec": lambda s: base64.b64decode(str(s)).decode(errors="replace"),
    "regexMatch": lambda pattern, s: re.search(pattern, str(s)) is not None,
    "regexFind": _regex_find,
    "regexReplaceAll": lambda p, s, r: re.sub(p, _go_replacement(r), str(s)),
    "date": _date,
}


def _product(values: tuple[Any, ...]) -> int:
    result = 1
    for value in values:
        result *= to_int(value)
    return result


def _zero() -> int:
    raise EvalFailure("integer divide by zero")


def _divide(a: int, b: int) -> int:
    if b == 0:
        _zero()
    return int(a / b)
