"""One-line explanations of S3 failures that name the setting to fix."""

from __future__ import annotations

REFUSED = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "InvalidToken",
        "ExpiredToken",
        "AuthFailure",
    }
)
"""Error codes of servers that do not accept the credentials themselves."""
DENIED = frozenset({"AccessDenied", "403", "Forbidden"})
WRONG_REGION = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "301"})


def server_said(code: str, message: str, *, bucket: str, settings: str, verb: str) -> str:
    """Explain an error answer `code` of the server (`settings`: `artifactRepository.s3`)."""
    if code == "NoSuchBucket":
        return f"bucket {bucket!r} does not exist: create it or fix {settings}.bucket"
    if code in REFUSED or code in DENIED:
        refused = "were refused" if code in REFUSED else f"may not {verb} there"
        return (
            f"the credentials {refused} ({code}): check {settings}.accessKeySecret and "
            f"{settings}.secretKeySecret, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if code in WRONG_REGION:
        return f"the bucket is in another region ({code}): fix {settings}.region"
    if code == "PreconditionFailed":
        return "the artifact was replaced while it was read: try again"
    return f"the server answered {code or 'an error'}: {message or 'no details'}"


def no_credentials(settings: str) -> str:
    """Explain that boto3 found no credentials anywhere."""
    return (
        f"no credentials: set {settings}.accessKeySecret and {settings}.secretKeySecret, "
        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


def unreachable(endpoint: str, reason: str, settings: str, *, tls: bool = False) -> str:
    """Explain that the server at `endpoint` could not be reached (or spoke no TLS)."""
    if tls:
        return (
            f"TLS with {endpoint} failed ({reason}): for a plain http server "
            f"set {settings}.insecure: true"
        )
    return (
        f"cannot reach endpoint {endpoint} ({reason}): check {settings}.endpoint "
        "and that the server is running"
    )


def reason(error: BaseException) -> str:
    """The innermost cause of a connection error, in a few words."""
    cause = error
    while (inner := cause.__cause__ or cause.__context__) is not None:
        cause = inner
    text = getattr(cause, "strerror", None) or str(cause)
    return text.rsplit(": ", 1)[-1]
