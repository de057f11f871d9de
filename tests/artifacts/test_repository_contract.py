"""The ArtifactRepository contract, run against every implementation."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trainyard.artifacts.base import ArtifactRepository
from trainyard.core.errors import NotFoundError, UserError

MiB = 1 << 20
Locate = Callable[[str], dict[str, Any]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def make_tree(root: Path) -> Path:
    """A directory with nested files, an empty folder, a link and distinct modes."""
    (root / "logs" / "events").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "model.bin").write_bytes(bytes(range(256)) * 100)
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "secret.txt").write_text("token")
    (root / "secret.txt").chmod(0o600)
    (root / "logs" / "events" / "tfevents.1").write_bytes(b"\x00\x01" * 1000)
    (root / "logs" / "latest").symlink_to("events/tfevents.1")
    (root / "logs").chmod(0o750)
    (root / "résumé 模型.txt").write_text("unicode names")
    return root


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes | str | None]]:
    """Everything a step could observe about a tree: kinds, modes, contents, link targets."""
    found: dict[str, tuple[str, int, bytes | str | None]] = {}
    paths = [root, *sorted(root.rglob("*"))] if root.is_dir() else [root]
    for path in paths:
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = ("link", 0, os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir", mode(path), None)
        else:
            found[rel] = ("file", mode(path), path.read_bytes())
    return found


def file_at(path: Path, content: bytes = b"weights", file_mode: int = 0o640) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(file_mode)
    return path


# -- save and load --------------------------------------------------------------------------


@pytest.mark.parametrize("archive", [True, False])
def test_a_file_round_trips_with_its_mode(
    repository: ArtifactRepository, tmp_path: Path, archive: bool, locate: Locate
) -> None:
    source = file_at(tmp_path / "work" / "model.pt", b"\x00weights\xff" * 1000, 0o750)
    key = "wf/wf-1/model.tgz" if archive else "wf/wf-1/model"
    location = repository.save(source, key, archive=archive)
    assert location == locate(key)
    dest = tmp_path / "in" / "deep" / "model.pt"
    repository.load(location, dest)
    assert dest.is_file()
    assert dest.read_bytes() == b"\x00weights\xff" * 1000
    assert mode(dest) == 0o750


@pytest.mark.parametrize("archive", [True, False])
def test_a_directory_round_trips_with_modes_links_and_empty_folders(
    repository: ArtifactRepository, tmp_path: Path, archive: bool
) -> None:
    source = make_tree(tmp_path / "work" / "out")
    expected = snapshot(source)
    location = repository.save(source, "wf/pod/out" + (".tgz" if archive else ""), archive=archive)
    dest = tmp_path / "in" / "renamed"
    repository.load(location, dest)
    assert snapshot(dest) == expected
    assert (dest / "logs" / "latest").read_bytes() == b"\x00\x01" * 1000


def test_an_archived_save_leaves_the_source_alone(
    repository: ArtifactRepository, tmp_path: Path
) -> None:
    source = make_tree(tmp_path / "out")
    before = snapshot(source)
    repository.save(source, "wf/pod/out.tgz")
    assert snapshot(source) == before


def test_saving_a_key_again_replaces_it(repository: ArtifactRepository, tmp_path: Path) -> None:
    first = repository.save(file_at(tmp_path / "a", b"first"), "wf/pod/x.tgz")
    repository.save(file_at(tmp_path / "b", b"second"), "wf/pod/x.tgz")
    repository.load(first, tmp_path / "out1")
    assert (tmp_path / "out1").read_bytes() == b"second"
    # A raw directory over a raw file, and a raw file over a raw directory.
    repository.save(file_at(tmp_path / "c", b"raw"), "wf/pod/raw", archive=False)
    tree = make_tree(tmp_path / "tree")
    expected = snapshot(tree)
    location = repository.save(tree, "wf/pod/raw", archive=False)
    repository.load(location, tmp_path / "out2")
    assert snapshot(tmp_path / "out2") == expected
    repository.save(file_at(tmp_path / "d", b"file again"), "wf/pod/raw", archive=False)
    repository.load(location, tmp_path / "out3")
    assert (tmp_path / "out3").read_bytes() == b"file again"


def test_a_key_alone_locates_what_was_saved_under_it(
    repository: ArtifactRepository, tmp_path: Path
) -> None:
    # key-only artifacts: the location is made from the key before anything is loaded
    saved = repository.save(file_at(tmp_path / "a", b"data"), "my-file")
    assert repository.location("my-file") == saved
    tree = make_tree(tmp_path / "tree")
    expected = snapshot(tree)
    repository.save(tree, "wf/parts", archive=False)  # may move the tree
    repository.load(repository.location("wf/parts"), tmp_path / "whole")
    assert snapshot(tmp_path / "whole") == expected


def test_a_loaded_copy_is_not_linked_to_the_repository(
    repository: ArtifactRepository, tmp_path: Path
) -> None:
    location = repository.save(file_at(tmp_path / "m", b"original", 0o644), "wf/p/m", archive=False)
    first = tmp_path / "first"
    repository.load(location, first)
    with first.open("r+b") as changed:
        changed.write(b"CHANGED!")
    repository.load(location, tmp_path / "second")
    assert (tmp_path / "second").read_bytes() == b"original"


def test_archive_none_unpacks_only_archives(
    repository: ArtifactRepository, tmp_path: Path, locate: Locate
) -> None:
    packed = repository.save(file_at(tmp_path / "f", b"inside"), "wf/p/f.tgz")
    repository.save(file_at(tmp_path / "g", b"\x1f\x8b not really gzip"), "wf/p/g", archive=False)
    repository.load(packed, tmp_path / "auto")
    assert (tmp_path / "auto").read_bytes() == b"inside"
    repository.load(locate("wf/p/g"), tmp_path / "plain")
    assert (tmp_path / "plain").read_bytes() == b"\x1f\x8b not really gzip"
    repository.load(packed, tmp_path / "as-is.tgz", archive=False)
    assert tarfile.is_tarfile(tmp_path / "as-is.tgz")
    with pytest.raises(UserError, match="not a valid tar"):
        repository.load(locate("wf/p/g"), tmp_path / "forced", archive=True)
    assert not (tmp_path / "forced").exists()


def test_load_refuses_an_existing_destination(
    repository: ArtifactRepository, tmp_path: Path
) -> None:
    location = repository.save(file_at(tmp_path / "f"), "wf/p/f.tgz")
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(FileExistsError):
        repository.load(location, tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "mine"


# -- missing, size, delete ------------------------------------------------------------------


def test_missing_artifacts_are_not_found(
    repository: ArtifactRepository, tmp_path: Path, locate: Locate
) -> None:
    location = locate("wf/pod/nothing.tgz")
    with pytest.raises(NotFoundError, match=re.escape("artifact 'wf/pod/nothing.tgz' not found")):
        repository.load(location, tmp_path / "dest")
    with pytest.raises(NotFoundError):
        repository.size(location)
    assert not (tmp_path / "dest").exists()
    with pytest.raises(NotFoundError, match="does not exist"):
        repository.save(tmp_path / "no-such-output", "wf/pod/x.tgz")


def test_size_counts_stored_bytes(repository: ArtifactRepository, tmp_path: Path) -> None:
    raw = repository.save(file_at(tmp_path / "f", b"x" * 5000), "wf/p/f", archive=False)
    assert repository.size(raw) == 5000
    tree = tmp_path / "t"
    file_at(tree / "a", b"1" * 300)
    file_at(tree / "sub" / "b", b"2" * 700)
    assert repository.size(repository.save(tree, "wf/p/t", archive=False)) == 1000
    packed = repository.save(file_at(tmp_path / "g", os.urandom(4000)), "wf/p/g.tgz")
    assert 4000 < repository.size(packed) < 8000


def test_delete_prefix_removes_matching_keys_only(
    repository: ArtifactRepository, tmp_path: Path, locate: Locate
) -> None:
    keys = ["wf-a/p1/x.tgz", "wf-a/p2/y.tgz", "wf-ab/p1/x.tgz", "wf-b/p1/x.tgz"]
    for key in keys:
        repository.save(file_at(tmp_path / key.replace("/", "_")), key)
    repository.delete_prefix("wf-a/")
    present = [key for key in keys if _exists(repository, locate(key), tmp_path / "probe")]
    assert present == ["wf-ab/p1/x.tgz", "wf-b/p1/x.tgz"]
    repository.delete_prefix("wf-a/")
    repository.delete_prefix("wf-a")
    assert not _exists(repository, locate("wf-ab/p1/x.tgz"), tmp_path / "probe")
    repository.delete_prefix("")
    assert not _exists(repository, locate("wf-b/p1/x.tgz"), tmp_path / "probe")


def test_list_keys_names_the_stored_files_under_a_prefix(
    repository: ArtifactRepository, tmp_path: Path
) -> None:
    repository.save(file_at(tmp_path / "a.log"), "wf-a/p1/main.log", archive=False)
    repository.save(file_at(tmp_path / "m"), "wf-a/p1/model.tgz")
    tree = tmp_path / "tree"
    file_at(tree / "x.txt")
    file_at(tree / "deep" / "y.txt")
    repository.save(tree, "wf-a/p2/tree", archive=False)
    repository.save(file_at(tmp_path / "b.log"), "wf-ab/p1/main.log", archive=False)
    assert repository.list_keys("wf-a/") == [
        "wf-a/p1/main.log",
        "wf-a/p1/model.tgz",
        "wf-a/p2/tree/deep/y.txt",
        "wf-a/p2/tree/x.txt",
    ]
    assert repository.list_keys("wf-a") == [*repository.list_keys("wf-a/"), "wf-ab/p1/main.log"]
    assert repository.list_keys("") == repository.list_keys("wf-a")
    assert repository.list_keys("nothing/") == []


def _exists(repository: ArtifactRepository, location: dict[str, Any], probe: Path) -> bool:
    try:
        repository.size(location)
    except NotFoundError:
        return False
    return True


# -- safety ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../escape.tgz", "/etc/x.tgz", "a/../../b.tgz", "", "a//b", "./a"])
def test_keys_must_stay_inside_the_repository(
    repository: ArtifactRepository, tmp_path: Path, key: str, locate: Locate
) -> None:
    with pytest.raises(UserError, match="artifact key"):
        repository.save(file_at(tmp_path / "f"), key)
    with pytest.raises(UserError, match="artifact key"):
        repository.load(locate(key), tmp_path / "out")
    with pytest.raises(UserError):
        repository.delete_prefix(key + "/")


@pytest.mark.parametrize(
    "evil",
    [
        ("../../outside/pwned", tarfile.REGTYPE, ""),
        ("/tmp/absolute-pwned", tarfile.REGTYPE, ""),
        ("top/link", tarfile.SYMTYPE, "../../outside"),
        ("top/abs", tarfile.SYMTYPE, "/etc"),
        ("top/hard", tarfile.LNKTYPE, "../outside/pwned"),
    ],
)
def test_a_path_traversal_tarball_is_refused(
    repository: ArtifactRepository,
    tmp_path: Path,
    entry: Callable[..., tuple[tarfile.TarInfo, bytes | None]],
    write_tarball: Callable[..., Path],
    evil: tuple[str, bytes, str],
) -> None:
    name, kind, link = evil
    bad = write_tarball(
        tmp_path / "evil.tgz",
        entry("top/ok.txt", data=b"fine"),
        entry(name, kind, link=link, data=b"pwned" if kind == tarfile.REGTYPE else None),
        entry("top/link/pwned-through-link", data=b"pwned"),
    )
    location = repository.save(bad, "wf/pod/evil.tgz", archive=False)
    dest = tmp_path / "steps" / "s1" / "input"
    with pytest.raises(UserError, match="refusing to unpack"):
        repository.load(location, dest)
    assert not os.path.lexists(dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == []
    assert not (tmp_path / "outside").exists()
    assert not Path("/tmp/absolute-pwned").exists()


# -- large files ----------------------------------------------------------------------------


def _peak_rss_reset() -> bool:
    """Reset this process's peak RSS (Linux); False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _peak_rss() -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    assert match
    return int(match.group(1)) * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(MiB):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("archive", [True, False])
