"""Argo's expression language (expr, as in `{{= ... }}` tags): parse, evaluate and render."""

from trainyard.spec.expr.evaluate import evaluate, render
from trainyard.spec.expr.parser import parse
from trainyard.spec.expr.scope import nested_env, render_tag, unknown_names

__all__ = ["evaluate", "nested_env", "parse", "render", "render_tag", "unknown_names"]
