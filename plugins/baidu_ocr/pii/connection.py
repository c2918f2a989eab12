"""The PII connection as the operators read it: password = HMAC key, extra ``encryption_key`` (optional),
extra ``retired_hmac_keys`` (former passwords, optional: they only open what was staged under them).

One reader for the batch tasks (which seal ID numbers in what they stage) and the load (which opens them and
hashes, masks or encrypts them); the keys are registered with the secrets masker as soon as they are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baidu_ocr.client.redact import mask_secret

if TYPE_CHECKING:
    from baidu_ocr.pii.policy import PiiPolicy

DEFAULT_PII_CONN_ID = "baidu_ocr_pii"


def pii_policy(conn_id: str) -> PiiPolicy:
    """The keys of ``conn_id``; a missing connection or HMAC key fails with the connection named."""
    from airflow.sdk import BaseHook

    from baidu_ocr.pii.policy import PiiPolicy, retired_keys_of

    conn = BaseHook.get_connection(conn_id)
    mask_secret(conn.password)
    extra = conn.extra_dejson or {}
    mask_secret(extra.get("encryption_key"))
    for retired in retired_keys_of(extra):
        mask_secret(retired)
    return PiiPolicy.from_connection(conn)


def sealing_key(conn_id: str | None) -> bytes | None:
    """The key that seals ID numbers in staged records, from ``conn_id`` when that connection exists
    (``None`` otherwise: the numbers are then masked for good)."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    if not conn_id:
        return None
    try:
        return pii_policy(conn_id).sealing_key()
    except AirflowNotFoundException:
        return None


def opening_keys(conn_id: str) -> list[bytes]:
    """The keys that open staged records, from ``conn_id`` (current first, then retired; none when that
    connection does not exist: sealed numbers then cannot be opened, and each such record fails)."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return pii_policy(conn_id).opening_keys()
    except AirflowNotFoundException:
        return []
