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


class ArtifactRepository(Protocol):
    """Where artifacts live between steps and after the workflow."""

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
