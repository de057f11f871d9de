"""When a daemon's main command is ready: its readinessProbe (an exec command, an HTTP GET
or a TCP connection to 127.0.0.1), run in a thread of the supervisor until it passes."""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from trainyard.executors.base import Probe

ExecProbe = Callable[[list[str], float], bool]
"""Runs a probe command in the step's view with a timeout: True if it exited 0."""


def http_ready(probe: Probe) -> bool:
    """Whether GET `scheme://127.0.0.1:port/path` answers with a status below 400."""
    path = probe.path if probe.path.startswith("/") else "/" + probe.path
    url = f"{probe.scheme.lower()}://127.0.0.1:{probe.port}{path}"
    context = ssl.create_default_context()
    # Kubernetes does not verify a probe's certificate either.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(url, timeout=probe.timeout) as response:
            return int(response.status) < 400
    except urllib.error.HTTPError as exc:
        return exc.code < 400
    except (OSError, ValueError):
        return False


def tcp_ready(probe: Probe) -> bool:
    """Whether 127.0.0.1:port accepts a connection."""
    try:
        with socket.create_connection(("127.0.0.1", probe.port), timeout=probe.timeout):
            return True
    except OSError:
        return False


def probe_once(probe: Probe, run_exec: ExecProbe) -> bool:
    """Run `probe` once."""
    if probe.kind == "exec":
        return run_exec(list(probe.command), probe.timeout)
    if probe.kind == "tcp":
        return tcp_ready(probe)
    return http_ready(probe)


class ReadinessWatch:
    """Calls `on_ready` once `probe` passed `success_threshold` times in a row (at once
    without a probe); `stop` ends the watch when the command ended first."""

    def __init__(
        self, probe: Probe | None, on_ready: Callable[[], None], run_exec: ExecProbe
    ) -> None:
        self._probe = probe
        self._on_ready = on_ready
        self._run_exec = run_exec
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin watching (in a thread when there is a probe to run)."""
        if self._probe is None:
            self._on_ready()
            return
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stopped.set()

    def _watch(self) -> None:
        probe = self._probe
        assert probe is not None
        if self._stopped.wait(probe.initial_delay):
            return
        passed = 0
        while not self._stopped.is_set():
            passed = passed + 1 if probe_once(probe, self._run_exec) else 0
            if passed >= max(1, probe.success_threshold):
                if not self._stopped.is_set():
                    self._on_ready()
                return
            self._stopped.wait(probe.period)
