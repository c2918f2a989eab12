"""The ``baidu_ocr_pii`` connection type's "Test": what the UI's button shows, through Airflow's own path
(``Connection.test_connection`` -> the registered hook), for good keys and for each way keys can be wrong."""

from __future__ import annotations

import base64
import json

import pytest

HMAC_KEY = "h" * 32
AES_256 = base64.b64encode(b"k" * 32).decode()


def _tested(monkeypatch, *, conn_type: str = "baidu_ocr_pii", **fields) -> tuple[bool, str]:
    """Test a connection as the API server does: stored under a conn id, tested through its type's hook."""
    from airflow.models import Connection

    conn = Connection(conn_id="pii_under_test", conn_type=conn_type, **fields)
    monkeypatch.setenv("AIRFLOW_CONN_PII_UNDER_TEST", conn.get_uri())
    return conn.test_connection()


def test_the_type_is_registered_with_the_hook():
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    from baidu_ocr.hooks.pii import BaiduOcrPiiHook

    hook_info = ProvidersManagerTaskRuntime().hooks["baidu_ocr_pii"]
    assert hook_info.hook_class_name == "baidu_ocr.hooks.pii.BaiduOcrPiiHook"
    assert hook_info.connection_id_attribute_name == BaiduOcrPiiHook.conn_name_attr


def test_keys_with_an_aes_key_pass_and_say_what_the_warehouse_keeps(monkeypatch):
    status, message = _tested(monkeypatch, password=HMAC_KEY, extra=json.dumps({"encryption_key": AES_256}))
    assert status is True, message
    assert message == (
        "HMAC key of 32 bytes, AES-256 encryption key: ID numbers are stored masked, as HMAC and encrypted"
    )


@pytest.mark.parametrize("extra", [None, {"encryption_key": ""}, {"encryption_key": None}])
def test_no_encryption_key_passes_masked_and_hmac_only(monkeypatch, extra):
    status, message = _tested(monkeypatch, password=HMAC_KEY, extra=json.dumps(extra) if extra else None)
    assert status is True, message
    assert message.endswith("no encryption key: ID numbers are stored masked and as HMAC only")


def test_retired_keys_are_counted_never_shown(monkeypatch):
    extra = json.dumps({"retired_hmac_keys": ["the old password", "an older one"]})
    status, message = _tested(monkeypatch, password=HMAC_KEY, extra=extra)
    assert status is True, message
    assert message.endswith("; 2 retired key(s) still open what was staged under them")
    assert "old" not in message


def test_a_short_hmac_key_passes_with_a_warning(monkeypatch):
    status, message = _tested(monkeypatch, password="short-key")
    assert status is True
    assert "HMAC key of 9 bytes (shorter than the 32 recommended)" in message


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "needs the HMAC key as its password"),
        (
            {
                "password": HMAC_KEY,
                "extra": json.dumps({"encryption_key": base64.b64encode(b"k" * 20).decode()}),
            },
            "encryption_key must be 16, 24 or 32 bytes (AES-128/192/256), not 20",
        ),
        (
            {"password": HMAC_KEY, "extra": json.dumps({"encryption_key": "not base64"})},
            "encryption_key text must be base64 of 16, 24 or 32 bytes",
        ),
    ],
    ids=["no-hmac-key", "aes-key-of-20-bytes", "aes-key-not-base64"],
)
def test_unusable_keys_fail_saying_what_is_wrong_and_never_the_key(monkeypatch, fields, reason):
    status, message = _tested(monkeypatch, **fields)
    assert status is False
    assert message.startswith("The PII keys cannot be used: ") and reason in message, message
    secrets = [fields.get("password"), json.loads(fields.get("extra") or "{}").get("encryption_key")]
    assert not [secret for secret in secrets if secret and secret in message], message


def test_a_generic_pii_connection_still_gives_the_operators_their_keys(monkeypatch):
    """Connections made before the type existed (conn_type generic) keep working; only their Test has no hook."""
    from baidu_ocr.pii.connection import pii_policy

    monkeypatch.setenv(
        "AIRFLOW_CONN_OLD_PII",
        json.dumps({"conn_type": "generic", "password": HMAC_KEY, "extra": {"encryption_key": AES_256}}),
    )
    policy = pii_policy("old_pii")
    assert (policy.hmac_key, policy.encryption_key) == (HMAC_KEY.encode(), b"k" * 32)
