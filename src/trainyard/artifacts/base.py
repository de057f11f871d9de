"""The ArtifactRepository protocol: keep a step's file or directory, and give it back.

Contracts:
- `save` packs a file or directory as tar+gzip (one top entry named as the source) unless
  `archive` is False; then the source is stored as it is and may be consumed (moved into the
  repository). Large files are moved or streamed, never read whole into memory.
- An artifact appears under its key only when it is complete (written aside, then renamed);
  saving the same key again replaces it (collection may be repeated after a crash).
- `load` writes the artifact at `dest`, a path that must not exist, as it was at the source:
  a tar+gzip archive is unpacked (`archive=None` detects one as Argo does; True or False
  says so, as the input artifact's `archive` field does), anything else is copied, never
  linked. Unpacking refuses absolute names, `..` and links that lead outside (UserError).
- Every method raises NotFoundError when nothing is stored at `location`, and UserError for
  a key or location that is malformed or leads outside the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

DEFAULT_KEY_FORMAT = "{{workflow.name}}/{{pod.name}}"
"""Argo's default `keyFormat`: an artifact's key is this, then `/<artifact name>[.tgz]`."""


class ArtifactRepository(Protocol):
    """Where artifacts live between steps and after the workflow."""

    @property
    def describe(self) -> str:
        """A short name for messages: `local /home/u/.trainyard/artifacts`, `s3://bucket`."""
        ...

    @property
    def key_format(self) -> str:
        """The repository's Argo `keyFormat` (with `{{workflow.*}}`/`{{pod.name}}` variables)."""
        ...

    def local_path(self, location: dict[str, Any]) -> Path | None:
        """The host path that holds the artifact as stored, or None when it is remote.

        Lets the engine hand an unarchived artifact to the next step without a copy
        (bound read-only); callers must not modify what is there.
        """
        ...

    def location(self, key: str) -> dict[str, Any]:
        """The location fields of `key` in this repository, as `save` returns them (for
        key-only artifacts: `s3: {key: ...}` alone means this key in the workflow's repository)."""
        ...

    def save(self, source: Path, key: str, *, archive: bool = True) -> dict[str, Any]:
        """Store `source` (file or directory) under `key`.

        Returns the location fields to put on the Argo Artifact (e.g. {"local": {"key": k}}).
        With `archive=False` the source may be gone afterwards (moved, not copied).
        """
        ...

    def load(self, location: dict[str, Any], dest: Path, *, archive: bool | None = None) -> None:
        """Write the artifact at `location` to `dest` (a new path; parents are created).

        `archive`: True unpacks, False copies as is, None unpacks only a tar+gzip archive.
        """
        ...

    def size(self, location: dict[str, Any]) -> int:
        """Stored size in bytes of the artifact at `location`."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every artifact whose key starts with `prefix`; nothing to delete is fine."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """The keys of the stored files whose key starts with `prefix`, sorted ("" lists all).

        A directory saved without archive counts as the files in it, as in a bucket.
        """
        ...


class Repositories(Protocol):
    """The configured repositories: which one a workflow writes to, which one holds an artifact.

    Implementations must be usable after `os.fork()` (the step supervisors call them):
    network clients are created per process.
    """

    def for_workflow(self, ref: dict[str, Any] | None) -> ArtifactRepository:
        """The repository a workflow's outputs go to: the default one, or the one its
        `spec.artifactRepositoryRef` (`{"key": name}`, Argo's `configMap` is ignored) names.

        Raises ConfigError naming the known repositories when `ref` names none.
        """
        ...

    def archive_logs(self, ref: dict[str, Any] | None) -> bool:
        """Whether the repository `ref` names (see `for_workflow`) keeps every step's log
        (its `archiveLogs` setting), whatever templates and workflows say."""
        ...

    def for_location(self, location: dict[str, Any]) -> ArtifactRepository:
        """The repository that holds (or will hold) an artifact with these location fields.

        `{"local": {...}}` is the local repository; `{"s3": {...}}` is the configured S3
        repository with that bucket and endpoint, or one built from the fields given (with
        the default repository's credentials). Raises ConfigError when none can be made.
        """
        ...
