"""Where a submitted workflow comes from: the user, its folder's git commit, trainyard's version,
and the training image `trainyard deploy` built from that commit.

These become labels (and the `image` parameter) of what `trainyard submit` sends to a server,
so that a workflow on the cluster can be traced back to the code that made it.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

from trainyard import __version__
from trainyard.core.config import Config
from trainyard.core.names import label_safe
from trainyard.executors.images import git_state, image_name, resolve_registry, version_tag

USER_LABEL = "trainyard.io/user"
COMMIT_LABEL = "trainyard.io/git-commit"
VERSION_LABEL = "trainyard.io/version"


def git_commit(folder: Path) -> str | None:
    """The commit checked out in `folder`'s repository (`-dirty` when tracked files changed);
    None when it is not in one, or git is missing."""
    commit, dirty = git_state(folder, short=False)
    if commit is None:
        return None
    return f"{commit}-dirty" if dirty else commit


def provenance_labels(folder: Path) -> dict[str, str]:
    """The labels that say who submitted from which commit with which trainyard."""
    labels = {USER_LABEL: label_safe(getpass.getuser()), VERSION_LABEL: label_safe(__version__)}
    commit = git_commit(folder)
    if commit:
        labels[COMMIT_LABEL] = label_safe(commit)
    return labels


def training_image(folder: Path, config: Config, context: str | None) -> str | None:
    """The training image `trainyard deploy` makes of `folder`'s commit (pushed to the
    context's registry), when the project builds one; None otherwise."""
    deploy = config.deploy
    if deploy.image is None and not (folder / deploy.train_dockerfile).is_file():
        return None
    commit, dirty = git_state(folder)
    if commit is None:
        return None  # deploy tags such images with the time: there is no finding it again
    chosen = config.contexts.get(context) if context else None
    registry = resolve_registry(None, context if chosen and chosen.registry else None, config)
    tag = version_tag(commit, dirty, datetime.now(UTC))
    return registry.ref(image_name(deploy.image, folder), tag)
