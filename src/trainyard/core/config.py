"""The configuration file (`TRAINYARD_HOME/config.yaml`, then a project's `trainyard.yaml`).

Artifact repositories have the shape of Argo's artifact-repositories ConfigMap entries:

    artifactRepository:            # the default (omit it: local directory under the home)
      s3:
        endpoint: 127.0.0.1:9000
        bucket: models
        insecure: true
        region: us-east-1
        keyFormat: "{{workflow.name}}/{{pod.name}}"
        accessKeySecret: {name: s3-creds, key: accessKey}    # from `trainyard secret`
        secretKeySecret: {name: s3-creds, key: secretKey}    # else AWS_* environment variables
    artifactRepositories:          # named ones, chosen with spec.artifactRepositoryRef.key
      scratch:
        local: {path: /data/artifacts}

The GPU queue:

    gpus: 4                        # else TRAINYARD_GPUS, else what NVML finds
    queue:
      policy: default              # fifo, priority, fair, ... (see trainyard.scheduler)
      skipBusyGpus: true           # never hand out a GPU busy with someone else's process
      tenants:                     # a namespace: one quota for all its users (trainyard auth)
        team-a: {weight: 2, gpuQuota: 4}

Servers and registries (`trainyard context`, `trainyard deploy`):

    contexts:
      abacus:                      # an Argo Server (or a trainyard server)
        server: https://argo.example.com:2746
        namespace: team-a
        tokenEnv: ABACUS_TOKEN     # or tokenFile: ~/.abacus-token
        insecure: true             # Argo's self-signed certificate; or caFile: ca.pem
        registry: company          # where `trainyard deploy --context abacus` pushes
    context: abacus                # the default (`trainyard context use` writes the home's)
    registries:
      company:
        url: registry.example.com/ml
        usernameEnv: REGISTRY_USER
        passwordFile: ~/.registry-password
      # built in: `none` (keep the image local) and `local` (localhost:32000)
    deploy:
      image: trainyard-train       # the training image's name; the dev image adds "-dev"
      trainDockerfile: Dockerfile.train
      devDockerfile: Dockerfile

How steps run on this machine (`trainyard run|submit --executor` overrides it):

    executor: container            # process (default): host processes; container: podman/docker
    container:
      engine: podman               # or docker
      extraArgs: [--network, host] # added to every `ENGINE run`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from trainyard.core.errors import ConfigError

CONFIG_FILE = "config.yaml"
PROJECT_FILE = "trainyard.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SecretRef(_Model):
    """A key of a Secret in the local secret store."""

    name: str
    key: str


class S3Config(_Model):
    """An S3-compatible repository (AWS S3, MinIO, Ceph, ...)."""

    bucket: str
    endpoint: str | None = None
    region: str | None = None
    insecure: bool = False
    key_format: str | None = None
    key_prefix: str | None = None
    access_key_secret: SecretRef | None = None
    secret_key_secret: SecretRef | None = None


class LocalConfig(_Model):
    """A directory on this machine."""

    path: str


class RepositoryConfig(_Model):
    """One artifact repository: exactly one of `local` or `s3`."""

    local: LocalConfig | None = None
    s3: S3Config | None = None
    archive_logs: bool | None = None


class TenantConfig(_Model):
    """A tenant's share of the GPUs: its fair-share weight and at most how many it may hold."""

    weight: float = 1.0
    gpu_quota: int | None = None


class QueueConfig(_Model):
    """How steps wait for resources on this machine."""

    policy: str | None = None
    tenants: dict[str, TenantConfig] = Field(default_factory=dict)
    # Leave GPUs alone that run processes trainyard did not start (set false to share them).
    skip_busy_gpus: bool = True


class ContextConfig(_Model):
    """An Argo-API server to send work to: URL, namespace, and where its token comes from."""

    server: str
    namespace: str = "default"
    token_env: str | None = None
    token_file: str | None = None
    token: str | None = None  # allowed, with a warning: a secret in a config file
    ca_file: str | None = None
    insecure: bool = False
    registry: str | None = None


class RegistryConfig(_Model):
    """A container registry: its URL (`none`: keep images local) and credentials."""

    url: str
    username: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    password: str | None = None  # allowed, with a warning: a secret in a config file
    tls_verify: bool = True


