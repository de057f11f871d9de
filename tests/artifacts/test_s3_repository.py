"""What S3ArtifactRepository promises beyond the contract: parts, memory, layout, errors, fork."""

from __future__ import annotations

import hashlib
import os
import re
import time
import tracemalloc
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.artifacts.s3server import S3Server, free_port
from trainyard.artifacts import s3 as s3_module
from trainyard.artifacts.archive import pack
from trainyard.artifacts.s3 import S3ArtifactRepository
from trainyard.core.config import S3Config
from trainyard.core.errors import ArtifactError, UserError

MiB = 1 << 20


def random_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _ in range(size // MiB):
            out.write(os.urandom(MiB))
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def small_parts(server: S3Server, config: S3Config) -> S3ArtifactRepository:
    return S3ArtifactRepository(config, server.credentials, part_size=5 * MiB)


# -- names and locations --------------------------------------------------------------------


def test_names_and_key_formats_follow_argo(s3_config: S3Config) -> None:
    repository = S3ArtifactRepository(s3_config)
    assert repository.describe == f"s3://{s3_config.bucket} at http://{s3_config.endpoint}"
    assert repository.key_format == "{{workflow.name}}/{{pod.name}}"
    assert repository.local_path({"s3": {"key": "a/b"}}) is None
    prefixed = S3Config(bucket="b", key_prefix="team/runs/")
    assert S3ArtifactRepository(prefixed).key_format == "team/runs/{{workflow.name}}/{{pod.name}}"
    own = S3Config(bucket="b", key_prefix="x", key_format="{{workflow.uid}}/{{pod.name}}")
    assert S3ArtifactRepository(own).key_format == "{{workflow.uid}}/{{pod.name}}"
    aws = S3ArtifactRepository(S3Config(bucket="b"))
    assert (aws.describe, aws.endpoint_url, aws.region) == ("s3://b", None, "us-east-1")
    secure = S3ArtifactRepository(S3Config(bucket="b", endpoint="minio.lan:9000"))
    assert secure.endpoint_url == "https://minio.lan:9000"
    explicit = S3ArtifactRepository(S3Config(bucket="b", endpoint="http://h:1/", insecure=False))
    assert explicit.endpoint_url == "http://h:1"


def test_a_location_names_the_bucket_only_when_asked(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "f", MiB)
    plain = S3ArtifactRepository(s3_config, s3_server.credentials)
    assert plain.save(source, "wf/p/f", archive=False) == {"s3": {"key": "wf/p/f"}}
    config = s3_config.model_copy(update={"region": "eu-west-1"})
    full = S3ArtifactRepository(config, s3_server.credentials, full_location=True)
    location = full.save(source, "wf/p/g", archive=False)
    assert location == {
        "s3": {
            "bucket": s3_config.bucket,
            "endpoint": s3_config.endpoint,
            "insecure": True,
            "region": "eu-west-1",
            "key": "wf/p/g",
        }
    }
    full.load(location, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == source.read_bytes()
    with pytest.raises(UserError, match=r"is in s3://elsewhere, not in s3://"):
        plain.load({"s3": {"bucket": "elsewhere", "key": "wf/p/f"}}, tmp_path / "x")
    with pytest.raises(UserError, match="not an S3 artifact location"):
        plain.size({"local": {"key": "wf/p/f"}})


# -- large files ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("archive", [False, True])
def test_a_64_mib_file_goes_up_in_parts(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path, archive: bool
) -> None:
    repository = small_parts(s3_server, s3_config)
    source = random_file(tmp_path / "weights.bin", 64 * MiB)
    key = "wf/pod/weights" + (".tgz" if archive else "")
    location = repository.save(source, key, archive=archive)
    head = s3_server.client().head_object(Bucket=s3_config.bucket, Key=key)
    parts = int(head["ETag"].strip('"').split("-")[1])  # a multipart ETag ends in -<parts>
    assert parts == 13 if not archive else parts >= 13
    repository.load(location, tmp_path / "back.bin")
    assert sha256(tmp_path / "back.bin") == sha256(source)
    assert s3_server.uploads_in_progress(s3_config.bucket) == []


@pytest.mark.slow
def test_an_archive_streams_up_and_down_in_bounded_memory(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path
) -> None:
    repository = small_parts(s3_server, s3_config)
    source = random_file(tmp_path / "out" / "weights.bin", 64 * MiB)  # gzip cannot shrink it
    repository.save(random_file(tmp_path / "warm", MiB), "wf/pod/warm.tgz")
    tracemalloc.start()
    try:
        location = repository.save(source.parent, "wf/pod/out.tgz")
        _, up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        repository.load(location, tmp_path / "in")
        _, down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert up < 24 * MiB, f"the upload held {up / MiB:.0f} MiB"
    assert down < 8 * MiB, f"the download held {down / MiB:.0f} MiB"
    assert sha256(tmp_path / "in" / "weights.bin") == sha256(source)
    assert not list(tmp_path.glob("*.tgz")), "nothing is packed to a temporary file"


# -- raw directories ------------------------------------------------------------------------


def test_a_raw_directory_is_one_object_per_entry(
    s3_server: S3Server, s3_repository: S3ArtifactRepository, tmp_path: Path
) -> None:
    tree = tmp_path / "logs"
    (tree / "run1").mkdir(parents=True)
    (tree / "run1" / "events").write_bytes(b"e" * 100)
    (tree / "run1" / "events").chmod(0o600)
    (tree / "latest").symlink_to("run1")
    (tree / "empty").mkdir()
    location = s3_repository.save(tree, "wf/pod/logs", archive=False)
    bucket = s3_repository.bucket
    assert s3_server.keys(bucket) == [
        "wf/pod/logs/",
        "wf/pod/logs/empty/",
        "wf/pod/logs/latest",
        "wf/pod/logs/run1/",
        "wf/pod/logs/run1/events",
    ]
    head = s3_server.client().head_object(Bucket=bucket, Key="wf/pod/logs/run1/events")
    assert head["Metadata"]["mode"] == "600"
    link = s3_server.client().head_object(Bucket=bucket, Key="wf/pod/logs/latest")
    assert link["Metadata"]["symlink"] == "run1"
    assert s3_repository.size(location) == 100
    # Saved again with fewer files: what is gone from the source is gone from the bucket.
    (tree / "run1" / "events").unlink()
    s3_repository.save(tree, "wf/pod/logs", archive=False)
    assert "wf/pod/logs/run1/events" not in s3_server.keys(bucket)
    s3_repository.load(location, tmp_path / "back")
    assert os.readlink(tmp_path / "back" / "latest") == "run1"
    assert sorted(os.listdir(tmp_path / "back")) == ["empty", "latest", "run1"]


def test_objects_that_climb_out_of_a_directory_are_refused(
    s3_server: S3Server, s3_repository: S3ArtifactRepository, tmp_path: Path
) -> None:
    client = s3_server.client()
    bucket = s3_repository.bucket
    client.put_object(Bucket=bucket, Key="wf/pod/d/ok", Body=b"fine")
    client.put_object(Bucket=bucket, Key="wf/pod/d/link", Body=b"", Metadata={"symlink": "../.."})
    with pytest.raises(UserError, match="refusing to unpack"):
        s3_repository.load({"s3": {"key": "wf/pod/d"}}, tmp_path / "in" / "d")
    assert os.listdir(tmp_path / "in") == []


# -- failures -------------------------------------------------------------------------------


def test_a_missing_bucket_is_named(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path
) -> None:
    config = s3_config.model_copy(update={"bucket": "no-such-bucket"})
    repository = S3ArtifactRepository(config, s3_server.credentials)
    expected = (
        f"cannot save artifact 'wf/pod/m.tgz' to s3://no-such-bucket at {s3_server.url}: "
        "bucket 'no-such-bucket' does not exist: create it or fix artifactRepository.s3.bucket"
    )
    with pytest.raises(ArtifactError, match=f"^{re.escape(expected)}$"):
        repository.save(random_file(tmp_path / "m", MiB), "wf/pod/m.tgz")
    with pytest.raises(ArtifactError, match=r"^cannot load artifact 'wf/pod/m\.tgz' from s3://"):
        repository.load({"s3": {"key": "wf/pod/m.tgz"}}, tmp_path / "in")


def test_refused_credentials_are_named(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path
) -> None:
    assert s3_server.auth
    source = random_file(tmp_path / "m", MiB)
    good = S3ArtifactRepository(s3_config, s3_server.credentials)
    location = good.save(source, "wf/pod/m.tgz")
    for credentials, code in [
        (("AKIAWRONGWRONGWRONG0", "nope"), "InvalidAccessKeyId"),
        ((s3_server.credentials[0], "wrong secret"), "SignatureDoesNotMatch"),
    ]:
        bad = S3ArtifactRepository(s3_config, credentials, origin="artifactRepositories.big.s3")
        fix = (
            f"the credentials were refused ({code}): check "
            "artifactRepositories.big.s3.accessKeySecret and "
            "artifactRepositories.big.s3.secretKeySecret, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        )
        where = f"s3://{s3_config.bucket} at {s3_server.url}"
        with pytest.raises(ArtifactError) as saving:
            bad.save(source, "wf/pod/other.tgz")
        assert str(saving.value) == f"cannot save artifact 'wf/pod/other.tgz' to {where}: {fix}"
        with pytest.raises(ArtifactError) as loading:
            bad.load(location, tmp_path / "in")
        assert str(loading.value) == f"cannot load artifact 'wf/pod/m.tgz' from {where}: {fix}"
    assert s3_server.keys(s3_config.bucket) == ["wf/pod/m.tgz"]


def test_an_unreachable_endpoint_fails_within_seconds(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    config = S3Config(bucket="models", endpoint=f"127.0.0.1:{port}", insecure=True)
    repository = S3ArtifactRepository(config, ("a", "b"))
    started = time.monotonic()
    with pytest.raises(ArtifactError) as failure:
        repository.save(random_file(tmp_path / "m", MiB), "wf/pod/m.tgz")
    assert time.monotonic() - started < 10
    assert str(failure.value) == (
        f"cannot save artifact 'wf/pod/m.tgz' to s3://models at http://127.0.0.1:{port}: "
        f"cannot reach endpoint http://127.0.0.1:{port} (Connection refused): check "
        "artifactRepository.s3.endpoint and that the server is running"
    )


def test_without_credentials_the_aws_environment_is_used(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    source = random_file(tmp_path / "m", MiB)
    with pytest.raises(ArtifactError, match=r"no credentials: set artifactRepository\.s3\."):
        S3ArtifactRepository(s3_config).save(source, "wf/pod/m")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.credentials[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.credentials[1])
    assert S3ArtifactRepository(s3_config).save(source, "wf/pod/m") == {"s3": {"key": "wf/pod/m"}}


def test_a_failed_upload_leaves_nothing_and_a_retry_succeeds(
    s3_server: S3Server,
    s3_config: S3Config,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repository = small_parts(s3_server, s3_config)
    bucket = s3_config.bucket
    repository.save(random_file(tmp_path / "v1" / "model", MiB), "wf/pod/model.tgz")
    before = s3_server.client().head_object(Bucket=bucket, Key="wf/pod/model.tgz")["ETag"]

    def breaks_midway(source: Path, out: BinaryIO) -> None:
        for _ in range(12):  # two parts and more have gone up when the disk fails
            out.write(os.urandom(MiB))
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(s3_module, "pack", breaks_midway)
    source = random_file(tmp_path / "v2" / "model", 20 * MiB)
    with pytest.raises(ArtifactError) as failure:
        repository.save(source, "wf/pod/model.tgz")
    assert str(failure.value) == (
        f"cannot save artifact 'wf/pod/model.tgz' to {repository.describe}: cannot pack "
        f"{source}: Input/output error"
    )
    assert s3_server.uploads_in_progress(bucket) == [], "the multipart upload was aborted"
    head = s3_server.client().head_object(Bucket=bucket, Key="wf/pod/model.tgz")
    assert head["ETag"] == before, "the earlier artifact is still whole under the key"
    assert s3_server.keys(bucket) == ["wf/pod/model.tgz"]
    monkeypatch.setattr(s3_module, "pack", pack)
    location = repository.save(source, "wf/pod/model.tgz")
    repository.load(location, tmp_path / "back")
    assert sha256(tmp_path / "back") == sha256(source)


def test_a_bad_bucket_then_a_fixed_one_saves_cleanly(
    s3_server: S3Server, s3_config: S3Config, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "m", 12 * MiB)
    wrong = s3_config.model_copy(update={"bucket": "not-there-yet"})
    with pytest.raises(ArtifactError, match="does not exist"):
        small_parts(s3_server, wrong).save(source, "wf/pod/m", archive=False)
    s3_server.make_bucket("not-there-yet")
    assert s3_server.keys("not-there-yet") == []
    small_parts(s3_server, wrong).save(source, "wf/pod/m", archive=False)
    assert s3_server.keys("not-there-yet") == ["wf/pod/m"]


# -- fork -----------------------------------------------------------------------------------


def test_a_forked_child_opens_its_own_client(
    s3_server: S3Server, s3_repository: S3ArtifactRepository, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "m", 2 * MiB)
    location = s3_repository.save(source, "wf/parent/m.tgz")
    parent_client = s3_repository._s3()
    pid = os.fork()
    if pid == 0:  # the child: a step supervisor
        code = 1
        try:
            fresh = s3_repository._s3() is not parent_client
            s3_repository.save(source, "wf/child/m.tgz")
            s3_repository.load(location, tmp_path / "child-copy")
            code = 0 if fresh else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert s3_repository._s3() is parent_client
    s3_repository.load({"s3": {"key": "wf/child/m.tgz"}}, tmp_path / "parent-copy")
    assert (tmp_path / "parent-copy").read_bytes() == source.read_bytes()
    assert (tmp_path / "child-copy").read_bytes() == source.read_bytes()
