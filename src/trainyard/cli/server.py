"""`trainyard server`: Argo's REST API in this process, the engine in a child process.

The command checks its options and hands them to the runner that `trainyard.__main__` set when
it saw the `server` command (it loads the web server only then, so the rest of the CLI never
does); without one, it becomes `python -m trainyard.serve` by exec. The engine
runs as `trainyard engine --parent-pid <server>`: step supervisors are forked from the engine,
and forking from the API's threads is unsafe. The child gets SIGTERM when the server dies
(PR_SET_PDEATHSIG, and a check of its parent pid every round) and stops between two rounds,
never in the middle of a write; its steps run on, and the next engine re-adopts them. If the
child ends while the server runs, it is started again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import typer

from trainyard.cli.output import err

app = typer.Typer()
LOOPBACK = ("127.0.0.1", "localhost", "::1")
STOP_GRACE = 15.0
"""How long the engine gets to finish its round when the server stops."""
RESTART_DELAY = 1.0


@dataclass(frozen=True)
class ServeOptions:
    """What `trainyard server` was asked for, handed to `trainyard.serve` as JSON."""

    host: str = "127.0.0.1"
    port: int = 2746
    auth: str = "token"
    keepalive: float = 15.0
    access_log: bool = True

    def to_json(self) -> str:
        """These options as one JSON argument."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        """Options written by `to_json`."""
        return cls(**json.loads(text))


class Serving:
    """The function that serves the API in this process, when the entry point provides one."""

    runner: Callable[[ServeOptions], int] | None = None


class EngineChild:
    """The engine process of a server: started, restarted when it ends, stopped at the end."""

    def __init__(self, env: dict[str, str], log_path: str) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="engine-watch", daemon=True)

    def start(self) -> None:
        """Start the engine, and a thread that starts it again if it ends on its own."""
        self._spawn()
        self.watcher.start()

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "trainyard", "engine", "--parent-pid", str(os.getpid())]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env
            )

    def _watch(self) -> None:
        # The parent-death signal goes with the thread that started the child, so children
        # started again come from this thread, which lives as long as the server.
        while not self.stopping.is_set():
            process = self.process
            if process is not None and process.poll() is not None:
                if self.stopping.is_set():
                    return
                err.print(
                    f"engine: exited with {process.returncode}; starting it again "
                    f"(see {self.log_path})",
                    highlight=False,
                )
                time.sleep(RESTART_DELAY)
                if not self.stopping.is_set():
                    self._spawn()
            self.stopping.wait(0.5)

    def stop(self) -> None:
        """Ask the engine to stop after its current round; kill it only if it hangs."""
        self.stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@app.command()
def server(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(2746, "--port", help="Port (Argo's is 2746)."),
    database: str | None = typer.Option(
        None,
        "--database",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
        "(default: TRAINYARD_DATABASE_URL, else SQLite in TRAINYARD_HOME).",
    ),
    auth: str = typer.Option(
        "token", "--auth", help="token: API tokens (Authorization: Bearer); none: no checks."
    ),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log"),
    keepalive: float = typer.Option(
        15.0, "--keepalive", hidden=True, help="Seconds between keep-alives of event streams."
    ),
) -> None:
    """Serve Argo's REST API for this home, and run its engine."""
    if auth not in ("token", "none"):
        err.print(f"error: --auth {auth!r} must be token or none", highlight=False)
        raise typer.Exit(2)
    if auth == "none" and host not in LOOPBACK:
        err.print(
            f"error: --auth none serves everyone as an admin, so it only binds to 127.0.0.1 or "
            f"localhost, not {host!r}: use --auth token (the default) on other addresses",
            highlight=False,
        )
        raise typer.Exit(2)
    if database:
        os.environ["TRAINYARD_DATABASE_URL"] = database  # the engine child inherits it
    options = ServeOptions(host, port, auth, keepalive, access_log)
    if Serving.runner is not None:
        raise typer.Exit(Serving.runner(options))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "trainyard.serve", options.to_json()])
