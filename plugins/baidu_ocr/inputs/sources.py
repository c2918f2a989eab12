"""Where input images come from: listing image (and PDF/OFD) keys under an S3 prefix, reading them for a
batch, the bytes of one source (bytes, a local path, an S3 object), and the content type an input is served with.

Everything goes through the Amazon provider's ``S3Hook``, so the ``aws_default`` connection (credentials,
region, ``endpoint_url`` for moto or MinIO) decides where S3 is.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baidu_ocr.exceptions import S3SourceUnavailable

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

# What Baidu or images.prepare_image can read; everything else under a prefix (ground-truth JSON, README,
# "folder" placeholders) is not an image and is never listed.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
# Multi-page documents, OCRed page by page (``documents.py``).
DOCUMENT_SUFFIXES = (".pdf", ".ofd")
INPUT_SUFFIXES = IMAGE_SUFFIXES + DOCUMENT_SUFFIXES
# What an input is served as: S3 stores an object uploaded without a type as binary/octet-stream, which a
# browser downloads instead of showing. A table, not ``mimetypes``: its answer depends on the machine's
# /etc/mime.types (and Python 3.11's own table has no .webp).
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
    ".ofd": "application/ofd",
}
# S3 errors that a retry cannot cure: the listing fails at once, saying which.
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404"})
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccountProblem",
        "403",
    }
)
# Bytes of images a batch keeps between hashing and OCR; the rest are read from S3 a second time (an S3 GET
# costs far less than the memory: a batch task must fit a worker slot whatever its size).
DEFAULT_MEMORY_BUDGET = 8 * 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ImageObject:
    key: str
    etag: str
    size: int


def is_image_key(key: str, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> bool:
    return key.lower().endswith(tuple(s.lower() for s in suffixes))


def is_document_key(key: str) -> bool:
    return key.lower().endswith(DOCUMENT_SUFFIXES)


def content_type_of(key: str) -> str | None:
    """The content type of an image (or PDF/OFD) from its key's suffix (``None`` for anything else): what to
    store it with (``ContentType``) and to presign a GET of it with (``ResponseContentType``), so a browser
    shows it instead of downloading it."""
    _, dot, suffix = key.rpartition(".")
    return CONTENT_TYPES.get(f".{suffix.lower()}") if dot and "/" not in suffix else None


def list_image_objects(
    s3: S3Hook, bucket: str, prefix: str, suffixes: Sequence[str] = IMAGE_SUFFIXES
) -> list[ImageObject]:
    """Every object under ``prefix`` whose key ends with one of ``suffixes`` (paginated; no content read).
    Empty files are listed too: they become "empty image" failures in the warehouse rather than vanishing.

    :raises S3SourceUnavailable: the bucket does not exist or access is denied (no retry can help); other
        errors (throttling, a dropped connection) are raised as they are, for Airflow to retry.
    """
    from botocore.exceptions import ClientError, NoCredentialsError

    try:
        return [
            ImageObject(
                key=obj["Key"], etag=str(obj.get("ETag", "")).strip('"'), size=int(obj.get("Size", 0))
            )
            for obj in s3.iter_file_metadata(prefix=prefix, bucket_name=bucket)
            if is_image_key(obj["Key"], suffixes)
        ]
    except NoCredentialsError:
        raise S3SourceUnavailable(f"s3://{bucket}/{prefix} cannot be listed: no AWS credentials") from None
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in MISSING_BUCKET_CODES:
            why = f"the bucket {bucket} does not exist"
        elif code in ACCESS_DENIED_CODES:
            why = "access denied"
        else:
            raise
        raise S3SourceUnavailable(f"s3://{bucket}/{prefix} cannot be listed: {why} ({code})") from None


def count_document_pages(
    s3: S3Hook, bucket: str, keys: Sequence[str], max_workers: int = 4
) -> dict[str, int]:
    """Pages of each PDF/OFD key, read from the file itself (an S3 GET each, no OCR call), for planning.

    A document that cannot be counted (broken, encrypted, an unusual OFD) counts as one page: its batch
    task reports it, before any call.
    """
    from baidu_ocr.inputs.documents import document_kind, ofd_page_count, pdf_page_count

    client = s3.get_conn()

    def count(key: str) -> tuple[str, int]:
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                data = body.read()
            finally:
                body.close()
            kind = document_kind(data)
            pages = pdf_page_count(data) if kind == "pdf" else ofd_page_count(data) if kind == "ofd" else 1
            return key, pages or 1
        except Exception:  # noqa: BLE001 - planning only: the OCR task reports the real error
            return key, 1

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(keys)))) as pool:
        return dict(pool.map(count, keys))


class _Budget:
    """Bytes that may still be kept in memory, shared by the reading threads."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if n > self._left:
                return False
            self._left -= n
            return True

    def give_back(self, n: int) -> None:
        with self._lock:
            self._left += n


