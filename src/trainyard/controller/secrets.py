"""Values from ConfigMaps and Secrets kept in the store, for `env` and `valueFrom` references."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from trainyard.core.errors import NotFoundError, UserError
from trainyard.spec.models import Container
from trainyard.spec.models.io import KeyRef
from trainyard.store.base import Store


class SecretSource:
    """Reads keys of ConfigMaps and Secrets from the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def data(self, kind: str, namespace: str, name: str, optional: bool) -> dict[str, str] | None:
        """Every key of a ConfigMap/Secret with its text (secrets decoded); None if optional
        and absent."""
        try:
            obj = self.store.get(kind, namespace, name)
        except NotFoundError as exc:
            if optional:
                return None
            noun = "secret" if kind == "Secret" else "configmap"
            raise UserError(
                f"{kind} {name!r} not found in namespace {namespace!r}: create it with "
                f"`trainyard {noun} create {name} --from-literal KEY=VALUE` or `trainyard apply`"
            ) from exc
        keys = [*(obj.get("data") or {}), *(obj.get("stringData") or {})]
        found = {}
        for key in keys:
            value = self.value(kind, namespace, KeyRef(name=name, key=key))
            if value is not None:
                found[key] = value
        return found

    def value(self, kind: str, namespace: str, ref: KeyRef) -> str | None:
        """The value of `ref` in the ConfigMap/Secret it names; None if optional and absent."""
        try:
            obj = self.store.get(kind, namespace, ref.name)
        except NotFoundError as exc:
            if ref.optional:
                return None
            noun = "secret" if kind == "Secret" else "configmap"
            raise UserError(
                f"{kind} {ref.name!r} not found in namespace {namespace!r}: create it with "
                f"`trainyard {noun} create {ref.name} --from-literal {ref.key}=VALUE`"
            ) from exc
        string_data = obj.get("stringData") or {}
        if ref.key in string_data:
            return str(string_data[ref.key])
        data = obj.get("data") or {}
        if ref.key not in data:
            if ref.optional:
                return None
            raise UserError(f"{kind} {ref.name!r} has no key {ref.key!r}")
        if kind == "Secret":
            try:
                return base64.b64decode(str(data[ref.key])).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise UserError(f"Secret {ref.name!r} key {ref.key!r} is not base64") from exc
        return str(data[ref.key])

    def container_env(self, namespace: str, container: Container) -> dict[str, str]:
        """The container's `env`, with `valueFrom` references read from the store."""
        env: dict[str, str] = {}
        for var in container.env or []:
            if var.value is not None:
                env[var.name] = var.value
                continue
            source = var.value_from
            if source is None:
                env[var.name] = ""
            elif source.secret_key_ref is not None:
                found = self.value("Secret", namespace, source.secret_key_ref)
                if found is not None:
                    env[var.name] = found
            elif source.config_map_key_ref is not None:
                found = self.value("ConfigMap", namespace, source.config_map_key_ref)
                if found is not None:
                    env[var.name] = found
        return env


def with_config_map_parameters(doc: dict[str, Any], source: SecretSource) -> bool:
    """Give every parameter of `doc` (a Workflow as a dict) that has `valueFrom.configMapKeyRef`
    and no value the value it names, in place, as Argo does when it starts a workflow: workflow
    arguments, template inputs and step/task arguments. True if one was given; UserError if a
    ConfigMap or key it needs is missing."""
    namespace = str((doc.get("metadata") or {}).get("namespace") or "default")
    changed = False
    for param in _parameters(doc.get("spec")):
        ref = (param.get("valueFrom") or {}).get("configMapKeyRef")
        if param.get("value") is not None or not isinstance(ref, dict):
            continue
        value = source.value("ConfigMap", namespace, KeyRef.model_validate(ref))
        if value is not None:
            param["value"] = value
            changed = True
    return changed


def _parameters(value: Any) -> list[dict[str, Any]]:
    """Every mapping in a `parameters:` list under `value`."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            params = item.get("parameters")
            if isinstance(params, list):
                found.extend(p for p in params if isinstance(p, dict))
            stack.extend(v for k, v in item.items() if k != "parameters")
        elif isinstance(item, list):
            stack.extend(item)
    return found
