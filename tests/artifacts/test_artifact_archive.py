"""Packing and safe unpacking of tar+gzip artifacts."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from trainyard.artifacts.archive import is_tarball, pack, unpack
from trainyard.core.errors import UserError

Entry = tuple[tarfile.TarInfo, bytes | None]
MakeEntry = Callable[..., Entry]
WriteTarball = Callable[..., Path]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def packed(source: Path, target: Path) -> Path:
    with target.open("wb") as out:
        pack(source, out)
    return target


def unpacked(archive: Path, dest: Path) -> Path:
    with archive.open("rb") as stream:
        unpack(stream, dest)
    return dest


def names_in(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


# -- packing --------------------------------------------------------------------------------


def test_a_file_is_packed_under_its_name_and_unpacked_as_dest(tmp_path: Path) -> None:
    source = tmp_path / "model.pt"
    source.write_bytes(b"w" * 10_000)
    source.chmod(0o751)
    os.utime(source, (1_600_000_000, 1_600_000_000))
    archive = packed(source, tmp_path / "a.tgz")
    assert names_in(archive) == ["model.pt"]
    dest = unpacked(archive, tmp_path / "in" / "renamed.bin")
    assert dest.read_bytes() == b"w" * 10_000
    assert mode(dest) == 0o751
    assert dest.stat().st_mtime == 1_600_000_000
    assert sorted(p.name for p in dest.parent.iterdir()) == ["renamed.bin"]


def test_a_directory_becomes_dest_with_its_content(tmp_path: Path) -> None:
    source = tmp_path / "out"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "f.txt").write_text("hello")
    (source / "link").symlink_to("sub/f.txt")
    (source / "sub").chmod(0o700)
    archive = packed(source, tmp_path / "a.tgz")
    assert sorted(names_in(archive)) == ["out", "out/link", "out/sub", "out/sub/f.txt"]
    dest = unpacked(archive, tmp_path / "dest")
    assert (dest / "sub" / "f.txt").read_text() == "hello"
    assert os.readlink(dest / "link") == "sub/f.txt"
    assert (dest / "link").read_text() == "hello"
    assert mode(dest / "sub") == 0o700


def test_a_linked_source_is_packed_as_what_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("content")
    (tmp_path / "alias.txt").symlink_to("real.txt")
    archive = packed(tmp_path / "alias.txt", tmp_path / "a.tgz")
    assert names_in(archive) == ["alias.txt"]
    assert unpacked(archive, tmp_path / "x").read_text() == "content"


def test_packing_is_reproducible_and_anonymous(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_text("same")
    first = packed(source, tmp_path / "1.tgz").read_bytes()
    assert packed(source, tmp_path / "2.tgz").read_bytes() == first
    with tarfile.open(tmp_path / "1.tgz") as tar:
        info = tar.getmembers()[0]
    assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")


def test_packing_nothing_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        packed(tmp_path / "missing", tmp_path / "a.tgz")


def test_is_tarball_looks_at_the_content(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_text("x")
    assert is_tarball(packed(source, tmp_path / "named-anything"))
    (tmp_path / "gz").write_bytes(gzip.compress(b"not a tar at all" * 100))
    (tmp_path / "short").write_bytes(gzip.compress(b"tiny"))
    (tmp_path / "plain").write_bytes(b"plain text")
    (tmp_path / "broken").write_bytes(b"\x1f\x8b\x08garbage")
    (tmp_path / "empty").write_bytes(b"")
    for name in ["gz", "short", "plain", "broken", "empty"]:
        assert not is_tarball(tmp_path / name), name


# -- unpacking what others made --------------------------------------------------------------


def test_several_top_entries_make_a_directory(
    tmp_path: Path, entry: MakeEntry, write_tarball: WriteTarball
) -> None:
    archive = write_tarball(
        tmp_path / "a.tgz",
        entry(".", tarfile.DIRTYPE, mode=0o750),
        entry("./a.txt", data=b"a"),
        entry("./b/c.txt", data=b"c"),
        entry("./top-link", tarfile.SYMTYPE, link="b/c.txt"),
    )
    dest = unpacked(archive, tmp_path / "dest")
    assert (dest / "a.txt").read_bytes() == b"a"
    assert (dest / "top-link").read_bytes() == b"c"
    assert mode(dest) == 0o750


def test_modes_are_kept_but_setuid_and_friends(
    tmp_path: Path, entry: MakeEntry, write_tarball: WriteTarball
) -> None:
    archive = write_tarball(
        tmp_path / "a.tgz",
        entry("d", tarfile.DIRTYPE, mode=0o555),
        entry("d/setuid", data=b"x", mode=0o4755),
        entry("d/locked", data=b"y", mode=0o000),
        entry("d/sub", tarfile.DIRTYPE, mode=0o1777),
    )
    dest = unpacked(archive, tmp_path / "dest")
    assert mode(dest / "setuid") == 0o755
    assert mode(dest / "locked") == 0o000
    assert mode(dest / "sub") == 0o777
    assert mode(dest) == 0o555
    dest.chmod(0o755)


def test_hard_links_inside_the_artifact_are_kept(
    tmp_path: Path, entry: MakeEntry, write_tarball: WriteTarball
) -> None:
    archive = write_tarball(
        tmp_path / "a.tgz",
        entry("top/a", data=b"shared"),
        entry("top/b", tarfile.LNKTYPE, link="top/a"),
    )
    dest = unpacked(archive, tmp_path / "dest")
    assert (dest / "b").read_bytes() == b"shared"
    assert (dest / "a").stat().st_ino == (dest / "b").stat().st_ino


def test_a_repeated_member_replaces_the_first(
    tmp_path: Path, entry: MakeEntry, write_tarball: WriteTarball
) -> None:
    archive = write_tarball(
        tmp_path / "a.tgz",
        entry("top/f", data=b"old"),
        entry("top/f", data=b"new"),
        entry("top/l", data=b"file first"),
        entry("top/l", tarfile.SYMTYPE, link="f"),
        entry("top/m", tarfile.SYMTYPE, link="f"),
        entry("top/m", data=b"file last"),
    )
    dest = unpacked(archive, tmp_path / "dest")
    assert (dest / "f").read_bytes() == b"new"
    assert os.readlink(dest / "l") == "f"
    assert not (dest / "m").is_symlink()
    assert (dest / "m").read_bytes() == b"file last"


def test_links_may_chain_and_point_anywhere_inside(
    tmp_path: Path, entry: MakeEntry, write_tarball: WriteTarball
) -> None:
    archive = write_tarball(
        tmp_path / "a.tgz",
        entry("top/data/deep/file", data=b"deep"),
        entry("top/a", tarfile.SYMTYPE, link="data/deep"),
        entry("top/b", tarfile.SYMTYPE, link="a/../deep/./file"),
        entry("top/data/up", tarfile.SYMTYPE, link=".."),
        entry("top/dangling", tarfile.SYMTYPE, link="not/there"),
    )
    dest = unpacked(archive, tmp_path / "dest")
    assert (dest / "a" / "file").read_bytes() == b"deep"
    assert (dest / "data" / "up" / "a" / "file").read_bytes() == b"deep"
    assert os.readlink(dest / "dangling") == "not/there"


def test_an_empty_directory_archive_unpacks_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    dest = unpacked(packed(tmp_path / "empty", tmp_path / "a.tgz"), tmp_path / "dest")
    assert dest.is_dir()
    assert list(dest.iterdir()) == []


def test_an_existing_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    archive = packed(tmp_path / "f", tmp_path / "a.tgz")
    (tmp_path / "dest").mkdir()
    with pytest.raises(FileExistsError):
        unpacked(archive, tmp_path / "dest")


# -- refusing what could escape --------------------------------------------------------------

UNSAFE = {
    "absolute": [("/etc/evil", tarfile.REGTYPE, "")],
    "dot-dot": [("top/../../evil", tarfile.REGTYPE, "")],
    "leading-dot-dot": [("../evil", tarfile.REGTYPE, "")],
    "absolute-link": [("top/l", tarfile.SYMTYPE, "/etc/passwd")],
    "escaping-link": [("top/l", tarfile.SYMTYPE, "../../evil")],
    "link-out-and-back": [("top/sub/l", tarfile.SYMTYPE, "../../top/x")],
    "link-chain": [
        ("top/p/q/up", tarfile.SYMTYPE, "../.."),
        ("top/esc", tarfile.SYMTYPE, "p/q/up/.."),
    ],
    "link-chain-made-later": [
        ("top/esc", tarfile.SYMTYPE, "p/q/up/../evil"),
        ("top/p/q/up", tarfile.SYMTYPE, "../.."),
    ],
    "link-loop": [("top/a", tarfile.SYMTYPE, "b"), ("top/b", tarfile.SYMTYPE, "a/..")],
    "write-through-link": [
        ("top/l", tarfile.SYMTYPE, "sub"),
        ("top/l/f", tarfile.REGTYPE, ""),
    ],
    "only-a-link": [("l", tarfile.SYMTYPE, "x")],
    "hard-link-out": [("top/h", tarfile.LNKTYPE, "../etc/passwd")],
    "hard-link-to-nothing": [("top/h", tarfile.LNKTYPE, "top/missing")],
    "device": [("top/dev", tarfile.CHRTYPE, "")],
    "fifo": [("top/fifo", tarfile.FIFOTYPE, "")],
}


@pytest.mark.parametrize("members", list(UNSAFE.values()), ids=list(UNSAFE))
def test_unsafe_archives_are_refused_and_leave_nothing(
    tmp_path: Path,
    entry: MakeEntry,
    write_tarball: WriteTarball,
    members: list[tuple[str, bytes, str]],
) -> None:
    entries = [entry("top/ok", data=b"ok")] if members[0][0].startswith("top/") else []
    for name, kind, link in members:
        data = b"evil" if kind == tarfile.REGTYPE else None
        entries.append(entry(name, kind, link=link, data=data))
    archive = write_tarball(tmp_path / "evil.tgz", *entries)
    place = tmp_path / "place"
    place.mkdir()
    with pytest.raises(UserError, match="refusing to unpack"):
        unpacked(archive, place / "dest")
    assert list(place.iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_a_corrupt_archive_is_a_user_error_and_leaves_nothing(tmp_path: Path) -> None:
    good = io.BytesIO()
    (tmp_path / "f").write_bytes(os.urandom(100_000))
    pack(tmp_path / "f", good)
    place = tmp_path / "place"
    place.mkdir()
    for broken in [good.getvalue()[:5000], b"\x1f\x8bnonsense", b"plain"]:
        with pytest.raises(UserError, match="not a valid tar"):
            unpack(io.BytesIO(broken), place / "dest")
        assert list(place.iterdir()) == []


def test_fifos_in_a_packed_directory_are_left_out(tmp_path: Path) -> None:
    source = tmp_path / "out"
    source.mkdir()
    (source / "kept.txt").write_text("kept")
    os.mkfifo(source / "pipe")
    archive = packed(source, tmp_path / "a.tgz")
    assert sorted(names_in(archive)) == ["out", "out/kept.txt"]
