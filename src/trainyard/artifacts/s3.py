"""S3ArtifactRepository: artifacts as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph)."""

from __future__ import annotations

import errno
import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from trainyard.artifacts import entries, s3location, s3messages
from trainyard.artifacts.archive import DirectoryWriter, looks_like_tarball, pack, unpack
from trainyard.artifacts.keys import check_key, check_prefix
from trainyard.artifacts.streams import ResumingReader, produced
from trainyard.core.config import S3Config
from trainyard.core.errors import ArtifactError, ConfigError, NotFoundError

_MISSING: str | None = None
try:
    import boto3
    from boto3.s3.transfer import TransferConfig, create_transfer_manager
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
        ResponseStreamingError,
        SSLError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError

    _STREAM_ERRORS = (
        ReadTimeoutError,
        ResponseStreamingError,
        IncompleteReadError,
        BotoConnectionError,
    )
except ImportError as missing:  # pragma: no cover - the `s3` extra is not installed
    _MISSING = str(missing)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef
    from s3transfer.futures import TransferFuture
    from s3transfer.manager import TransferManager

MiB = 1 << 20
CONNECT_TIMEOUT = 3.0
"""Seconds to open a connection: a wrong endpoint fails in seconds, not minutes."""
READ_TIMEOUT = 60.0
ATTEMPTS = 4
"""Tries per request (botocore's standard retry mode: throttling, 5xx, dropped connections)."""
MAX_PARTS = 9000
"""S3 allows 10 000 parts; parts grow so that a large artifact stays below that."""
_HEAD = 64 * 1024
_BATCH = 1000


