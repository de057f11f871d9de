"""L3: what the server and the CLI do to workflows, templates, users: validated, then stored."""
