"""The http template: one HTTP request, its headers (literal or from a Secret) and its verdict."""

from __future__ import annotations

from pydantic import Field

from trainyard.spec.models.base import ArgoModel
from trainyard.spec.models.io import KeyRef

DEFAULT_TIMEOUT_SECONDS = 30
"""Argo's documented default for `timeoutSeconds`."""


class HTTPHeaderSource(ArgoModel):
    """Where a header's value comes from: a key of a Secret."""

    secret_key_ref: KeyRef | None = None


class HTTPHeader(ArgoModel):
    """One request header: a literal `value`, or `valueFrom` a Secret."""

    name: str
    value: str | None = None
    value_from: HTTPHeaderSource | None = None


class HTTPBodySource(ArgoModel):
    """The request body as bytes (base64 in JSON and YAML, as Go writes a []byte)."""

    bytes_: str | None = Field(default=None, alias="bytes")


class HTTP(ArgoModel):
    """An HTTP request whose response body becomes the node's `result`."""

    method: str | None = None
    url: str = ""
    headers: list[HTTPHeader] = Field(default_factory=list)
    timeout_seconds: int | None = None
    success_condition: str | None = None
    body: str | None = None
    body_from: HTTPBodySource | None = None
    insecure_skip_verify: bool | None = None

    def timeout(self) -> float:
        """Seconds the request may take (Argo's default when not given)."""
        if self.timeout_seconds is None:
            return float(DEFAULT_TIMEOUT_SECONDS)
        return float(self.timeout_seconds)
