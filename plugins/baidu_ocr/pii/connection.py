"""The PII connection as the operators read it: password = HMAC key, extra ``encryption_key`` (optional).

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

    from baidu_ocr.pii.policy import PiiPolicy

    conn = BaseHook.get_connection(conn_id)
    mask_secret(conn.password)
    mask_secret((conn.extra_dejson or {}).get("encryption_key"))
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
