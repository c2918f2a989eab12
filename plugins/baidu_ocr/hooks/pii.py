"""BaiduOcrPiiHook: the ``baidu_ocr_pii`` connection type, so the keys that protect ID numbers have a form
and a "Test" button that says whether the operators can use them.

The operators read the keys through :func:`baidu_ocr.pii.connection.pii_policy` whatever the connection's
type, so a PII connection of the generic type keeps working; only its "Test" button has no hook to call.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from baidu_ocr.pii.connection import DEFAULT_PII_CONN_ID, pii_policy

# PiiPolicy takes any HMAC key length; under this many bytes the test passes with a warning.
RECOMMENDED_HMAC_KEY_BYTES = 32


class BaiduOcrPiiHook(BaseHook):
    """Read and check the keys of personal data: password = HMAC key, extra ``encryption_key`` (optional).

    :param baidu_ocr_pii_conn_id: connection whose password is the key of the HMAC stored with every ID
        number, and whose extra ``encryption_key`` (base64 of a 16, 24 or 32-byte AES key) lets the warehouse
        keep the numbers encrypted too.
    """

    conn_name_attr = "baidu_ocr_pii_conn_id"
    default_conn_name = DEFAULT_PII_CONN_ID
    conn_type = "baidu_ocr_pii"
    hook_name = "Baidu OCR PII keys"

    def __init__(self, baidu_ocr_pii_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.baidu_ocr_pii_conn_id = baidu_ocr_pii_conn_id

    def test_connection(self) -> tuple[bool, str]:
        """Build the keys as the operators do; say what is wrong (never a key), or what the warehouse keeps."""
        try:
            policy = pii_policy(self.baidu_ocr_pii_conn_id)
        except ValueError as exc:  # PiiPolicy names what is missing or malformed, and only key lengths
            return False, f"The PII keys cannot be used: {exc}"
        n_bytes = len(policy.hmac_key)
        hmac_note = (
            f"HMAC key of {n_bytes} bytes"
            if n_bytes >= RECOMMENDED_HMAC_KEY_BYTES
            else f"HMAC key of {n_bytes} bytes (shorter than the {RECOMMENDED_HMAC_KEY_BYTES} recommended)"
        )
        if policy.encryption_key is None:
            kept = "no encryption key: ID numbers are stored masked and as HMAC only"
        else:
            bits = len(policy.encryption_key) * 8
            kept = f"AES-{bits} encryption key: ID numbers are stored masked, as HMAC and encrypted"
        if n_retired := len(policy.retired_hmac_keys):
            kept += f"; {n_retired} retired key(s) still open what was staged under them"
        return True, f"{hmac_note}, {kept}"
