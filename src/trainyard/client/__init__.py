"""L4: one small client for every Argo-API server, a trainyard server or a real Argo server (httpx)."""
