"""L4: one small client (httpx) for every Argo-API server: a trainyard server or a real Argo."""
