"""Where an S3 artifact lives: endpoint URLs, key formats and the location fields Argo records."""

from __future__ import annotations

from typing import Any

from trainyard.artifacts.base import DEFAULT_KEY_FORMAT
from trainyard.artifacts.keys import check_key
from trainyard.core.config import S3Config
from trainyard.core.errors import UserError

DEFAULT_REGION = "us-east-1"


def endpoint_url(endpoint: str | None, insecure: bool) -> str | None:
    """The URL of an Argo `endpoint` (`host:port`, no scheme): http when `insecure`.

    An endpoint given with its scheme is kept as it is; None means AWS S3 itself.
    """
    if not endpoint:
        return None
    if "://" in endpoint:
        return endpoint.rstrip("/")
    return f"{'http' if insecure else 'https'}://{endpoint.rstrip('/')}"


def same_endpoint(one: str | None, other: str | None) -> bool:
    """Whether two Argo endpoints name the same server (`host:port`, scheme or not)."""

    def bare(endpoint: str | None) -> str:
        return (endpoint or "").split("://")[-1].rstrip("/").lower()

    return bare(one) == bare(other)


def key_format(config: S3Config) -> str:
    """`keyFormat`, else `keyPrefix/` and Argo's default format (as Argo does)."""
    if config.key_format:
        return config.key_format
    prefix = (config.key_prefix or "").strip("/")
    return f"{prefix}/{DEFAULT_KEY_FORMAT}" if prefix else DEFAULT_KEY_FORMAT


def location(config: S3Config, key: str, *, full: bool) -> dict[str, Any]:
    """`{"s3": {"key": k}}`, with the bucket, endpoint, insecure and region too when `full`."""
    fields: dict[str, Any] = {}
    if full:
        fields["bucket"] = config.bucket
        if config.endpoint:
            fields["endpoint"] = config.endpoint
            fields["insecure"] = config.insecure
        if config.region:
            fields["region"] = config.region
    return {"s3": {**fields, "key": key}}


def key_of(location: dict[str, Any], config: S3Config, describe: str) -> str:
    """The key of an S3 location in the bucket of `config` (UserError for any other)."""
    fields = location.get("s3")
    key = fields.get("key") if isinstance(fields, dict) else None
    if not isinstance(fields, dict) or not isinstance(key, str):
        raise UserError(f"{location!r} is not an S3 artifact location ({{'s3': {{'key': ...}}}})")
    bucket = fields.get("bucket")
    endpoint = fields.get("endpoint")
    elsewhere = endpoint is not None and not same_endpoint(endpoint, config.endpoint)
    if (bucket is not None and bucket != config.bucket) or elsewhere:
        where = f"s3://{bucket or config.bucket}" + (f" at {endpoint}" if endpoint else "")
        raise UserError(f"artifact {key!r} is in {where}, not in {describe}")
    check_key(key)
    return key