class S3ArtifactRepository:
    """Keys are object keys in one bucket; a repository object may be shared across fork().

    An archived artifact, or a file, is one object, visible only once complete (a single PUT
    or a completed multipart upload; a failed one is aborted). A raw directory is one object
    per file, link and folder under `key/`, with modes, times and link targets in the
    objects' metadata; its top folder's object is written last.
    """

    def __init__(
        self,
        config: S3Config,
        credentials: tuple[str, str] | None = None,
        *,
        origin: str = "artifactRepository.s3",
        full_location: bool = False,
        part_size: int = 8 * MiB,
        concurrency: int = 10,
    ) -> None:
        """A repository for `config`, with (access key, secret key) or boto3's usual chain.

        `origin` names the settings in messages (`artifactRepositories.big.s3`);
        `full_location`: locations name the bucket and endpoint too, not only the key.
        """
        if _MISSING is not None:  # pragma: no cover - the `s3` extra is not installed
            raise ConfigError(
                f"S3 artifact repositories need boto3 ({_MISSING}): pip install 'trainyard[s3]'"
            )
        self.config = config
        self.bucket = config.bucket
        self.endpoint_url = s3location.endpoint_url(config.endpoint, config.insecure)
        self.region = config.region or s3location.DEFAULT_REGION
        self.origin = origin
        self.part_size = max(part_size, 5 * MiB)
        self.concurrency = concurrency
        self._credentials = credentials
        self._full_location = full_location
        self._client: S3Client | None = None
        self._pid = -1

    @property
    def describe(self) -> str:
        """`s3://bucket at http://host:port` (or `s3://bucket` on AWS)."""
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}{where}"

    @property
    def key_format(self) -> str:
        """`keyFormat`, else `keyPrefix/` and Argo's default format (as Argo does)."""
        return s3location.key_format(self.config)

    def local_path(self, location: dict[str, Any]) -> Path | None:
        """None: objects are not files on this machine."""
        return None

    # -- save ---------------------------------------------------------------------------------

    def location(self, key: str) -> dict[str, Any]:
        """The location fields of `key` here."""
        return self._location(key)

    def save(self, source: Path, key: str, *, archive: bool = True) -> dict[str, Any]:
        """Store `source` under `key` (see the class); the source is left as it was."""
        check_key(key)
        if not os.path.lexists(source):
            raise NotFoundError(f"cannot save artifact {key!r}: {source} does not exist")
        real = Path(os.path.realpath(source))
        with self._failing("save", key):
            if archive:
                self._put_archive(source, key, _size_of(real))
            elif real.is_dir():
                self._put_tree(real, key)
                return self._location(key)
            else:
                file = entries.entry(real)
                with self._transfers(file.size) as transfers:
                    meta = {"Metadata": file.metadata()}
                    transfers.upload(str(real), self.bucket, key, meta).result()
            self._delete_under(key + "/")  # a directory saved under this key before
        return self._location(key)

    def _put_archive(self, source: Path, key: str, estimate: int) -> None:
        """Pack in a thread into a bounded pipe that the multipart upload reads part by part."""
        args = {"ContentType": "application/gzip"}
        try:
            with (
                produced(lambda out: pack(source, cast(BinaryIO, out)), MiB) as pipe,
                self._transfers(estimate, streamed=True) as transfers,
            ):
                transfers.upload(cast(IO[bytes], pipe), self.bucket, key, args).result()
        except OSError as error:  # only the packer reads files here
            raise ArtifactError(
                f"cannot save artifact {key!r} to {self.describe}: cannot pack {source}: "
                f"{error.strerror or error}"
            ) from error

    def _put_tree(self, root: Path, key: str) -> None:
        """One object per entry; the top folder's last, then what the last save left over."""
        prefix = key + "/"
        written = set()
        top = entries.entry(root)
        futures: list[TransferFuture] = []
        with self._transfers(0) as transfers:
            for found in entries.walk(root):
                if not found.name:
                    continue
                name = prefix + found.name + ("/" if found.kind == "dir" else "")
                body: str | io.BytesIO = str(found.path) if found.kind == "file" else io.BytesIO()
                meta = {"Metadata": found.metadata()}
                futures.append(transfers.upload(body, self.bucket, name, meta))
                written.add(name)
            for future in futures:
                future.result()
        self._s3().put_object(Bucket=self.bucket, Key=prefix, Body=b"", Metadata=top.metadata())
        written.add(prefix)
        self._delete([name for name in self._list(prefix) if name not in written])
        self._delete([key])  # a file saved under this key before

    # -- load ---------------------------------------------------------------------------------

    def load(self, location: dict[str, Any], dest: Path, *, archive: bool | None = None) -> None:
        """Write the artifact at `location` to `dest`, a path that must not exist yet.

        A tar+gzip object is unpacked as it downloads; a file is downloaded in parallel
        ranges to a hidden name next to `dest`, then renamed; a directory object by object.
        """
        key = self._key_of(location)
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, "the artifact destination exists", str(dest))
        with self._failing("load", key):
            head = self._head(key)
            if head is None:
                self._get_tree(key, dest)
                return
            size, etag = int(head["ContentLength"]), str(head["ETag"])
            if archive is None:
                archive = size > 0 and looks_like_tarball(self._first_bytes(key, etag))
            if archive:
                with self._reader(key, size, etag) as stream:
                    unpack(stream, dest)  # type: ignore[arg-type]
                return
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.parent / f".{dest.name[:64]}.{secrets.token_hex(4)}"
            try:
                with self._transfers(size) as transfers:
                    transfers.download(self.bucket, key, str(tmp)).result()
                entries.restore(tmp, head.get("Metadata", {}))
                os.rename(tmp, dest)
            finally:
                if os.path.lexists(tmp):
                    tmp.unlink()

    def _get_tree(self, key: str, dest: Path) -> None:
        prefix = key + "/"
        names = list(self._list(prefix))
        if not names:
            raise NotFoundError(f"artifact {key!r} not found in {self.describe}")
        with DirectoryWriter(dest) as writer:
            for name in names:
                rel = name[len(prefix) :]
                reply = self._s3().get_object(Bucket=self.bucket, Key=name)
                meta = reply.get("Metadata", {})
                target = entries.link_of(meta)
                with self._reader(name, reply["ContentLength"], reply["ETag"], reply) as body:
                    if not rel or rel.endswith("/"):
                        writer.directory(rel, entries.mode_of(meta) or 0o755)
                    elif target is not None:
                        writer.link(rel, target)
                    else:
                        path = writer.file(rel)
                        with path.open("xb") as out:
                            while block := body.read(MiB):
                                out.write(block)
                        entries.restore(path, meta)
            writer.finish()

    def _reader(self, key: str, size: int, etag: str, reply: Any = None) -> ResumingReader:
        """The object as a stream that resumes after a dropped connection (same ETag only)."""

        def open_at(offset: int) -> Any:
            get = self._s3().get_object
            return get(Bucket=self.bucket, Key=key, IfMatch=etag, Range=f"bytes={offset}-")["Body"]

        body = reply["Body"] if reply is not None else None
        return ResumingReader(open_at, size, _STREAM_ERRORS, attempts=ATTEMPTS, body=body)

    def _first_bytes(self, key: str, etag: str) -> bytes:
        reply = self._s3().get_object(
            Bucket=self.bucket, Key=key, Range=f"bytes=0-{_HEAD - 1}", IfMatch=etag
        )
        with reply["Body"] as body:
            return body.read()

    # -- size and delete ----------------------------------------------------------------------

    def size(self, location: dict[str, Any]) -> int:
        """Bytes stored: the object's size, or the sum of a directory's objects."""
        key = self._key_of(location)
        with self._failing("read", key):
            head = self._head(key)
            if head is not None:
                return int(head["ContentLength"])
            sizes = [size for _, size in self._list_sizes(key + "/")]
        if not sizes:
            raise NotFoundError(f"artifact {key!r} not found in {self.describe}")
        return sum(sizes)

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object whose key starts with `prefix` ("" empties the bucket)."""
        check_prefix(prefix)
        with self._failing("delete", prefix + "*"):
            self._delete_under(prefix)

    # -- plumbing -----------------------------------------------------------------------------

    def list_keys(self, prefix: str) -> list[str]:
        """The keys of the stored objects whose key starts with `prefix`, sorted (without
        the markers of saved directories, keys ending in "/")."""
        with self._failing("list", prefix):
            return sorted(key for key in self._list(prefix) if not key.endswith("/"))

    def _s3(self) -> S3Client:
        """This process's client: one inherited through fork() shares its parent's sockets."""
        if self._client is None or self._pid != os.getpid():
            access, secret = self._credentials or (None, None)
            session = boto3.session.Session(
                aws_access_key_id=access, aws_secret_access_key=secret, region_name=self.region
            )
            extra: dict[str, Any] = {}
            if self.endpoint_url:
                # S3-compatible servers: path-style URLs, and no checksums many of them lack.
                extra = {
                    "s3": {"addressing_style": "path"},
                    "request_checksum_calculation": "when_required",
                    "response_checksum_validation": "when_required",
                }
            config = BotoConfig(
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
                max_pool_connections=self.concurrency + 2,
                **extra,
            )
            self._client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
            self._pid = os.getpid()
        return self._client

    @contextmanager
    def _transfers(self, size: int, *, streamed: bool = False) -> Iterator[TransferManager]:
        part = max(self.part_size, -(-size // MAX_PARTS // MiB) * MiB)
        config = TransferConfig(
            multipart_threshold=part,
            multipart_chunksize=part,
            max_concurrency=self.concurrency,
            max_io_queue=16,
        )
        if streamed:  # parts read from a stream wait in memory until sent
            config.max_in_memory_upload_chunks = 2
        with create_transfer_manager(self._s3(), config) as manager:
            yield manager

    @contextmanager
    def _failing(self, verb: str, key: str) -> Iterator[None]:
        """Turn what boto3 raises into one line that names the artifact, repository and fix."""
        try:
            yield
        except (ClientError, BotoCoreError) as error:
            preposition = {"save": "to", "delete": "in"}.get(verb, "from")
            raise ArtifactError(
                f"cannot {verb} artifact {key!r} {preposition} {self.describe}: "
                f"{self._explain(error, verb)}"
            ) from error

    def _explain(self, error: Exception, verb: str) -> str:
        """What went wrong, and which setting to look at."""
        settings = self.origin
        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            code, message = str(details.get("Code") or ""), str(details.get("Message") or "")
            return s3messages.server_said(
                code, message, bucket=self.bucket, settings=settings, verb=verb
            )
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return s3messages.no_credentials(settings)
        endpoint = self.endpoint_url or f"the AWS S3 endpoint of {self.region}"
        if isinstance(error, BotoConnectionError | HTTPClientError | ConnectionClosedError):
            tls = isinstance(error, SSLError)
            return s3messages.unreachable(endpoint, s3messages.reason(error), settings, tls=tls)
        return str(error)

    def _head(self, key: str) -> dict[str, Any] | None:
        """The object's metadata, or None when there is none under `key`."""
        try:
            return dict(self._s3().head_object(Bucket=self.bucket, Key=key))
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                return None
            if status == 403:  # a HEAD answer has no body: ask again to learn why
                self._s3().list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
            raise

    def _list_sizes(self, prefix: str) -> Iterator[tuple[str, int]]:
        pages = (
            self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        )
        for page in pages:
            for found in page.get("Contents", []):
                yield found["Key"], int(found.get("Size", 0))

    def _list(self, prefix: str) -> Iterator[str]:
        return (key for key, _ in self._list_sizes(prefix))

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), _BATCH):
            batch: list[ObjectIdentifierTypeDef] = [
                {"Key": key} for key in keys[start : start + _BATCH]
            ]
            reply = self._s3().delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            for failure in reply.get("Errors", [])[:1]:
                raise ArtifactError(
                    f"cannot delete {failure.get('Key')!r} in {self.describe}: "
                    f"{failure.get('Code')}: {failure.get('Message')}"
                )

    def _delete_under(self, prefix: str) -> None:
        self._delete(list(self._list(prefix)))

    def _location(self, key: str) -> dict[str, Any]:
        return s3location.location(self.config, key, full=self._full_location)

    def _key_of(self, location: dict[str, Any]) -> str:
        return s3location.key_of(location, self.config, self.describe)


def _size_of(root: Path) -> int:
    """Bytes of the files under `root` (what an archive of it holds, before compression)."""
    if not root.is_dir():
        return root.stat().st_size
    return sum(found.size for found in entries.walk(root))
