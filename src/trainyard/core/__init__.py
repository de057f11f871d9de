"""L0: errors, ids, clock, durations and settings shared by every layer."""
