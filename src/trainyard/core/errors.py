"""The one exception tree of trainyard; every error a user can see is a subclass here.

TrainyardError                 base of everything trainyard raises on purpose
├── UserError                  the input is wrong; the message says what to fix (CLI exit 2)
│   ├── SpecError              a workflow document is invalid (file:line:col problems)
│   ├── ParameterError         a parameter or argument is missing, unknown or malformed
│   ├── ExpressionError        a `when`, `depends` or `{{...}}` expression cannot be parsed
│   ├── ConfigError            the configuration file or environment is wrong
│   ├── ArtifactError          an artifact repository refused or could not be reached
│   └── NotFoundError          a named workflow, node or artifact does not exist
├── ConflictError              the thing exists already, or is in the wrong state for this
├── UnauthenticatedError       no valid token came with the request (HTTP 401)
├── PermissionDeniedError      the caller may not do this in that namespace (HTTP 403)
├── EnvironmentError_          this machine cannot do what was asked (no bubblewrap, ...)
└── ExecutionError             running a step failed for a reason outside the step itself
"""

from __future__ import annotations

from dataclasses import dataclass


class TrainyardError(Exception):
    """Base of every error trainyard raises on purpose."""

    exit_code = 1


class UserError(TrainyardError):
    """The user's input is wrong; the message says what to change."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One finding about a document: where it is and what to do about it."""

    message: str
    file: str = "<input>"
    line: int = 0
    column: int = 0
    severity: str = "error"  # "error" | "note"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.severity}: {self.message}"


class SpecError(UserError):
    """A workflow document is invalid; carries every problem found, errors first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ParameterError(UserError):
    """A parameter is missing, unknown, or not of the allowed values."""


class ExpressionError(UserError):
    """An expression (when, depends, {{...}}) cannot be parsed or evaluated."""


class ConfigError(UserError):
    """The configuration file or the environment is wrong."""


class ArtifactError(UserError):
    """An artifact cannot be saved or loaded: the repository's settings or server are wrong."""


class NotFoundError(UserError):
    """A named workflow, node, template or artifact does not exist."""


class ConflictError(TrainyardError):
    """The object exists already, or is in a state that does not allow the operation."""

    exit_code = 1


class UnauthenticatedError(TrainyardError):
    """The request carries no token, or one that is unknown, expired or revoked."""

    exit_code = 1


class PermissionDeniedError(TrainyardError):
    """The caller's roles do not allow this action in this namespace."""

    exit_code = 1


class EnvironmentError_(TrainyardError):  # noqa: N801 - avoids shadowing the builtin
    """This machine lacks something trainyard needs (a tool, a kernel feature)."""

    exit_code = 3


class ExecutionError(TrainyardError):
    """Launching or supervising a step failed for a reason outside the step itself."""
