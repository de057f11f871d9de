"""L4: the HTTP server, speaking Argo Server's REST API (FastAPI)."""
