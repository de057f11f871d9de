"""L3: the reconcile loop that drives workflows through the engine, executors and stores."""
