"""ConfiguredRepositories: the artifact repositories of config.yaml, by name or by location."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trainyard.artifacts.base import ArtifactRepository
from trainyard.artifacts.local import LocalArtifactRepository
from trainyard.artifacts.s3location import same_endpoint
from trainyard.core.config import Config, RepositoryConfig, S3Config, SecretRef
from trainyard.core.errors import ConfigError, UserError

DEFAULT = "artifactRepository"
"""How messages name the default repository (its key in config.yaml)."""
ARTIFACT_S3 = "the artifact's s3"
"""How messages name the settings of a repository made from an artifact's own `s3:` block."""


class ConfiguredRepositories:
    """The default repository, the named ones, and those that artifacts' `s3:` blocks name.

    Repositories are made on first use and kept; credentials are read then, through `secret`
    (which raises a clear UserError for a missing Secret). After fork() each process opens
    its own connections (see trainyard.artifacts.s3).
    """

    def __init__(self, config: Config, home: Path, secret: Callable[[SecretRef], str]) -> None:
        """Repositories of `config`; relative local paths and the default one are in `home`."""
        self._config = config
        self._home = home
        self._secret = secret
        self._made: dict[tuple[Any, ...], ArtifactRepository] = {}

    def for_workflow(self, ref: dict[str, Any] | None) -> ArtifactRepository:
        """The repository `ref["repository"]` describes (read from a ConfigMap), else the one
        config.yaml's artifactRepositories has under `ref["key"]`, else the default one."""
        stored = (ref or {}).get("repository")
        if isinstance(stored, dict):
            return self._stored(stored, str((ref or {}).get("origin") or "artifactRepositoryRef"))
        name = (ref or {}).get("key")
        if not name:
            return self._configured(None)
        if name not in self._config.artifact_repositories:
            known = ", ".join(sorted(self._config.artifact_repositories)) or "none"
            config_map = (ref or {}).get("configMap") or "artifact-repositories"
            raise ConfigError(
                f"artifactRepositoryRef names the artifact repository {name!r}: no ConfigMap "
                f"{config_map!r} holds that key (store one with `trainyard apply -f`, the key "
                "holding the repository as YAML, e.g. `s3: {bucket: ..., endpoint: ...}`), and "
                f"config.yaml defines no artifactRepositories.{name} (defined: {known})"
            )
        return self._configured(str(name))

    def _stored(self, settings: dict[str, Any], origin: str) -> ArtifactRepository:
        """A repository from settings a ConfigMap holds, made once per distinct settings."""
        made = ("stored", json.dumps(settings, sort_keys=True, default=str))
        if made not in self._made:
            self._made[made] = self._make(
                _repository_config(settings, origin), origin, default=False
            )
        return self._made[made]

    def archive_logs(self, ref: dict[str, Any] | None) -> bool:
        """Whether the repository `ref` names says `archiveLogs: true`."""
        name = (ref or {}).get("key")
        settings: RepositoryConfig | None
        stored = (ref or {}).get("repository")
        if isinstance(stored, dict):
            settings = _repository_config(stored, str((ref or {}).get("origin")))
        elif name:
            self.for_workflow(ref)  # a clear error for an unknown name
            settings = self._config.artifact_repositories[str(name)]
        else:
            settings = self._config.artifact_repository
        return bool(settings is not None and settings.archive_logs)

    def for_location(self, location: dict[str, Any]) -> ArtifactRepository:
        """The repository holding an artifact with these location fields (see the Protocol).

        `{"local": {"key"}}` is the default local directory, `{"local": {"key", "path"}}` the
        configured one at `path`. `{"s3": {...}}` is the configured S3 repository with the
        same bucket and endpoint (the default one first; a missing field matches any), else
        one made from the fields given, taking what they lack (endpoint, region, insecure,
        credentials) from the default S3 repository, else from AWS's usual environment.
        """
        if isinstance(location.get("local"), dict):
            return self._local_at(location["local"].get("path"))
        if isinstance(location.get("s3"), dict):
            return self._s3_for(location["s3"])
        kinds = ", ".join(sorted(location)) or "none"
        raise UserError(
            f"artifact location {location!r} is neither local nor s3 (it has {kinds}): "
            "the local engine keeps artifacts in local directories and S3 buckets"
        )

    # -- configured repositories ------------------------------------------------------------

    def _configured(self, name: str | None) -> ArtifactRepository:
        """The default repository (name None) or a named one, made once."""
        found = self._made.get(("named", name))
        if found is None:
            if name is None:
                settings = self._config.artifact_repository
                origin = DEFAULT
            else:
                settings = self._config.artifact_repositories[name]
                origin = f"artifactRepositories.{name}"
            found = self._make(settings, origin, default=name is None)
            self._made["named", name] = found
        return found

    def _make(
        self, settings: RepositoryConfig | None, origin: str, *, default: bool
    ) -> ArtifactRepository:
        if settings is None:
            return LocalArtifactRepository(self._default_root())
        if (settings.local is None) == (settings.s3 is None):
            raise ConfigError(f"configuration: {origin}: give exactly one of `local:` or `s3:`")
        if settings.local is not None:
            root = self._root(settings.local.path)
            return LocalArtifactRepository(root, record_root=root != self._default_root())
        assert settings.s3 is not None
        return _s3_repository(
            settings.s3,
            self._credentials(settings.s3.access_key_secret, settings.s3.secret_key_secret, origin),
            origin=f"{origin}.s3",
            full_location=not default,
        )

    def _credentials(
        self, access: SecretRef | None, secret: SecretRef | None, origin: str
    ) -> tuple[str, str] | None:
        if access is None and secret is None:
            return None  # boto3's chain: AWS_ACCESS_KEY_ID, ~/.aws, instance roles, ...
        if access is None or secret is None:
            raise ConfigError(
                f"configuration: {origin}: give both accessKeySecret and secretKeySecret, or "
                "neither to use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        return self._secret(access), self._secret(secret)

    def _s3_settings(self) -> Iterator[tuple[str | None, S3Config]]:
        """The configured S3 repositories, the default one first."""
        default = self._config.artifact_repository
        if default is not None and default.s3 is not None:
            yield None, default.s3
        for name in sorted(self._config.artifact_repositories):
            s3 = self._config.artifact_repositories[name].s3
            if s3 is not None:
                yield name, s3

    # -- locations --------------------------------------------------------------------------

    def _local_at(self, path: object) -> ArtifactRepository:
        if path is None or self._root(str(path)) == self._default_root():
            default = self._config.artifact_repository
            if default is None or default.local is not None:
                return self._configured(None)
            return self._made.setdefault(
                ("local", None), LocalArtifactRepository(self._default_root())
            )
        for name, settings in sorted(self._config.artifact_repositories.items()):
            if settings.local is not None and self._root(settings.local.path) == self._root(
                str(path)
            ):
                return self._configured(name)
        for made, repository in self._made.items():
            where = repository.location("").get("local") or {} if made[0] == "stored" else {}
            if where and where.get("path") == str(self._root(str(path))):
                return repository  # a ConfigMap's repository this process has used
        raise ConfigError(
            f"the artifact is in the local directory {path}, which no artifact repository of "
            "config.yaml names: add it under artifactRepositories"
        )

    def _s3_for(self, fields: dict[str, Any]) -> ArtifactRepository:
        bucket, endpoint = fields.get("bucket") or None, fields.get("endpoint") or None
        refs = fields.get("accessKeySecret"), fields.get("secretKeySecret")
        near = [
            (name, s3)
            for name, s3 in self._s3_settings()
            if endpoint is None or same_endpoint(endpoint, s3.endpoint)
        ]
        for name, s3 in near:
            if refs == (None, None) and bucket in (None, s3.bucket):
                return self._configured(name)
        for made, repository in self._made.items():
            where = repository.location("").get("s3") or {} if made[0] == "stored" else {}
            if where and where.get("bucket") == bucket and where.get("endpoint") == endpoint:
                return repository  # a ConfigMap's repository this process has used
        if bucket is None:
            raise ConfigError(
                f"the artifact location {{'s3': {fields!r}}} names no bucket, and no S3 artifact "
                f"repository of config.yaml matches it: set {DEFAULT}.s3, or the artifact's "
                "s3.bucket"
            )
        base_name, base = near[0] if near else (None, None)
        settings = S3Config(
            bucket=str(bucket),
            endpoint=endpoint or (base.endpoint if base else None),
            region=fields.get("region") or (base.region if base else None),
            insecure=bool(fields.get("insecure", base.insecure if base else False)),
        )
        made = ("s3", settings.model_dump_json(), repr(refs), base_name)
        if made not in self._made:
            if refs != (None, None):
                access, secret = (_secret_ref(ref) for ref in refs)
                credentials = self._credentials(access, secret, ARTIFACT_S3)
            elif base is not None:
                origin = f"artifactRepositories.{base_name}" if base_name else DEFAULT
                credentials = self._credentials(
                    base.access_key_secret, base.secret_key_secret, origin
                )
            else:
                credentials = None
            self._made[made] = _s3_repository(
                settings, credentials, origin=ARTIFACT_S3, full_location=True
            )
        return self._made[made]

    def _root(self, path: str) -> Path:
        root = Path(path).expanduser()
        return root if root.is_absolute() else self._home / root

    def _default_root(self) -> Path:
        default = self._config.artifact_repository
        if default is not None and default.local is not None:
            return self._root(default.local.path)
        return self._home / "artifacts"


def _repository_config(settings: dict[str, Any], origin: str) -> RepositoryConfig:
    try:
        return RepositoryConfig.model_validate(settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"artifact repository of {origin}: {problems}") from exc


def _secret_ref(ref: object) -> SecretRef | None:
    """An Argo SecretKeySelector (`{name, key}`) as a SecretRef."""
    if ref is None:
        return None
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("key"):
        raise UserError(f"{ARTIFACT_S3}: a secret reference needs `name` and `key`, not {ref!r}")
    return SecretRef(name=str(ref["name"]), key=str(ref["key"]))


def _s3_repository(*args: Any, **kwargs: Any) -> ArtifactRepository:
    """An S3ArtifactRepository; boto3 (a third of a second to import) loads on first use."""
    from trainyard.artifacts.s3 import S3ArtifactRepository

    return S3ArtifactRepository(*args, **kwargs)
