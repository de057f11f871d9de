"""L2: run a step's process under a detached supervisor (host process or container)."""
