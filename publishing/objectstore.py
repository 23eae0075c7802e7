"""The file store on S3-compatible object storage (MinIO, Ceph RGW, any cloud's S3), by boto3.

CANYUE_STORAGE_URL=s3://bucket/prefix selects it; CANYUE_S3_ENDPOINT_URL, CANYUE_S3_REGION,
CANYUE_S3_ACCESS_KEY_ID and CANYUE_S3_SECRET_ACCESS_KEY configure the client (without the
keys, boto3's own chain: environment, ~/.aws, instance role). Objects are named exactly as in
the folder store (`<prefix>/sha256/ab/ab12….pdf`), so the same rows work on either.

The guarantees, as on a folder:
- written once, never overwritten: every write is a conditional PUT (`If-None-Match: *`), which
  the server refuses (412) when the name is taken; an object with that name holds the same
  bytes if intact (the name is its hash), which is re-checked before it is reused. A server
  without conditional writes answers 501: the store then refuses to write rather than risk it.
- the SHA-256 is recorded (the row, and the object's `x-amz-meta-sha256`) and recomputed on
  every download, streamed in blocks through a temporary file, never held in memory whole.
- a PUT that returned is durable (S3 acknowledges after it has stored the object).
- there is no rename: quarantine copies the object under quarantine/<UTC time>/ and then
  deletes the original, and only ever for an object no row references.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from publishing.storage import (
    BLOCK,
    SET_ASIDE,
    Blob,
    FixityError,
    StoredObject,
    StoreError,
    hash_stream,
    object_path,
    quarantine_name,
    safe_relative,
    sha256_of,
)

# Kept in memory up to this size, then on disk: a verified download's buffer.
SPOOL_BYTES = 8 * BLOCK


def parse_url(url: str) -> tuple[str, str]:
    """s3://bucket/prefix → (bucket, 'prefix/'); the prefix may be empty."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise StoreError(f"CANYUE_STORAGE_URL must look like s3://bucket/prefix, not {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, (prefix + "/") if prefix else ""


