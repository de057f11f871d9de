"""Kubernetes' rules for names (RFC 1123), namespaces, label keys and values, with what to fix."""

from __future__ import annotations

import re

from trainyard.core.errors import UserError

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(rf"{_LABEL}\Z")
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*\Z")
_QUALIFIED = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?\Z")
SUBDOMAIN_MAX = 253
LABEL_MAX = 63
GENERATED_SUFFIX = 5
"""How many characters `generateName` gets appended (as Kubernetes does)."""


def name_problem(name: str, what: str = "name") -> str | None:
    """Why `name` is not an RFC 1123 subdomain (an object name), or None when it is."""
    if not name:
        return f"the {what} is empty"
    if len(name) > SUBDOMAIN_MAX:
        return f"the {what} {name[:20]!r}... is longer than {SUBDOMAIN_MAX} characters"
    if not _DNS_SUBDOMAIN.match(name):
        return (
            f"the {what} {name!r} is not a valid name: use lower-case letters, digits, '-' and "
            "'.', starting and ending with a letter or digit (RFC 1123)"
        )
    return None


def namespace_problem(namespace: str) -> str | None:
    """Why `namespace` is not an RFC 1123 label, or None when it is."""
    if not namespace:
        return "the namespace is empty"
    if len(namespace) > LABEL_MAX or not _DNS_LABEL.match(namespace):
        return (
            f"the namespace {namespace[:80]!r} is not valid: use at most {LABEL_MAX} lower-case "
            "letters, digits and '-', starting and ending with a letter or digit (RFC 1123)"
        )
    return None


def generate_name_problem(prefix: str) -> str | None:
    """Why `prefix` cannot start generated names, or None when it can."""
    if len(prefix) > SUBDOMAIN_MAX - GENERATED_SUFFIX:
        return f"generateName is longer than {SUBDOMAIN_MAX - GENERATED_SUFFIX} characters"
    if name_problem(prefix + "x") is not None:
        return (
            f"generateName {prefix!r} is not valid: use lower-case letters, digits, '-' and '.', "
            "starting with a letter or digit (RFC 1123)"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a label key (`[prefix/]name`), or None when it is."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or name_problem(prefix) is not None):
        return f"the label key {key!r} has an invalid prefix: it must be a DNS subdomain"
    if not name or len(name) > LABEL_MAX or not _QUALIFIED.match(name):
        return (
            f"the label key {key!r} is not valid: at most {LABEL_MAX} letters, digits, '-', '_' "
            "and '.', starting and ending with a letter or digit, after an optional 'prefix/'"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a label value, or None when it is (the empty value is one)."""
    if len(value) > LABEL_MAX or not _QUALIFIED.match(value):
        return (
            f"the label value {value[:80]!r} is not valid: at most {LABEL_MAX} letters, digits, "
            "'-', '_' and '.', starting and ending with a letter or digit"
        )
    return None


_NOT_LABEL_SAFE = re.compile(r"[^-_.a-zA-Z0-9]")


def label_safe(text: str) -> str:
    """`text` as a label value, as Argo makes one: other characters as '-', at most 63 of them,
    alphanumeric at both ends."""
    return _NOT_LABEL_SAFE.sub("-", text)[:63].strip("-_.")


def check(problem: str | None) -> None:
    """Raise UserError with `problem`, if there is one."""
    if problem is not None:
        raise UserError(problem)