class DeployConfig(_Model):
    """What `trainyard deploy` builds: the image name and the two Dockerfiles."""

    image: str | None = None
    train_dockerfile: str = "Dockerfile.train"
    dev_dockerfile: str = "Dockerfile"
    context_dir: str = "."


class ContainerConfig(_Model):
    """How the container executor runs steps: the engine and extra `ENGINE run` options."""

    engine: Literal["podman", "docker"] = "podman"
    extra_args: list[str] = Field(default_factory=list)


class Config(_Model):
    """Everything the configuration file may say."""

    artifact_repository: RepositoryConfig | None = None
    artifact_repositories: dict[str, RepositoryConfig] = Field(default_factory=dict)
    gpus: int | None = None
    queue: QueueConfig = Field(default_factory=QueueConfig)
    context: str | None = None
    contexts: dict[str, ContextConfig] = Field(default_factory=dict)
    registries: dict[str, RegistryConfig] = Field(default_factory=dict)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    executor: Literal["process", "container"] | None = None
    container: ContainerConfig = Field(default_factory=ContainerConfig)
    _sources: dict[tuple[str, ...], Path] = PrivateAttr(default_factory=dict)

    def where(self, *keys: str) -> str:
        """`file:line: a.b` for a setting, for messages (`configuration: a.b` if not in a file)."""
        return _where(self._sources, keys)

    @field_validator("registries", mode="before")
    @classmethod
    def _registry_shorthand(cls, value: Any) -> Any:
        """`name: URL` (or `name: none`) is short for `name: {url: URL}`."""
        if isinstance(value, dict):
            return {k: {"url": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def plain_secrets(self) -> list[str]:
        """Where the file holds a secret in plain text (each a warning to show)."""
        found = [("contexts", n, "token") for n, c in self.contexts.items() if c.token]
        found += [("registries", n, "password") for n, r in self.registries.items() if r.password]
        return [
            f"{self.where(*loc)} is a secret in plain text: use {loc[2]}Env or {loc[2]}File"
            for loc in found
        ]


MERGED = ("contexts", "registries", "artifactRepositories")
"""Maps of named entries: a project's file adds to (and overrides entries of) the home's."""


def load_config(home: Path, project_dir: Path | None = None) -> Config:
    """The home's config file with the project's `trainyard.yaml` on top (both optional)."""
    merged: dict[str, Any] = {}
    sources: dict[tuple[str, ...], Path] = {}
    for path in (home / CONFIG_FILE, *([project_dir / PROJECT_FILE] if project_dir else [])):
        for key, value in _read(path).items():
            if key in MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
                sources.update({(key, str(name)): path for name in value})
            else:
                merged[key] = value
                sources[(key,)] = path
                sources.update(
                    {(key, str(name)): path for name in (value if isinstance(value, dict) else {})}
                )
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(str(p) for p in first["loc"])
        raise ConfigError(f"{_where(sources, loc)}: {first['msg']}") from None
    config._sources = sources
    for name, repo in [
        ("artifactRepository", config.artifact_repository),
        *config.artifact_repositories.items(),
    ]:
        if repo is not None and (repo.local is None) == (repo.s3 is None):
            loc = (name,) if name == "artifactRepository" else ("artifactRepositories", name)
            raise ConfigError(f"{config.where(*loc)}: give exactly one of `local:` or `s3:`")
    return config


def _where(sources: dict[tuple[str, ...], Path], loc: tuple[str, ...]) -> str:
    """`file:line: a.b.c` for the setting at `loc`, or `configuration: a.b.c` if not from a file."""
    dotted = ".".join(loc)
    path = sources.get(loc[:2]) or sources.get(loc[:1])
    if path is None:
        return f"configuration: {dotted}"
    line = _line_of(path, loc)
    return f"{path}:{line}: {dotted}" if line else f"{path}: {dotted}"


def _line_of(path: Path, loc: tuple[str, ...]) -> int | None:
    """The line of the deepest node of `loc` that the file has (1-based)."""
    try:
        node: yaml.Node | None = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if child is not None:
                line = next(k for k, v in node.value if v is child).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
            child = node.value[int(key)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping (key: value), not {type(data).__name__}")
    return data
