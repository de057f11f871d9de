"""Tar+gzip archives of a file or a directory: packed as a stream, unpacked without escaping."""

from __future__ import annotations

import errno
import gzip
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from trainyard.core.errors import UserError

COMPRESS_LEVEL = 6
"""gzip level: Argo's default (Go's gzip.DefaultCompression)."""

_CHUNK = 1 << 20
_MAX_LINK_HOPS = 40
_NOT_AN_ARCHIVE = (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error)


def pack(source: Path, out: BinaryIO, *, compresslevel: int = COMPRESS_LEVEL) -> None:
    """Write `source`, a file or a directory, to `out` as tar+gzip, one block at a time.

    The archive holds one top entry named as `source` (a symbolic link given as `source`
    is followed); entries below it keep their modes, times and symbolic links.
    """
    real = Path(os.path.realpath(source))
    if not real.exists():
        raise FileNotFoundError(errno.ENOENT, "nothing to pack", str(source))
    name = source.name or real.name or "artifact"
    # filename="" and mtime=0: the same content always makes the same bytes.
    with (
        gzip.GzipFile(
            filename="", mode="wb", fileobj=out, compresslevel=compresslevel, mtime=0
        ) as compressed,
        tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.add(real, arcname=name, filter=_anonymous)


def is_tarball(path: Path) -> bool:
    """Whether the file at `path` starts as a tar+gzip archive does (what Argo checks too)."""
    with path.open("rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            return False
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as compressed:
                block = compressed.read(tarfile.BLOCKSIZE)
            tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
        except (*_NOT_AN_ARCHIVE, OSError):
            return False
    return True


def looks_like_tarball(head: bytes) -> bool:
    """Whether `head`, the first bytes of a stored object, start a tar+gzip archive.

    `is_tarball` for an object read over the network: 64 KiB of head are plenty.
    """
    if head[:2] != b"\x1f\x8b":
        return False
    try:
        block = zlib.decompressobj(wbits=31).decompress(head, tarfile.BLOCKSIZE)
        tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
    except (*_NOT_AN_ARCHIVE, ValueError):
        return False
    return True


def unpack(archive: BinaryIO, dest: Path) -> None:
    """Unpack the tar+gzip stream `archive` to `dest`, a path that must not exist yet.

    As Argo does: an archive with one top entry (a packed file or directory) becomes `dest`
    itself, renamed; one with several becomes a directory `dest` holding them. Modes are kept
    (but setuid, setgid and sticky bits). Absolute names, `..`, links that lead outside the
    artifact and device files raise UserError, and then nothing is left at `dest`.
    """
    if os.path.lexists(dest):
        raise FileExistsError(errno.EEXIST, "the unpack destination exists", str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name[:64]}.unpack-", dir=dest.parent))
    try:
        try:
            tree = _extract(archive, staging)
        except _NOT_AN_ARCHIVE as error:
            raise UserError(f"the artifact is not a valid tar+gzip archive: {error}") from None
        _place(staging, tree, dest)
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging)


class DirectoryWriter:
    """Rebuild a directory entry by entry at `dest`, with the guarantees of `unpack`.

    For stores that keep a directory as separate objects: names are checked as archive
    members are, links are made last and checked, and `dest` appears only on `finish()`.
    Use as a context manager; leaving it without `finish()` leaves nothing behind.
    """

    def __init__(self, dest: Path) -> None:
        """Prepare a staging directory next to `dest`, which must not exist yet."""
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, "the artifact destination exists", str(dest))
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.dest = dest
        self._staging = Path(tempfile.mkdtemp(prefix=f".{dest.name[:64]}.load-", dir=dest.parent))
        self._tree = _Tree(tops={_TOP})
        (self._staging / _TOP).mkdir()

    def __enter__(self) -> DirectoryWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if os.path.lexists(self._staging):
            shutil.rmtree(self._staging)

    def file(self, name: str) -> Path:
        """Where to write the regular file `name` (a relative path); its folders exist."""
        rel = self._entry(name)
        target = self._staging.joinpath(*rel.parts)
        _clear(target, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def directory(self, name: str, mode: int) -> None:
        """Record the folder `name` ("" for the top one), created with `mode`."""
        rel = self._entry(name) if name.strip("/") else PurePosixPath(_TOP)
        self._staging.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
        self._tree.dir_modes[rel] = mode & 0o777

    def link(self, name: str, target: str) -> None:
        """Record the symbolic link `name` -> `target` (refused if it leads outside)."""
        rel = self._entry(name)
        _check_link_target(rel, target)
        self._tree.links.append((rel, target))
        self._tree.link_paths.add(rel)

    def finish(self) -> None:
        """Make and check the links, then move the directory to `dest`."""
        _place(self._staging, self._tree, self.dest)

    def _entry(self, name: str) -> PurePosixPath:
        rel = _member_path(name)
        if rel is None:
            raise _refuse(name, "has no name")
        full = PurePosixPath(_TOP, rel)
        if any(parent in self._tree.link_paths for parent in full.parents):
            raise _refuse(name, "lies inside a symbolic link")
        return full


_TOP = "top"


@dataclass
class _Tree:
    """What `_extract` wrote, and what it left for later (links, directory modes)."""

    tops: set[str] = field(default_factory=set)
    links: list[tuple[PurePosixPath, str]] = field(default_factory=list)
    link_paths: set[PurePosixPath] = field(default_factory=set)
    dir_modes: dict[PurePosixPath, int] = field(default_factory=dict)
    root_mode: int = 0o755


def _extract(archive: BinaryIO, staging: Path) -> _Tree:
    """Write files and directories under `staging`; symbolic links are only recorded.

    Creating no link until every file is written means no file is ever written through one.
    """
    tree = _Tree()
    with (
        gzip.GzipFile(fileobj=archive, mode="rb") as compressed,
        tarfile.open(fileobj=compressed, mode="r|") as tar,
    ):
        for member in tar:
            rel = _member_path(member.name)
            if rel is None:
                if member.isdir():
                    tree.root_mode = member.mode & 0o777
                    continue
                raise _refuse(member.name, "has no name")
            if any(parent in tree.link_paths for parent in rel.parents):
                raise _refuse(member.name, "lies inside a symbolic link")
            tree.tops.add(rel.parts[0])
            target = staging.joinpath(*rel.parts)
            if rel in tree.link_paths:  # a later member replaces an earlier link, as in tar
                tree.link_paths.discard(rel)
                tree.links = [(path, to) for path, to in tree.links if path != rel]
            if member.isdir():
                if os.path.lexists(target) and not target.is_dir():
                    raise _refuse(member.name, "is both a file and a directory")
                target.mkdir(parents=True, exist_ok=True)
                tree.dir_modes[rel] = member.mode & 0o777
            elif member.isreg():
                _write_file(tar, member, target)
            elif member.issym():
                _check_link_target(rel, member.linkname)
                tree.links.append((rel, member.linkname))
                tree.link_paths.add(rel)
            elif member.islnk():
                _hard_link(staging, member, target)
            else:
                raise _refuse(
                    member.name,
                    "is a device, fifo or other special file (an artifact holds only files, "
                    "directories and links)",
                )
    return tree


def _member_path(name: str) -> PurePosixPath | None:
    """The member's path relative to the archive root; None for the root itself."""
    if name.startswith("/"):
        raise _refuse(name, "has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refuse(name, "climbs out with '..'")
    return PurePosixPath(*parts) if parts else None


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    _clear(target, member.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    content = tar.extractfile(member)
    if content is None:  # pragma: no cover - tarfile gives a reader for every regular file
        raise UserError(f"archive member {member.name!r} cannot be read")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out, content:
        shutil.copyfileobj(content, out, _CHUNK)
        out.flush()
        os.fchmod(fd, member.mode & 0o777)
        os.utime(fd, (member.mtime, member.mtime))


def _hard_link(staging: Path, member: tarfile.TarInfo, target: Path) -> None:
    linked = member.linkname
    if linked.startswith("/") or ".." in linked.split("/"):
        raise _refuse(member.name, f"is a hard link to {linked!r}, outside the artifact")
    rel = _member_path(linked)
    source = staging.joinpath(*rel.parts) if rel is not None else staging
    if source.is_symlink() or not source.is_file():
        raise _refuse(
            member.name, f"is a hard link to {member.linkname!r}, not a file unpacked before it"
        )
    _clear(target, member.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)


def _clear(target: Path, name: str) -> None:
    """Make room for a member that repeats an earlier one (the later one wins, as in tar)."""
    if not os.path.lexists(target):
        return
    if target.is_dir():
        raise _refuse(name, "is both a directory and a file")
    target.unlink()


def _place(staging: Path, tree: _Tree, dest: Path) -> None:
    """Create the links, check them, then move the result to `dest` and set directory modes."""
    single = len(tree.tops) == 1
    top = next(iter(tree.tops)) if single else ""
    root = staging / top if single else staging
    for rel, target in tree.links:
        if single and len(rel.parts) == 1:
            raise _refuse(rel, f"is a symbolic link to {target!r} and the only entry")
        _make_link(staging, rel, target)
    for rel, target in tree.links:
        inside = rel.parts[1:-1] if single else rel.parts[:-1]
        problem = _link_problem(root, inside, target)
        if problem:
            raise _refuse(rel, f"is a link to {target!r}, {problem}")
    os.rename(root, dest)
    if not single:
        os.chmod(dest, tree.root_mode)
    # Deepest first: a directory without write or search permission is set last.
    for rel, mode in sorted(tree.dir_modes.items(), key=lambda item: -len(item[0].parts)):
        parts = rel.parts[1:] if single else rel.parts
        os.chmod(dest.joinpath(*parts), mode)


def _check_link_target(rel: PurePosixPath, target: str) -> None:
    """Refuse at once a link that points outside whatever the other members turn out to be."""
    if target.startswith("/"):
        raise _refuse(rel, f"is a link to the absolute path {target!r}")
    resolved = os.path.normpath(str(rel.parent / target))
    if resolved == ".." or resolved.startswith("../"):
        raise _refuse(rel, f"is a link to {target!r}, outside the artifact")


def _make_link(staging: Path, rel: PurePosixPath, target: str) -> None:
    path = staging.joinpath(*rel.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A link is made only in a real directory, never through another link.
    if os.path.realpath(path.parent) != os.path.join(os.path.realpath(staging), *rel.parts[:-1]):
        raise _refuse(rel, "lies inside a symbolic link")
    _clear(path, str(rel))
    os.symlink(target, path)


def _link_problem(root: Path, start: tuple[str, ...], target: str) -> str | None:
    """Why following `target` from directory `start` (relative to `root`) is unsafe, if it is.

    Links met on the way are followed, and every step must stay under `root`: checking only
    where the path ends would miss `a/../..` when `a` is itself a link.
    """
    where = list(start)
    pending = target.split("/")
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not where:
                return "outside the artifact"
            where.pop()
            continue
        candidate = root.joinpath(*where, part)
        if candidate.is_symlink():
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return "in a loop of links"
            link = os.readlink(candidate)
            if link.startswith("/"):
                return "outside the artifact"
            pending = link.split("/") + pending
            continue
        where.append(part)
    return None


def _refuse(name: str | PurePosixPath, why: str) -> UserError:
    return UserError(f"archive member {str(name)!r} {why}; refusing to unpack the artifact")


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out who owned the files (they belong to whoever unpacks them), and leave out
    fifos and devices, which `unpack` refuses."""
    if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
