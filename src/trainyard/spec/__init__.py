"""L1: Argo workflow documents: models, loading, validation, parameters and expressions."""
