"""L2: persistence of workflows and other objects (SQLite, PostgreSQL)."""
