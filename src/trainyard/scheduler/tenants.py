"""Tenants' weights and GPU quotas, and each tenant's weighted fair share of the GPUs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TenantPolicy:
    """Weights (default 1) and GPU quotas (default none) per tenant."""

    weights: dict[str, float] = field(default_factory=dict)
    gpu_quota: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for tenant, weight in self.weights.items():
            if not weight > 0:
                raise ValueError(f"tenant {tenant}: weight must be positive, not {weight}")
        for tenant, quota in self.gpu_quota.items():
            if quota < 0:
                raise ValueError(f"tenant {tenant}: GPU quota cannot be negative")

    def weight(self, tenant: str) -> float:
        """The tenant's weight (1 unless configured)."""
        return self.weights.get(tenant, 1.0)

    def quota(self, tenant: str) -> int | None:
        """The most GPUs the tenant may hold at once, or None for no limit."""
        return self.gpu_quota.get(tenant)

    @classmethod
    def from_mapping(cls, tenants: Mapping[str, Mapping[str, Any]]) -> TenantPolicy:
        """Read the config file's shape: `{team-a: {weight: 2, gpuQuota: 4}, ...}`."""
        weights: dict[str, float] = {}
        quotas: dict[str, int] = {}
        for tenant, entry in tenants.items():
            unknown = set(entry) - {"weight", "gpuQuota"}
            if unknown:
                raise ValueError(f"tenant {tenant}: unknown keys {sorted(unknown)}")
            if "weight" in entry:
                weights[tenant] = float(entry["weight"])
            if entry.get("gpuQuota") is not None:
                quotas[tenant] = int(entry["gpuQuota"])
        return cls(weights, quotas)


def fair_shares(demand: Mapping[str, int], policy: TenantPolicy, capacity: int) -> dict[str, float]:
    """Each tenant's share of `capacity` GPUs by weighted max-min fairness (water filling).

    A tenant never gets more than it asks for (`demand`: GPUs running plus waiting) nor more
    than its quota; what it leaves is split among the others by weight.
    """
    caps: dict[str, float] = {}
    for tenant, want in demand.items():
        quota = policy.quota(tenant)
        cap = float(want if quota is None else min(want, quota))
        if cap > 0:
            caps[tenant] = cap
    shares = dict.fromkeys(demand, 0.0)
    left = float(capacity)
    open_ = dict(caps)
    while open_ and left > 1e-9:
        total = sum(policy.weight(t) for t in open_)
        sated = {t: c for t, c in open_.items() if c <= left * policy.weight(t) / total}
        if not sated:
            for tenant in open_:
                shares[tenant] = left * policy.weight(tenant) / total
            return shares
        for tenant, cap in sated.items():
            shares[tenant] = cap
            left -= cap
            del open_[tenant]
    return shares
