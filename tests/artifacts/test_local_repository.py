"""What LocalArtifactRepository promises beyond the contract: moves, renames, paths, keys."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import BinaryIO

import pytest

from trainyard.artifacts import local
from trainyard.artifacts.local import LocalArtifactRepository
from trainyard.core.errors import NotFoundError, UserError


def stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_a_raw_save_on_the_same_filesystem_moves_the_source(tmp_path: Path) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    source = tmp_path / "model.bin"
    source.write_bytes(b"m" * 1000)
    inode = source.stat().st_ino
    location = repository.save(source, "wf/pod/model", archive=False)
    assert not source.exists()
    stored = repository.path_of(location)
    assert stored == tmp_path / "repo" / "wf" / "pod" / "model"
    assert stored.stat().st_ino == inode


def test_a_raw_save_copies_when_the_source_cannot_be_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    tree = tmp_path / "out"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_bytes(b"data")
    (tree / "sub" / "f").chmod(0o604)
    (tree / "l").symlink_to("sub/f")
    real_rename = os.rename

    def cross_device(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src) == tree:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", cross_device)
    location = repository.save(tree, "wf/pod/out", archive=False)
    stored = repository.path_of(location)
    assert (stored / "sub" / "f").read_bytes() == b"data"
    assert (stored / "sub" / "f").stat().st_mode & 0o777 == 0o604
    assert os.readlink(stored / "l") == "sub/f"
    assert (tree / "sub" / "f").exists(), "a copied source is left where it was"


def test_a_raw_save_from_another_filesystem_copies(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem other than the test's temporary directory")
    source = shm / f"trainyard-test-{os.getpid()}"
    source.write_bytes(b"x" * 4096)
    try:
        repository = LocalArtifactRepository(tmp_path / "repo")
        location = repository.save(source, "wf/pod/x", archive=False)
        assert repository.path_of(location).read_bytes() == b"x" * 4096
    finally:
        source.unlink(missing_ok=True)


def test_a_failed_save_leaves_neither_key_nor_scraps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    source = tmp_path / "f"
    source.write_bytes(b"old")
    repository.save(source, "wf/pod/f.tgz")
    before = (tmp_path / "repo" / "wf" / "pod" / "f.tgz").read_bytes()

    def half_then_fail(source: Path, out: BinaryIO, **_: object) -> None:
        out.write(b"\x1f\x8b half an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(local, "pack", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        repository.save(source, "wf/pod/f.tgz")
    with pytest.raises(OSError, match="No space"):
        repository.save(source, "wf/pod/g.tgz")
    assert (tmp_path / "repo" / "wf" / "pod" / "f.tgz").read_bytes() == before
    assert stored_files(tmp_path / "repo") == ["wf/pod/f.tgz"]


def test_path_of_gives_the_stored_file_or_directory(tmp_path: Path) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("f")
    packed = repository.save(tmp_path / "f", "wf/p/f.tgz")
    raw = repository.save(tmp_path / "d", "wf/p/d", archive=False)
    assert repository.path_of(packed).is_file()
    assert repository.path_of(raw).is_dir()
    with pytest.raises(NotFoundError, match="'wf/p/nope' not found in the local repository"):
        repository.path_of({"local": {"key": "wf/p/nope"}})


@pytest.mark.parametrize("location", [{}, {"s3": {"key": "k"}}, {"local": {}}, {"local": "k"}])
def test_a_location_that_is_not_local_is_refused(
    tmp_path: Path, location: dict[str, object]
) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    with pytest.raises(UserError, match="not a local artifact location"):
        repository.path_of(location)


def test_keys_cannot_reach_through_links_in_saved_directories(tmp_path: Path) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "door").symlink_to(outside)
    repository.save(tree, "wf/p/tree", archive=False)
    with pytest.raises(UserError, match="leads outside the repository"):
        repository.load({"local": {"key": "wf/p/tree/door/secret"}}, tmp_path / "stolen")
    with pytest.raises(UserError, match="leads outside the repository"):
        repository.save(tmp_path / "tree", "wf/p/tree/door/planted", archive=False)
    repository.delete_prefix("wf/p/tree/door/")
    assert (outside / "secret").exists()


def test_the_staging_folder_is_not_a_key(tmp_path: Path) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    (tmp_path / "f").write_text("f")
    with pytest.raises(UserError, match="artifact key"):
        repository.save(tmp_path / "f", ".incoming/x")
    repository.save(tmp_path / "f", "wf/f.tgz")
    repository.delete_prefix("")
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == [".incoming"]


def test_delete_prefix_prunes_emptied_folders(tmp_path: Path) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    (tmp_path / "f").write_text("f")
    repository.save(tmp_path / "f", "wf/pod-1/a.tgz")
    repository.save(tmp_path / "f", "wf/pod-2/b.tgz")
    repository.delete_prefix("wf/pod-1/")
    assert not (tmp_path / "repo" / "wf" / "pod-1").exists()
    repository.delete_prefix("wf/pod-2/b")
    assert not (tmp_path / "repo" / "wf").exists()
    repository.delete_prefix("never/saved/")


def test_a_failed_load_leaves_nothing_at_dest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = LocalArtifactRepository(tmp_path / "repo")
    (tmp_path / "f").write_text("f")
    location = repository.save(tmp_path / "f", "wf/f", archive=False)

    def fail(src: str, dst: str, **_: object) -> None:
        Path(dst).write_text("half")
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(shutil, "copy2", fail)
    place = tmp_path / "place"
    with pytest.raises(OSError, match="Input/output"):
        repository.load(location, place / "dest")
    assert list(place.iterdir()) == []
