"""L1: who may do what: roles per namespace, and the rules that check them (pure)."""
