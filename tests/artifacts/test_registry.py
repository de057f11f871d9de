"""ConfiguredRepositories: config.yaml's repositories by name, by location, and their secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.artifacts.s3server import S3Server
from trainyard.artifacts.local import LocalArtifactRepository
from trainyard.artifacts.registry import ConfiguredRepositories
from trainyard.artifacts.s3 import S3ArtifactRepository
from trainyard.core.config import Config, SecretRef, load_config
from trainyard.core.errors import ConfigError, UserError


class Secrets:
    """A local secret store with one Secret, counting what is read."""

    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self.values = values
        self.reads: list[tuple[str, str]] = []

    def __call__(self, ref: SecretRef) -> str:
        self.reads.append((ref.name, ref.key))
        try:
            return self.values[ref.name, ref.key]
        except KeyError:
            raise UserError(f"Secret {ref.name!r} not found") from None


def configured(home: Path, text: str, secrets: Secrets | None = None) -> ConfiguredRepositories:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(text)
    return ConfiguredRepositories(load_config(home), home, secrets or Secrets({}))


def s3_yaml(server: S3Server, bucket: str, *, secrets: bool = True, indent: str = "  ") -> str:
    lines = [
        "s3:",
        f"  endpoint: {server.endpoint}",
        f"  bucket: {bucket}",
        "  insecure: true",
    ]
    if secrets:
        lines += [
            "  accessKeySecret: {name: s3-creds, key: accessKey}",
            "  secretKeySecret: {name: s3-creds, key: secretKey}",
        ]
    return "".join(f"{indent}{line}\n" for line in lines)


def server_secrets(server: S3Server) -> Secrets:
    access, secret = server.credentials
    return Secrets({("s3-creds", "accessKey"): access, ("s3-creds", "secretKey"): secret})


def test_without_configuration_artifacts_stay_in_the_home(tmp_path: Path) -> None:
    repositories = ConfiguredRepositories(Config(), tmp_path, Secrets({}))
    default = repositories.for_workflow(None)
    assert isinstance(default, LocalArtifactRepository)
    assert default.root == tmp_path / "artifacts"
    assert repositories.for_workflow({"configMap": "artifact-repositories"}) is default
    assert repositories.for_location({"local": {"key": "wf/p/a.tgz"}}) is default
    assert default.describe == f"local {tmp_path / 'artifacts'}"
    assert default.key_format == "{{workflow.name}}/{{pod.name}}"


def test_a_named_local_repository_records_its_directory(tmp_path: Path) -> None:
    repositories = configured(
        tmp_path / "home",
        f"artifactRepositories:\n  scratch:\n    local: {{path: {tmp_path / 'data'}}}\n"
        "  relative:\n    local: {path: rel}\n",
    )
    scratch = repositories.for_workflow({"configMap": "x", "key": "scratch"})
    source = tmp_path / "model"
    source.write_bytes(b"m")
    location = scratch.save(source, "wf/pod/model", archive=False)
    assert location == {"local": {"key": "wf/pod/model", "path": str(tmp_path / "data")}}
    assert repositories.for_location(location) is scratch
    assert scratch.local_path(location) == tmp_path / "data" / "wf" / "pod" / "model"
    relative = repositories.for_workflow({"key": "relative"})
    assert isinstance(relative, LocalArtifactRepository)
    assert relative.root == tmp_path / "home" / "rel"
    default = repositories.for_location({"local": {"key": "wf/pod/model"}})
    assert default is not scratch
    with pytest.raises(UserError, match="is in the local repository"):
        default.load(location, tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match=r"which no artifact repository of config\.yaml names"):
        repositories.for_location({"local": {"key": "k", "path": "/etc"}})


def test_a_default_local_directory_elsewhere(tmp_path: Path) -> None:
    repositories = configured(
        tmp_path / "home", f"artifactRepository:\n  local: {{path: {tmp_path / 'big'}}}\n"
    )
    default = repositories.for_workflow(None)
    assert isinstance(default, LocalArtifactRepository)
    assert default.root == tmp_path / "big"
    source = tmp_path / "f"
    source.write_text("x")
    assert default.save(source, "wf/p/f.tgz") == {"local": {"key": "wf/p/f.tgz"}}
    assert repositories.for_location({"local": {"key": "wf/p/f.tgz"}}) is default


def test_an_unknown_repository_name_lists_the_known_ones(tmp_path: Path) -> None:
    repositories = configured(
        tmp_path,
        "artifactRepositories:\n  b: {local: {path: /tmp/b}}\n  a: {local: {path: /tmp/a}}\n",
    )
    expected = (
        "artifactRepositoryRef names the artifact repository 'big': no ConfigMap "
        "'artifact-repositories' holds that key (store one with `trainyard apply -f`, the key "
        "holding the repository as YAML, e.g. `s3: {bucket: ..., endpoint: ...}`), and "
        "config.yaml defines no artifactRepositories.big (defined: a, b)"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        repositories.for_workflow({"key": "big"})


def test_settings_read_from_a_configmap_make_their_own_repository(tmp_path: Path) -> None:
    repositories = configured(tmp_path, "artifactRepositories:\n  k: {local: {path: other}}\n")
    ref = {"key": "k", "repository": {"local": {"path": str(tmp_path / "cm")}, "archiveLogs": True}}
    made = repositories.for_workflow(ref)
    assert made is repositories.for_workflow(dict(ref))
    assert made.location("x") == {"local": {"key": "x", "path": str(tmp_path / "cm")}}
    assert repositories.for_location(made.location("x")) is made
    assert repositories.archive_logs(ref) and not repositories.archive_logs({"key": "k"})
    with pytest.raises(ConfigError, match="artifact repository of ConfigMap 'c' key 'k': s3"):
        repositories.for_workflow(
            {"repository": {"s3": {"bukket": "b"}}, "origin": "ConfigMap 'c' key 'k'"}
        )


def test_the_default_s3_repository_reads_its_secrets_once(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.make_bucket("registry-default")
    secrets = server_secrets(s3_server)
    repositories = configured(
        tmp_path, "artifactRepository:\n" + s3_yaml(s3_server, bucket), secrets
    )
    default = repositories.for_workflow(None)
    assert isinstance(default, S3ArtifactRepository)
    source = tmp_path / "model"
    source.write_bytes(b"weights")
    location = default.save(source, "wf/pod/model.tgz")
    assert location == {"s3": {"key": "wf/pod/model.tgz"}}
    assert repositories.for_location(location) is default
    assert repositories.for_location({"s3": {"bucket": bucket, "key": "k"}}) is default
    same = {"s3": {"bucket": bucket, "endpoint": f"http://{s3_server.endpoint}/", "key": "k"}}
    assert repositories.for_location(same) is default
    repositories.for_location(location).load(location, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b"weights"
    assert secrets.reads == [("s3-creds", "accessKey"), ("s3-creds", "secretKey")]


def test_a_named_s3_repository_records_where_it_is(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.make_bucket("registry-named")
    repositories = configured(
        tmp_path,
        "artifactRepositories:\n  big:\n" + s3_yaml(s3_server, bucket, indent="    "),
        server_secrets(s3_server),
    )
    big = repositories.for_workflow({"key": "big"})
    assert isinstance(big, LocalArtifactRepository) is False
    source = tmp_path / "m"
    source.write_bytes(b"m")
    location = big.save(source, "wf/p/m", archive=False)
    assert location == {
        "s3": {"bucket": bucket, "endpoint": s3_server.endpoint, "insecure": True, "key": "wf/p/m"}
    }
    assert repositories.for_location(location) is big
    assert repositories.for_location({"s3": {"key": "wf/p/m"}}) is big  # the only S3 one
    assert isinstance(repositories.for_workflow(None), LocalArtifactRepository)


def test_an_artifacts_own_bucket_borrows_the_default_endpoint_and_secrets(
    s3_server: S3Server, tmp_path: Path
) -> None:
    default_bucket = s3_server.make_bucket("registry-main")
    other = s3_server.make_bucket("registry-other")
    secrets = server_secrets(s3_server)
    repositories = configured(
        tmp_path, "artifactRepository:\n" + s3_yaml(s3_server, default_bucket), secrets
    )
    own = repositories.for_location({"s3": {"bucket": other, "key": "given/key.tgz"}})
    assert isinstance(own, S3ArtifactRepository)
    assert own.describe == f"s3://{other} at {s3_server.url}"
    source = tmp_path / "m"
    source.write_bytes(b"m")
    location = own.save(source, "given/key.tgz")
    assert location == {
        "s3": {
            "bucket": other,
            "endpoint": s3_server.endpoint,
            "insecure": True,
            "key": "given/key.tgz",
        }
    }
    assert repositories.for_location(location) is own
    assert s3_server.keys(other) == ["given/key.tgz"]
    assert len(secrets.reads) == 2  # the default repository's pair, read once
    own.load(location, tmp_path / "back")


def test_an_artifacts_own_secrets_are_read_from_the_store(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.make_bucket("registry-own-keys")
    secrets = server_secrets(s3_server)
    repositories = ConfiguredRepositories(Config(), tmp_path, secrets)
    fields: dict[str, Any] = {
        "bucket": bucket,
        "endpoint": s3_server.endpoint,
        "insecure": True,
        "accessKeySecret": {"name": "s3-creds", "key": "accessKey"},
        "secretKeySecret": {"name": "s3-creds", "key": "secretKey"},
    }
    own = repositories.for_location({"s3": fields})
    source = tmp_path / "m"
    source.write_bytes(b"m")
    own.save(source, "k/m", archive=False)
    assert s3_server.keys(bucket) == ["k/m"]
    with pytest.raises(UserError, match="a secret reference needs `name` and `key`"):
        repositories.for_location({"s3": {**fields, "secretKeySecret": {"name": "x"}}})
    missing = {**fields, "secretKeySecret": {"name": "absent", "key": "k"}}
    with pytest.raises(UserError, match="Secret 'absent' not found"):
        repositories.for_location({"s3": missing})


def test_half_a_pair_of_secrets_is_refused(s3_server: S3Server, tmp_path: Path) -> None:
    text = "artifactRepository:\n" + s3_yaml(s3_server, "b", secrets=False)
    text += "    accessKeySecret: {name: s3-creds, key: accessKey}\n"
    repositories = configured(tmp_path, text, server_secrets(s3_server))
    with pytest.raises(ConfigError, match="give both accessKeySecret and secretKeySecret"):
        repositories.for_workflow(None)


def test_locations_that_no_repository_can_hold(tmp_path: Path) -> None:
    repositories = ConfiguredRepositories(Config(), tmp_path, Secrets({}))
    with pytest.raises(ConfigError, match=r"names no bucket.*set artifactRepository\.s3"):
        repositories.for_location({"s3": {"key": "wf/p/m"}})
    with pytest.raises(UserError, match=r"neither local nor s3 \(it has http\)"):
        repositories.for_location({"http": {"url": "https://example.com/m"}})
    adhoc = repositories.for_location({"s3": {"bucket": "b", "key": "k"}})
    assert adhoc.describe == "s3://b"  # AWS itself, with the AWS environment's credentials


def test_configured_settings_are_checked(tmp_path: Path) -> None:
    both = Config.model_validate(
        {"artifactRepositories": {"x": {"local": {"path": "/a"}, "s3": {"bucket": "b"}}}}
    )
    with pytest.raises(ConfigError, match=r"artifactRepositories\.x: give exactly one of"):
        ConfiguredRepositories(both, tmp_path, Secrets({})).for_workflow({"key": "x"})
    s3 = Config.model_validate({"artifactRepository": {"s3": {"bucket": "b", "keyPrefix": "team"}}})
    default = ConfiguredRepositories(s3, tmp_path, Secrets({})).for_workflow(None)
    assert default.key_format == "team/{{workflow.name}}/{{pod.name}}"
