"""Init containers, sidecars and daemons under real supervisors, with real processes."""

from __future__ import annotations

import re
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.executors.executor_helpers import MakeExecutor, processes_with, wait_for
from trainyard.executors.base import Probe, SideContainer, StepLaunch
from trainyard.executors.process import ProcessExecutor

STAMP = re.compile(r"^\S+ ")


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def log_lines(executor: ProcessExecutor, key: str) -> list[str]:
    """The step's log without timestamps."""
    return [STAMP.sub("", line) for line in executor.log_path(key).read_text().splitlines()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server(port: int, delay: float = 0.0) -> list[str]:
    """A python3 HTTP server on 127.0.0.1:port, started after `delay` seconds."""
    serve = f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1"
    return sh(f"sleep {delay}; {serve}")


def wait_ready(executor: ProcessExecutor, key: str, timeout: float = 20.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        for result in executor.poll(0.2):
            assert result.key == key
            assert result.state == "ready", result
            return
    pytest.fail(f"daemon {key} was not reported ready in {timeout}s")


def get(port: int) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return int(response.status)


def side(name: str, script: str) -> SideContainer:
    return SideContainer(name, sh(script))


def test_init_containers_run_in_order_in_the_steps_view(
    make_executor: MakeExecutor, isolation: str
) -> None:
    executor = make_executor(isolation)
    inits = [
        side("first", "echo one > /tmp/order; echo hi"),
        side("second", "echo two >> /tmp/order"),
    ]
    step = StepLaunch("a", sh("cat /tmp/order"), init_containers=inits)
    executor.launch(step)
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.exit_code, result.stdout) == ("exited", 0, "one\ntwo\n")
    assert log_lines(executor, "a") == ["[first] hi", "one", "two"]


def test_a_failing_init_container_fails_the_step_before_the_main_command(
    make_executor: MakeExecutor, tmp_path: Path, isolation: str
) -> None:
    executor = make_executor(isolation)
    marker = tmp_path / "main-ran"
    inits = [side("ok", "true"), side("broken", "echo no >&2; exit 4"), side("never", "true")]
    executor.launch(StepLaunch("a", sh(f"touch {marker}"), init_containers=inits))
    result = wait_for(executor, "a")["a"]
    assert (result.state, result.exit_code) == ("exited", 4)
    assert result.message == "init container 'broken' failed with exit code 4"
    assert not marker.exists()
    assert log_lines(executor, "a") == ["[broken] no"]


def test_an_init_container_that_does_not_exist_says_so(make_executor: MakeExecutor) -> None:
    executor = make_executor("none")
    bad = SideContainer("setup", ["no-such-command-xyz"])
    executor.launch(StepLaunch("a", ["true"], init_containers=[bad]))
    result = wait_for(executor, "a")["a"]
    assert result.exit_code == 127
    assert result.message is not None and "init container 'setup' could not start" in result.message


def test_sidecars_serve_the_main_command_and_stop_when_it_ends(
    make_executor: MakeExecutor, isolation: str
) -> None:
    executor = make_executor(isolation, kill_grace=5.0)
    port = free_port()
    probe = f"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/').status)"
    main = sh(f'until {sys.executable} -c "{probe}" 2>/dev/null; do sleep 0.1; done')
    sidecars = [SideContainer("web", server(port)), side("ticker", "while true; do sleep 1; done")]
    started = time.monotonic()
    executor.launch(StepLaunch("a", main, sidecars=sidecars))
    result = wait_for(executor, "a")["a"]
    assert time.monotonic() - started < 5.0  # the sidecars were stopped, not waited for
    assert (result.state, result.exit_code, result.stdout) == ("exited", 0, "200\n")
    lines = log_lines(executor, "a")
    assert "200" in lines
    assert any(line.startswith("[web] ") and "GET / HTTP" in line for line in lines)
    with pytest.raises(OSError):
        get(port)
    assert processes_with(f"http.server {port}") == []


def test_a_daemon_is_ready_when_its_probe_passes_and_runs_until_killed(
    make_executor: MakeExecutor, isolation: str
) -> None:
    executor = make_executor(isolation, kill_grace=2.0)
    port = free_port()
    ready = Probe("http", port=port, path="/", period=0.2)
    executor.launch(StepLaunch("d", server(port, delay=0.5), daemon=True, readiness=ready))
    wait_ready(executor, "d")
    assert get(port) == 200  # ready means reachable
    executor.kill("d", "daemon stopped: its scope ended")
    result = wait_for(executor, "d")["d"]
    assert result.message == "daemon stopped: its scope ended"
    with pytest.raises(OSError):
        get(port)


@pytest.mark.parametrize("kind", ["exec", "tcp", "none"])
def test_exec_tcp_and_no_probe(make_executor: MakeExecutor, kind: str) -> None:
    executor = make_executor(kill_grace=2.0)
    port = free_port()
    connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)"
    probes = {
        "exec": Probe("exec", command=(sys.executable, "-c", connect), period=0.1),
        "tcp": Probe("tcp", port=port, period=0.1),
        "none": None,
    }
    serve = f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1"
    command = sh(f"sleep 0.3; {serve}")
    executor.launch(StepLaunch("d", command, daemon=True, readiness=probes[kind]))
    wait_ready(executor, "d")
    if kind != "none":
        assert get(port) == 200
    executor.kill("d", "stop")
    assert wait_for(executor, "d")["d"].message == "stop"


def test_a_new_executor_adopts_a_running_daemon_and_reports_it_ready(
    make_executor: MakeExecutor,
) -> None:
    first = make_executor(kill_grace=2.0)
    port = free_port()
    ready = Probe("tcp", port=port, period=0.1)
    first.launch(StepLaunch("d", server(port), daemon=True, readiness=ready))
    wait_ready(first, "d")
    first.close()  # the controller is gone; the daemon is not
    second = make_executor(kill_grace=2.0)
    adopted = second.adopt(["d"])
    assert [r.state for r in adopted] == ["running"]
    wait_ready(second, "d")
    assert get(port) == 200
    second.kill("d", "stop")
    assert wait_for(second, "d")["d"].state == "exited"