def make_client(config: dict[str, Any]) -> Any:
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {}
    if config.get("CANYUE_S3_ENDPOINT_URL"):
        options["endpoint_url"] = config["CANYUE_S3_ENDPOINT_URL"]
    if config.get("CANYUE_S3_ACCESS_KEY_ID"):
        options["aws_access_key_id"] = config["CANYUE_S3_ACCESS_KEY_ID"]
        options["aws_secret_access_key"] = config.get("CANYUE_S3_SECRET_ACCESS_KEY")
    addressing = "path" if config.get("CANYUE_S3_PATH_STYLE", True) else "auto"
    return boto3.client("s3", region_name=config.get("CANYUE_S3_REGION") or "us-east-1",
                        config=Config(s3={"addressing_style": addressing}, retries={"mode": "standard"},
                                      max_pool_connections=16, connect_timeout=5, read_timeout=60),
                        **options)


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) or str(
        response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


MISSING = {"NoSuchKey", "404", "NotFound"}
TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class _Body:
    """An object's streamed body whose read errors are OSErrors, as a file's are."""

    def __init__(self, body: Any):
        self.body = body

    def read(self, size: int = -1) -> bytes:
        from botocore.exceptions import BotoCoreError

        try:
            return self.body.read(size if size >= 0 else None)
        except BotoCoreError as error:
            raise OSError(f"reading from object storage failed: {error}") from error

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class S3Store:
    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_config(cls, url: str, config: dict[str, Any]) -> S3Store:
        bucket, prefix = parse_url(url)
        return cls(make_client(config), bucket, prefix)

    def _key(self, relative: str) -> str:
        return self.prefix + safe_relative(relative).as_posix()

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def ping(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"{self.describe()}: {error}") from error

    # --- writing ---------------------------------------------------------------------

    def _put_new(self, key: str, body: Any, sha256: str) -> bool:
        """A conditional PUT: True if written, False if the name was taken."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*",
                                   Metadata={"sha256": sha256})
        except ClientError as error:
            if _code(error) in TAKEN:
                return False
            if _code(error) in {"NotImplemented", "501"}:
                raise StoreError(f"{self.describe()} does not support conditional writes (If-None-Match), "
                                 "which the store needs so that no file is ever overwritten") from error
            raise StoreError(f"cannot write {key} to {self.describe()}: {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"cannot write {key} to {self.describe()}: {error}") from error
        return True

    def put(self, data: bytes, suffix: str = ".pdf") -> Blob:
        digest = sha256_of(data)
        blob = Blob(object_path(digest, suffix), digest, len(data))
        if not self._put_new(self._key(blob.path), data, digest):
            self._reuse(blob)
        return blob

    def put_many(self, items: Iterable[bytes], suffix: str = ".pdf", threads: int = 8) -> list[Blob]:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="canyue-s3") as pool:
            return list(pool.map(lambda data: self.put(data, suffix), items))

    def _reuse(self, blob: Blob) -> None:
        if self.sha256_of_file(blob.path) != blob.sha256:
            raise StoreError(f"{blob.path} exists and is damaged (its content no longer matches its name); "
                             "run `archive verify` before storing it again")

    def place(self, relative: str, source: Path) -> None:
        """Upload the file at `source` as `relative`; FileExistsError if the name is taken."""
        with source.open("rb") as handle:
            digest = hash_stream(handle)[0]
            handle.seek(0)
            if not self._put_new(self._key(relative), handle, digest):
                raise FileExistsError(relative)

    def staging_dir(self, relative: str) -> Path:
        return Path(tempfile.gettempdir())

    def discard(self, relative: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(relative))

    # --- reading ---------------------------------------------------------------------

    def open(self, relative: str) -> BinaryIO:
        """The object's body as a stream (unchecked); FileNotFoundError when missing."""
        from botocore.exceptions import ClientError

        try:
            return _Body(self.client.get_object(Bucket=self.bucket, Key=self._key(relative))["Body"])  # type: ignore[return-value]
        except ClientError as error:
            if _code(error) in MISSING:
                raise FileNotFoundError(relative) from None
            raise OSError(f"cannot read {relative} from {self.describe()}: {error}") from error

    def open_verified(self, relative: str, sha256: str) -> BinaryIO:
        """The object, copied in blocks into a temporary file while its SHA-256 is computed,
        and handed out only if it matches: a damaged object is never served, even in part."""
        try:
            body = self.open(relative)
        except FileNotFoundError as error:
            raise FixityError(f"{relative} is missing") from error
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        try:
            with body:
                digest, _ = hash_stream(body, spool)
            if digest != sha256:
                raise FixityError(f"{relative} does not match its recorded SHA-256")
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool  # type: ignore[return-value]

    def read_verified(self, relative: str, sha256: str) -> bytes:
        with self.open_verified(relative, sha256) as handle:
            return handle.read()

    def exists(self, relative: str) -> bool:
        return self.size_of(relative) is not None

    def size_of(self, relative: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(relative))["ContentLength"])
        except ClientError as error:
            if _code(error) in MISSING:
                return None
            raise StoreError(f"cannot look up {relative} in {self.describe()}: {error}") from error

    def sha256_of_file(self, relative: str) -> str | None:
        try:
            body = self.open(relative)
        except FileNotFoundError:
            return None
        with body:
            return hash_stream(body)[0]

    def walk(self) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(self.prefix):]
                if not relative or relative.split("/", 1)[0] in SET_ASIDE:
                    continue
                yield StoredObject(relative, int(item["Size"]), item["LastModified"].timestamp())

    def copy_to(self, relative: str, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with self.open(relative) as body, destination.open("wb") as sink:
            hash_stream(body, sink)

    # --- repair ----------------------------------------------------------------------

    def quarantine(self, relative: str, *, when: datetime | None = None) -> str:
        """Copy an unreferenced object to quarantine/<UTC time>/<path>, then delete it."""
        moved = quarantine_name(relative, when)
        self.client.copy_object(Bucket=self.bucket, Key=self._key(moved),
                                CopySource={"Bucket": self.bucket, "Key": self._key(relative)})
        self.client.delete_object(Bucket=self.bucket, Key=self._key(relative))
        return moved
