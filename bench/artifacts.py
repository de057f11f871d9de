"""Artifact transfer: S3ArtifactRepository against boto3's own transfers, and the local handoff.

Starts moto's S3 server on 127.0.0.1 (and MinIO too when a `minio` binary is on PATH), then
prints JSON: seconds and MiB/s to put and get one large file through S3ArtifactRepository
(archive=False) and through boto3's `upload_file`/`download_file` on the same server, in the
same run, interleaved and repeated, with the ratios (ours / boto3, target >= 0.8); the peak
RSS of a process that uploads the file (target < 200 MB); and the time to hand the file from
a step directory to the local repository (target < 1 s: a rename, no copy).
Run: `.venv/bin/python bench/artifacts.py [--size-mib 1024] [--repeat 3]`. With 1 GiB it
takes about 9 minutes: moto reads a whole object for every ranged GET, so gets are slow on
both sides (the ratio is what counts).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from trainyard.artifacts.local import LocalArtifactRepository
from trainyard.artifacts.s3 import S3ArtifactRepository
from trainyard.core.config import S3Config

MiB = 1 << 20
BUCKET = "bench"
CREDENTIALS = ("bench", "bench-secret")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the S3 server at {url} did not start") from None
            time.sleep(0.1)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server mode on a free port; yields its endpoint `host:port`."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        try:
            wait_for(f"http://127.0.0.1:{port}/moto-api/data.json", proc)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait()


@contextmanager
def minio_server(data: Path) -> Iterator[str]:
    """MinIO on a free port, storing under `data`; yields its endpoint."""
    port = free_port()
    env = {**os.environ, "MINIO_ROOT_USER": CREDENTIALS[0], "MINIO_ROOT_PASSWORD": CREDENTIALS[1]}
    command = ["minio", "server", str(data), "--address", f"127.0.0.1:{port}", "--quiet"]
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    ) as proc:
        try:
            wait_for(f"http://127.0.0.1:{port}/minio/health/live", proc)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait()


def boto3_client(endpoint: str) -> Any:
    """A plain boto3 client with the same connection settings as the repository's."""
    return boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS[0],
        aws_secret_access_key=CREDENTIALS[1],
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def make_file(path: Path, size: int) -> None:
    """`size` bytes of incompressible data."""
    block = os.urandom(MiB)
    with path.open("wb") as out:
        for index in range(size // MiB):
            out.write(block[index % 251 :] + block[: index % 251])


def compare(endpoint: str, source: Path, work: Path, repeat: int) -> dict[str, Any]:
    """Put and get `source` both ways, interleaved, `repeat` times; medians and ratios."""
    size = source.stat().st_size
    config = S3Config(bucket=BUCKET, endpoint=endpoint, insecure=True)
    repository = S3ArtifactRepository(config, CREDENTIALS)
    client = boto3_client(endpoint)
    transfer = TransferConfig()  # boto3's defaults: 8 MiB parts, 10 threads

    def ours(key: str, dest: Path) -> tuple[float, float]:
        start = time.perf_counter()
        location = repository.save(source, key, archive=False)
        middle = time.perf_counter()
        repository.load(location, dest, archive=False)
        return middle - start, time.perf_counter() - middle

    def theirs(key: str, dest: Path) -> tuple[float, float]:
        start = time.perf_counter()
        client.upload_file(str(source), BUCKET, key, Config=transfer)
        middle = time.perf_counter()
        client.download_file(BUCKET, key, str(dest), Config=transfer)
        return middle - start, time.perf_counter() - middle

    warm = work / "warm"
    warm.write_bytes(b"connections and service models are set up before timing")
    repository.save(warm, "bench/warm", archive=False)
    client.upload_file(str(warm), BUCKET, "bench/warm")
    times: dict[str, list[float]] = {name: [] for name in ("ours", "boto3")}
    puts: dict[str, list[float]] = {name: [] for name in ("ours", "boto3")}
    ways = {"ours": ours, "boto3": theirs}
    for index in range(repeat):
        for who in ["ours", "boto3"] if index % 2 == 0 else ["boto3", "ours"]:
            key, dest = f"bench/{who}-{index}", work / f"{who}-{index}"
            put, get = ways[who](key, dest)
            puts[who].append(put)
            times[who].append(get)
            dest.unlink()
            client.delete_object(Bucket=BUCKET, Key=key)
    median = {
        "ours_put": statistics.median(puts["ours"]),
        "boto3_put": statistics.median(puts["boto3"]),
        "ours_get": statistics.median(times["ours"]),
        "boto3_get": statistics.median(times["boto3"]),
    }
    return {
        "seconds": {name: round(value, 2) for name, value in median.items()},
        "mib_per_s": {name: round(size / MiB / value, 1) for name, value in median.items()},
        "ratio_put": round(median["boto3_put"] / median["ours_put"], 2),
        "ratio_get": round(median["boto3_get"] / median["ours_get"], 2),
    }


def uploader_rss(endpoint: str, source: Path, archive: bool) -> dict[str, float]:
    """Peak RSS of a fresh process that uploads `source` through the repository."""
    command = [sys.executable, __file__, "--child-upload", endpoint, str(source)]
    command += ["--archive"] if archive else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def child_upload(endpoint: str, source: Path, archive: bool) -> None:
    """In the child: upload once, then print VmHWM (peak RSS) before and after, in MB."""
    repository = S3ArtifactRepository(
        S3Config(bucket=BUCKET, endpoint=endpoint, insecure=True), CREDENTIALS
    )
    ready = _peak_mb()
    start = time.perf_counter()
    repository.save(source, "bench/rss" + (".tgz" if archive else ""), archive=archive)
    seconds = time.perf_counter() - start
    print(json.dumps({"before_mb": ready, "peak_mb": _peak_mb(), "seconds": round(seconds, 1)}))


def _peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(match.group(1)) / 1000, 1) if match else float("nan")


