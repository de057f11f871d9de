"""L2: artifact repositories (local directory; S3-compatible later)."""
