"""Argo's `synchronization` on this machine: the mutexes and semaphores steps and workflows hold.

A template's `synchronization` is held by each of its steps from before it is queued until it
ends; a workflow's, from its first step until the workflow ends. A mutex admits one holder, a
semaphore as many as its ConfigMap key says (read each time, so raising it takes effect at
once). Holders wait in the order they first asked. Both shapes are read: `mutex`/`semaphore`
and the newer `mutexes`/`semaphores` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainyard.controller.secrets import SecretSource
from trainyard.core.errors import UserError
from trainyard.spec.models.io import KeyRef


@dataclass(frozen=True)
class Need:
    """One lock to hold: its key, how many may hold it, and how messages name it."""

    key: str
    limit: int
    label: str


def needs(sync: dict[str, Any] | None, namespace: str, secrets: SecretSource) -> list[Need]:
    """The locks a `synchronization` block asks for (UserError when one is malformed)."""
    if not sync:
        return []
    mutexes = [*([sync["mutex"]] if sync.get("mutex") else []), *(sync.get("mutexes") or [])]
    semaphores = [
        *([sync["semaphore"]] if sync.get("semaphore") else []),
        *(sync.get("semaphores") or []),
    ]
    found = []
    for mutex in mutexes:
        name = str((mutex or {}).get("name") or "")
        if not name:
            raise UserError("synchronization.mutex needs a name")
        ns = str(mutex.get("namespace") or namespace)
        found.append(Need(f"{ns}/mutex/{name}", 1, f"mutex {name}"))
    for semaphore in semaphores:
        ref = (semaphore or {}).get("configMapKeyRef") or {}
        if not ref.get("name") or not ref.get("key"):
            raise UserError(
                "synchronization.semaphore needs configMapKeyRef {name, key} (a ConfigMap "
                "key that holds the limit)"
            )
        ns = str(semaphore.get("namespace") or namespace)
        found.append(_semaphore(ns, str(ref["name"]), str(ref["key"]), secrets))
    return found


def _semaphore(namespace: str, name: str, key: str, secrets: SecretSource) -> Need:
    text = secrets.value("ConfigMap", namespace, KeyRef(name=name, key=key))
    try:
        limit = int(str(text).strip())
    except ValueError:
        raise UserError(
            f"semaphore {name}/{key}: the ConfigMap holds {text!r}, not a whole number"
        ) from None
    return Need(f"{namespace}/semaphore/{name}/{key}", limit, f"semaphore {name}/{key}")


@dataclass
class LockTable:
    """Who holds which lock, and who asked first."""

    holders: dict[str, list[str]] = field(default_factory=dict)
    asked: dict[str, list[str]] = field(default_factory=dict)

    def acquire(self, holder: str, wanted: list[Need]) -> Need | None:
        """Take every lock of `wanted` for `holder`, or none: the first that is full (or that
        an earlier asker waits for) is returned and `holder` waits its turn."""
        for need in wanted:
            held = self.holders.get(need.key, [])
            if holder in held:
                continue
            queue = self.asked.setdefault(need.key, [])
            if holder not in queue:
                queue.append(holder)
            ahead = queue[: queue.index(holder)]
            if len(held) + len(ahead) >= need.limit:
                return need
        for need in wanted:
            held = self.holders.setdefault(need.key, [])
            if holder not in held:
                held.append(holder)
            queue = self.asked.get(need.key, [])
            if holder in queue:
                queue.remove(holder)
        return None

    def force(self, holder: str, wanted: list[Need]) -> None:
        """Record locks that `holder` already holds (a step re-adopted after a restart)."""
        for need in wanted:
            held = self.holders.setdefault(need.key, [])
            if holder not in held:
                held.append(holder)

    def release(self, holder: str) -> None:
        """Let go of everything `holder` holds or waits for."""
        for table in (self.holders, self.asked):
            for held in table.values():
                if holder in held:
                    held.remove(holder)

    def holding(self, key: str) -> list[str]:
        """The holders of the lock `key` (for messages and tests)."""
        return list(self.holders.get(key, []))