def test_a_200_mib_file_round_trips_in_little_memory(
    repository: ArtifactRepository, tmp_path: Path, archive: bool
) -> None:
    big = tmp_path / "work" / "weights.bin"
    big.parent.mkdir()
    with big.open("wb") as out:
        out.truncate(200 * MiB)
        for offset in range(0, 200, 10):  # mostly holes, with 1 MiB of noise every 10 MiB
            out.seek(offset * MiB)
            out.write(os.urandom(MiB))
    digest = _sha256(big)
    # What is set up once (a network client, its service model) is not what is measured.
    warm_up = repository.save(file_at(tmp_path / "small"), "wf/pod/small", archive=archive)
    repository.load(warm_up, tmp_path / "small-again")
    measure_rss = _peak_rss_reset()
    rss_before = _peak_rss() if measure_rss else 0
    tracemalloc.start()
    try:
        key = "wf/pod/weights.tgz" if archive else "wf/pod/weights"
        location = repository.save(big, key, archive=archive)
        dest = tmp_path / "in" / "weights.bin"
        repository.load(location, dest)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert traced_peak < 50 * MiB
    if measure_rss:
        assert _peak_rss() - rss_before < 50 * MiB
    assert dest.stat().st_size == 200 * MiB
    assert _sha256(dest) == digest
