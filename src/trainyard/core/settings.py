"""Settings read once from the environment: where the home is and how steps are isolated."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trainyard.core.errors import ConfigError

ISOLATION_MODES = ("auto", "bwrap", "none")


@dataclass(frozen=True)
class Settings:
    """Process-wide settings; build with `Settings.from_env()`."""

    home: Path
    database_url: str
    isolation: str = "auto"
    namespace: str = "default"

    @property
    def artifacts_dir(self) -> Path:
        """The default local artifact repository."""
        return self.home / "artifacts"

    @property
    def steps_dir(self) -> Path:
        """Where step supervisors keep their files (logs, exit codes, private paths)."""
        return self.home / "steps"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read TRAINYARD_HOME, TRAINYARD_DATABASE_URL, TRAINYARD_ISOLATION, TRAINYARD_NAMESPACE."""
        source = os.environ if env is None else env
        home = Path(source.get("TRAINYARD_HOME") or Path.home() / ".trainyard").expanduser()
        url = source.get("TRAINYARD_DATABASE_URL") or f"sqlite:///{home / 'trainyard.db'}"
        isolation = source.get("TRAINYARD_ISOLATION", "auto")
        if isolation not in ISOLATION_MODES:
            raise ConfigError(
                f"TRAINYARD_ISOLATION={isolation!r} is not one of {', '.join(ISOLATION_MODES)}"
            )
        namespace = source.get("TRAINYARD_NAMESPACE", "default")
        return cls(home=home, database_url=url, isolation=isolation, namespace=namespace)
