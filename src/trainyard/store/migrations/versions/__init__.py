"""The revisions of the SQL store's tables, oldest first by number."""
