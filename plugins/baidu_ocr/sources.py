"""Where input images come from: listing image keys under an S3 prefix, and reading them for a batch.

Everything goes through the Amazon provider's ``S3Hook``, so the ``aws_default`` connection (credentials,
region, ``endpoint_url`` for moto or MinIO) decides where S3 is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

# What Baidu or images.prepare_image can read; everything else under a prefix (ground-truth JSON, README,
# "folder" placeholders) is not an image and is never listed.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
DEFAULT_MEMORY_BUDGET = 128 * 1024 * 1024


@dataclass(frozen=True)
class ImageObject:
    key: str
    etag: str
    size: int


def is_image_key(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def list_image_objects(s3: S3Hook, bucket: str, prefix: str) -> list[ImageObject]:
    """Every image object under ``prefix`` (paginated; no content read). Empty files are listed too: they
    become "empty image" failures in the warehouse rather than silently vanishing."""
    return [
        ImageObject(key=obj["Key"], etag=str(obj.get("ETag", "")).strip('"'), size=int(obj.get("Size", 0)))
        for obj in s3.iter_file_metadata(prefix=prefix, bucket_name=bucket)
        if is_image_key(obj["Key"])
    ]


@dataclass
class FetchedImages:
    """The content hash of every readable key of a batch, and the bytes of those that fit in memory."""

    sha256: dict[str, str] = field(default_factory=dict)
    cached: dict[str, bytes] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # key -> why (never a URL with a secret)


class S3ImageSource:
    """A lazily read S3 object: ``images.read_image_source`` calls :meth:`get` in an OCR worker thread."""

    def __init__(self, s3: S3Hook, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key

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

    def read(key: str) -> tuple[str, bytes | None, str | None]:
        try:
            return key, client.get_object(Bucket=bucket, Key=key)["Body"].read(), None
        except Exception as exc:  # one missing/forbidden object must not stop the batch
            return key, None, f"{type(exc).__name__}: {getattr(exc, 'response', {}).get('Error', exc)}"

    kept = 0
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(keys)))) as pool:
        for key, data, error in pool.map(read, keys):
            if data is None:
                fetched.unreadable[key] = error or "unreadable"
                continue
            fetched.sha256[key] = hashlib.sha256(data).hexdigest()
            if kept + len(data) <= memory_budget:
                fetched.cached[key] = data
                kept += len(data)
    return fetched
