"""A directory as entries (folders, files, links) and what an object store keeps of each."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

MODE = "mode"
MTIME = "mtime"
LINK = "symlink"
"""Object metadata names (S3 sends them as `x-amz-meta-<name>`)."""


@dataclass(frozen=True)
class Entry:
    """One thing in a directory: `name` is its relative POSIX path ("" for the top folder)."""

    name: str
    kind: str  # "dir" | "file" | "link" | "other" (a fifo, socket or device)
    path: Path
    mode: int
    mtime: float
    size: int = 0
    target: str = ""

    def metadata(self) -> dict[str, str]:
        """What to keep beside the content: mode, time, and a link's target."""
        meta = {MODE: f"{self.mode:o}", MTIME: repr(self.mtime)}
        if self.kind == "link":
            meta[LINK] = quote(self.target, safe="/")  # metadata must be ASCII
        return meta


def entry(path: Path, name: str = "") -> Entry:
    """The entry for `path` (not following a final link), named `name`."""
    info = path.lstat()
    mode, mtime = stat.S_IMODE(info.st_mode), info.st_mtime
    if stat.S_ISLNK(info.st_mode):
        return Entry(name, "link", path, mode, mtime, target=os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return Entry(name, "dir", path, mode, mtime)
    if stat.S_ISREG(info.st_mode):
        return Entry(name, "file", path, mode, mtime, size=info.st_size)
    return Entry(name, "other", path, mode, mtime)


def walk(root: Path) -> Iterator[Entry]:
    """Every folder, regular file and link under `root` (itself first), links not followed.

    Fifos, sockets and devices are left out, as `archive.pack` leaves them out.
    """
    yield entry(root)
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        rel = base.relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        for name in sorted(dirs + files):
            found = entry(base / name, prefix + name)
            if found.kind != "other":
                yield found


def mode_of(metadata: dict[str, str]) -> int | None:
    """The permission bits kept in `metadata`, if any (and valid)."""
    try:
        return int(metadata[MODE], 8) & 0o777
    except (KeyError, ValueError):
        return None


def mtime_of(metadata: dict[str, str]) -> float | None:
    """The modification time kept in `metadata`, if any (and valid)."""
    try:
        return float(metadata[MTIME])
    except (KeyError, ValueError):
        return None


def link_of(metadata: dict[str, str]) -> str | None:
    """The target of a link kept as an object, or None for anything else."""
    target = metadata.get(LINK)
    return unquote(target) if target else None


def restore(path: Path, metadata: dict[str, str]) -> None:
    """Give the file at `path` the mode and time kept in `metadata`."""
    mode = mode_of(metadata)
    if mode is not None:
        path.chmod(mode)
    mtime = mtime_of(metadata)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
