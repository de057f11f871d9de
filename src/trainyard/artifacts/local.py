"""LocalArtifactRepository: artifacts kept as files and directories under one root directory."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainyard.artifacts.archive import is_tarball, pack, unpack
from trainyard.artifacts.base import DEFAULT_KEY_FORMAT
from trainyard.artifacts.keys import check_key, check_prefix
from trainyard.core.errors import NotFoundError, UserError

_INCOMING = ".incoming"
"""Where artifacts are written before they are renamed to their key (same filesystem)."""


class LocalArtifactRepository:
    """Keys are relative paths under `root` (`<workflow>/<pod>/<artifact>.tgz`).

    An archived artifact is one `.tgz` file; a raw one is the file or directory itself.
    Several processes may save and load at once; the last save of a key wins.
    """

    def __init__(
        self, root: Path, *, key_format: str | None = None, record_root: bool = False
    ) -> None:
        """A repository under `root`, created on the first save.

        `record_root`: locations also name the root (`{"local": {"key": k, "path": root}}`),
        for a repository other than the default one, so that the artifact can be found again.
        """
        self.root = root
        self._key_format = key_format or DEFAULT_KEY_FORMAT
        self._record_root = record_root

    @property
    def describe(self) -> str:
        """`local <root>`."""
        return f"local {self.root}"

    @property
    def key_format(self) -> str:
        """The configured key format, else Argo's default."""
        return self._key_format

    def local_path(self, location: dict[str, Any]) -> Path | None:
        """The file or directory stored at `location`, whether or not it exists yet.

        Only an unarchived artifact can be used from there as it is (a `.tgz` is the archive).
        """
        return self._path(self._key_of(location))

    def location(self, key: str) -> dict[str, Any]:
        """The location fields of `key` here."""
        return self._location(key)

    def save(self, source: Path, key: str, *, archive: bool = True) -> dict[str, Any]:
        """Store `source` under `key`; returns `{"local": {"key": key}}`.

        With `archive`, `source` is packed as tar+gzip and left as it was. Without, it is
        moved into the repository when it lies on the same filesystem (so it is gone from
        where it was), else copied by the kernel. Either way the key shows the new artifact
        only once it is complete; an earlier artifact under the key is replaced.
        """
        final = self._path(key)
        if not os.path.lexists(source):
            raise NotFoundError(f"cannot save artifact {key!r}: {source} does not exist")
        staging = self._staging_path()
        try:
            if archive:
                with staging.open("xb") as out:
                    pack(source, out)
                    out.flush()
                    os.fsync(out.fileno())
            else:
                _move_or_copy(Path(os.path.realpath(source)), staging)
            self._publish(staging, final)
        except BaseException:
            _remove(staging)
            raise
        return self._location(key)

    def load(self, location: dict[str, Any], dest: Path, *, archive: bool | None = None) -> None:
        """Write the artifact at `location` to `dest`, a path that must not exist yet.

        A stored directory is copied. A stored file is unpacked when `archive` is True, or when
        it is None and the file is a tar+gzip archive (Argo's rule); otherwise it is copied.
        Copies are real copies, never links: the step may change what it is given.
        """
        path = self.path_of(location)
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, "the artifact destination exists", str(dest))
        if path.is_dir():
            _copy_to(dest, lambda tmp: shutil.copytree(path, tmp, symlinks=True))
        elif archive or (archive is None and is_tarball(path)):
            with path.open("rb") as stream:
                unpack(stream, dest)
        else:
            _copy_to(dest, lambda tmp: shutil.copy2(path, tmp))

    def size(self, location: dict[str, Any]) -> int:
        """Bytes stored for the artifact: the archive's size, or the sum of its files' sizes."""
        path = self.path_of(location)
        if not path.is_dir():
            return path.stat().st_size
        total = 0
        for folder, _, files in os.walk(path):
            total += sum(os.lstat(os.path.join(folder, name)).st_size for name in files)
        return total

    def delete_prefix(self, prefix: str) -> None:
        """Delete every artifact whose key starts with `prefix` ("" deletes them all).

        Directories left empty are removed too; a prefix matching nothing is not an error.
        """
        check_prefix(prefix)
        *folders, stem = prefix.split("/")
        base = self.root.joinpath(*folders)
        if not self._inside(base) or not base.is_dir() or base.is_symlink():
            return
        for entry in os.scandir(base):
            if entry.name.startswith(stem) and not (base == self.root and entry.name == _INCOMING):
                _remove(Path(entry.path))
        while base != self.root and not any(base.iterdir()):
            base.rmdir()
            base = base.parent

    def list_keys(self, prefix: str) -> list[str]:
        """The keys of the stored files whose key starts with `prefix`, sorted."""
        check_prefix(prefix)
        *folders, stem = prefix.split("/")
        base = self.root.joinpath(*folders)
        if not self._inside(base) or not base.is_dir() or base.is_symlink():
            return []
        keys: list[str] = []
        for entry in os.scandir(base):
            if not entry.name.startswith(stem) or (base == self.root and entry.name == _INCOMING):
                continue
            if not entry.is_dir(follow_symlinks=False):
                keys.append(Path(entry.path).relative_to(self.root).as_posix())
                continue
            for folder, _, files in os.walk(entry.path):
                keys += [Path(folder, name).relative_to(self.root).as_posix() for name in files]
        return sorted(keys)

    def path_of(self, location: dict[str, Any]) -> Path:
        """The file (a `.tgz` or raw file) or directory holding the artifact, for downloads.

        NotFoundError if nothing is stored at `location`.
        """
        key = self._key_of(location)
        path = self._path(key)
        if not os.path.lexists(path):
            raise NotFoundError(f"artifact {key!r} not found in the local repository {self.root}")
        return path

    def _location(self, key: str) -> dict[str, Any]:
        fields = {"key": key, **({"path": str(self.root)} if self._record_root else {})}
        return {"local": fields}

    def _key_of(self, location: dict[str, Any]) -> str:
        local = location.get("local")
        key = local.get("key") if isinstance(local, dict) else None
        if not isinstance(local, dict) or not isinstance(key, str):
            raise UserError(
                f"{location!r} is not a local artifact location ({{'local': {{'key': ...}}}})"
            )
        root = local.get("path")
        if root is not None and os.path.realpath(str(root)) != os.path.realpath(self.root):
            raise UserError(
                f"artifact {key!r} is in the local repository {root}, not in {self.root}"
            )
        return key

    def _path(self, key: str) -> Path:
        check_key(key, reserved=_INCOMING)
        path = self.root.joinpath(*key.split("/"))
        if not self._inside(path):
            raise UserError(f"artifact key {key!r} leads outside the repository")
        return path

    def _inside(self, path: Path) -> bool:
        """Whether `path`, links followed, is in the repository (a saved directory may hold
        links to anywhere; a key must not reach through them)."""
        root = os.path.realpath(self.root)
        return os.path.commonpath([root, os.path.realpath(path)]) == root

    def _staging_path(self) -> Path:
        incoming = self.root / _INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        return incoming / secrets.token_hex(8)

    def _publish(self, staging: Path, final: Path) -> None:
        """Rename the complete artifact to its key, replacing what was there."""
        final.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(final) and (staging.is_dir() or final.is_dir()):
            # rename() cannot replace a directory, nor put one over a file: move the old aside.
            old = self._staging_path()
            os.rename(final, old)
            os.rename(staging, final)
            _remove(old)
        else:
            os.replace(staging, final)


def _move_or_copy(source: Path, staging: Path) -> None:
    try:
        os.rename(source, staging)
        return
    except OSError:
        pass  # another filesystem (EXDEV), a mount point, or no right to move it: copy
    if source.is_dir():
        shutil.copytree(source, staging, symlinks=True)
    else:
        shutil.copy2(source, staging)


def _copy_to(dest: Path, copy: Callable[[Path], object]) -> None:
    """Run `copy(tmp)` next to `dest`, then rename `tmp` to `dest`: no half copy is ever seen."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name[:64]}.{secrets.token_hex(4)}"
    try:
        copy(tmp)
        os.rename(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
