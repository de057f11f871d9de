"""`spec.artifactRepositoryRef` read as Argo reads it: a key of a stored ConfigMap (by default
`artifact-repositories`) holding the repository's settings as YAML; when no such ConfigMap key
exists, the key names one of config.yaml's `artifactRepositories`."""

from __future__ import annotations

from dataclasses import replace

import yaml

from trainyard.core.errors import NotFoundError, UserError
from trainyard.engine.actions import PodRequest
from trainyard.store.base import Store

DEFAULT_CONFIG_MAP = "artifact-repositories"
# Argo: the key used when a ref names none.
DEFAULT_KEY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"


def with_stored_repository(pod: PodRequest, store: Store) -> PodRequest:
    """`pod` with its artifactRepositoryRef carrying the settings a stored ConfigMap gives it
    (under `repository`, which the artifact repositories build from); unchanged otherwise."""
    ref = pod.artifact_repository_ref
    if not ref:
        return pod
    name = str(ref.get("configMap") or DEFAULT_CONFIG_MAP)
    try:
        doc = store.get("ConfigMap", pod.namespace, name)
    except NotFoundError:
        return pod
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    key = ref.get("key") or annotations.get(DEFAULT_KEY_ANNOTATION)
    text = (doc.get("data") or {}).get(str(key)) if key else None
    if text is None:
        return pod
    where = f"ConfigMap {name!r} key {key!r}"
    try:
        settings = yaml.safe_load(str(text))
    except yaml.YAMLError as exc:
        raise UserError(f"artifactRepositoryRef: {where} is not YAML: {exc}") from exc
    if not isinstance(settings, dict):
        raise UserError(
            f"artifactRepositoryRef: {where} must hold a repository, e.g. `s3: {{bucket: ...}}`"
        )
    located = {**ref, "key": str(key), "repository": settings, "origin": where}
    return replace(pod, artifact_repository_ref=located)