@dataclass
class FetchedImages:
    """The content hash of every readable key of a batch, and the bytes of those that fit in memory."""

    sha256: dict[str, str] = field(default_factory=dict)
    cached: dict[str, bytes] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # key -> why (never a URL with a secret)


class S3ImageSource:
    """A lazily read S3 object: :func:`read_image_source` calls :meth:`get` in an OCR worker thread."""

    def __init__(self, s3: S3Hook, bucket: str, key: str, size: int | None = None) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.size = size  # bytes, when a first read already told (bounds what is read at once)

    def get(self) -> dict[str, Any]:
        return self.s3.get_conn().get_object(Bucket=self.bucket, Key=self.key)


def fetch_images(
    s3: S3Hook,
    bucket: str,
    keys: Sequence[str],
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    max_workers: int = 8,
) -> FetchedImages:
    """Read and hash every key (a few in parallel); keep bytes up to ``memory_budget`` for the OCR pass.

    Hashing needs the content, and the warehouse decides by content hash what is already done: reading
    first costs an S3 GET, never a billed OCR call. Images past the budget are read again when OCRed.
    """
    fetched = FetchedImages()
    client = s3.get_conn()
    budget = _Budget(memory_budget)

    def read(key: str) -> tuple[str, str | None, int, bytes | None, str | None]:
        """Hash the object as it streams in; keep its bytes only while the budget allows."""
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            digest, chunks, size = hashlib.sha256(), [], 0
            for chunk in body.iter_chunks(READ_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if chunks is not None:
                    chunks.append(chunk)
                    if not budget.take(len(chunk)):
                        budget.give_back(size - len(chunk))  # what this object had taken
                        chunks = None  # past the budget: hashed now, read again when OCRed
            data = b"".join(chunks) if chunks is not None else None
            return key, digest.hexdigest(), size, data, None
        except Exception as exc:  # one missing/forbidden object must not stop the batch
            why = f"{type(exc).__name__}: {getattr(exc, 'response', {}).get('Error', exc)}"
            return key, None, 0, None, why

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(keys)))) as pool:
        for key, sha256, size, data, error in pool.map(read, keys):
            if sha256 is None:
                fetched.unreadable[key] = error or "unreadable"
                continue
            fetched.sha256[key] = sha256
            fetched.sizes[key] = size
            if data is not None:
                fetched.cached[key] = data
    return fetched


def read_image_source(source: Any) -> bytes:
    """The bytes of an image given as bytes, a local path, or an S3 object already at hand.

    S3 objects: a boto3 ``s3.Object`` (``.get()["Body"]``), a ``get_object`` response (``{"Body": ...}``)
    or any file-like object with ``.read()``. URL strings are refused rather than fetched: downloads belong
    to hooks with connections (S3Hook), not to an image helper.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if isinstance(text, str) and "://" in text:
            raise ValueError(
                "Image sources are bytes, local paths or S3 objects; read remote URLs with their hook "
                "(e.g. S3Hook.get_key) or pass url= to the OCR call"
            )
        return Path(text).read_bytes()
    if isinstance(source, Mapping):
        if "Body" not in source:
            raise TypeError("A mapping image source must be a get_object response with a 'Body'")
        return _read_body(source["Body"])
    if callable(getattr(source, "read", None)):
        data = source.read()  # the caller's file: theirs to close
        if isinstance(data, str):
            raise TypeError("The image stream returned text; open it in binary mode")
        return bytes(data)
    if callable(getattr(source, "get", None)):  # boto3 s3.Object
        response = source.get()
        if isinstance(response, Mapping) and "Body" in response:
            return _read_body(response["Body"])
    raise TypeError(f"Unsupported image source type: {type(source).__name__}")


def _read_body(body: Any) -> bytes:
    """Read an S3 response body and close it: an unclosed StreamingBody holds a pooled connection."""
    try:
        return bytes(body.read())
    finally:
        close = getattr(body, "close", None)
        if callable(close):
            close()