def local_handoff(work: Path, size: int) -> dict[str, Any]:
    """A step's raw output moved into the local repository and found again for the next step."""
    repository = LocalArtifactRepository(work / "repository")
    step = work / "steps" / "s1" / "out"
    step.mkdir(parents=True)
    make_file(step / "model.bin", size)
    inode = (step / "model.bin").stat().st_ino
    start = time.perf_counter()
    location = repository.save(step / "model.bin", "wf/wf-s1/model", archive=False)
    found = repository.local_path(location)
    seconds = time.perf_counter() - start
    assert found is not None and found.stat().st_ino == inode, "the file was copied"
    return {"seconds": round(seconds, 4), "copied": False}


def run(endpoint: str, work: Path, size: int, repeat: int) -> dict[str, Any]:
    boto3_client(endpoint).create_bucket(Bucket=BUCKET)
    source = work / "weights.bin"
    make_file(source, size)
    try:
        report = compare(endpoint, source, work, repeat)
        report["uploader_rss_raw"] = uploader_rss(endpoint, source, archive=False)
        report["uploader_rss_archived"] = uploader_rss(endpoint, source, archive=True)
    finally:
        source.unlink()
    return report


def main() -> None:
    """Run every comparison and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child-upload", nargs=2, metavar=("ENDPOINT", "FILE"))
    parser.add_argument("--archive", action="store_true")
    args = parser.parse_args()
    if args.child_upload:
        child_upload(args.child_upload[0], Path(args.child_upload[1]), args.archive)
        return
    size = args.size_mib * MiB
    report: dict[str, Any] = {"size_mib": args.size_mib, "repeat": args.repeat}
    with tempfile.TemporaryDirectory(prefix="trainyard-bench-") as tmp:
        work = Path(tmp)
        with moto_server() as endpoint:
            report["moto"] = run(endpoint, work, size, args.repeat)
        if shutil.which("minio"):
            with minio_server(work / "minio") as endpoint:
                report["minio"] = run(endpoint, work, size, args.repeat)
        else:
            report["minio"] = {"skipped": "no `minio` binary on PATH"}
        report["local_handoff"] = local_handoff(work, size)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
