"""GPU scheduling: queue items, policies, gang placement, and a trace simulator (pure, L1)."""

from trainyard.scheduler.items import Placement, QueueItem, Running, WaitInfo
from trainyard.scheduler.policies import DEFAULT, POLICIES, Policy, get_policy
from trainyard.scheduler.resources import NodeCapacity, Request
from trainyard.scheduler.scheduler import Scheduler
from trainyard.scheduler.tenants import TenantPolicy

__all__ = [
    "DEFAULT",
    "POLICIES",
    "NodeCapacity",
    "Placement",
    "Policy",
    "QueueItem",
    "Request",
    "Running",
    "Scheduler",
    "TenantPolicy",
    "WaitInfo",
    "get_policy",
]
