"""L1: the workflow state machine, a pure function of spec, status, observations and time."""
