"""A real S3-speaking server for the tests: moto's server mode, in its own process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class S3Server:
    """A running moto server; `credentials` are the only ones it accepts when `auth` is on."""

    process: subprocess.Popen[bytes]
    port: int
    credentials: tuple[str, str] = ("testing", "testing")
    auth: bool = False
    buckets: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """Argo's form: `host:port`, no scheme."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def client(self, credentials: tuple[str, str] | None = None) -> Any:
        access, secret = credentials or self.credentials
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            config=Config(s3={"addressing_style": "path"}),
        )

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def uploads_in_progress(self, bucket: str) -> list[str]:
        reply = self.client().list_multipart_uploads(Bucket=bucket)
        return [upload["Key"] for upload in reply.get("Uploads", [])]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(*, auth: bool = False) -> S3Server:
    """Start moto on a free port; with `auth`, it checks signatures against one IAM user."""
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    server = S3Server(process, port)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/moto-api/data.json", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.1)
    if auth:
        server.credentials = _iam_user(server)
        _post(f"{server.url}/moto-api/reset-auth", b"0")  # every request from now on is checked
        server.auth = True
    return server


def _iam_user(server: S3Server) -> tuple[str, str]:
    iam = boto3.client(
        "iam",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName="trainyard")
    iam.put_user_policy(
        UserName="trainyard", PolicyName="all", PolicyDocument=json.dumps(ADMIN_POLICY)
    )
    key = iam.create_access_key(UserName="trainyard")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _post(url: str, body: bytes) -> None:
    headers = {"Content-Type": "text/plain"}  # a form body would not reach moto as data
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass
