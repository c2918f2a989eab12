"""GB 11643 check digits, masking, HMAC and AES-GCM for ID numbers."""

from __future__ import annotations

import pytest
from baidu_ocr.pii.policy import (
    PiiPolicy,
    decrypt_text,
    encrypt_text,
    gb11643_check_char,
    hmac_id_number,
    is_valid_id_number,
    mask_id_number,
)
from cryptography.exceptions import InvalidTag

VALID = "11010519491231002X"  # the standard's own example


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        (VALID, True),
        ("11010519491231002x", True),  # OCR gives a lower-case x
        (" 110105 19491231002X ", True),
        ("110105194912310021", False),  # wrong check character
        ("330106199001011234", False),
        ("33010619900101123X", True),
        ("1101051949123100", False),  # too short
        ("11010519491231002Y", False),
        ("110105491231002", None),  # 15-digit first generation: no check digit
        (None, None),
        ("", None),
    ],
)
def test_gb11643_validation(number, valid):
    assert is_valid_id_number(number) is valid


def test_check_char_needs_seventeen_digits():
    assert gb11643_check_char(VALID[:17]) == "X"
    with pytest.raises(ValueError):
        gb11643_check_char("123")


def test_mask_keeps_region_and_last_four():
    assert mask_id_number("110101199003071234") == "110101********1234"
    assert mask_id_number("110105491231002") == "110105*****1002"
    assert mask_id_number("12345") == "*2345"
    assert mask_id_number(None) is None


def test_hmac_is_keyed_and_normalized():
    key = b"k" * 32
    assert hmac_id_number("11010519491231002x", key) == hmac_id_number(VALID, key)
    assert hmac_id_number(VALID, key) != hmac_id_number(VALID, b"other-key")
    assert VALID not in hmac_id_number(VALID, key)


def test_aes_gcm_round_trip_random_nonce_and_wrong_key():
    key = bytes(range(32))
    first, second = encrypt_text(VALID, key), encrypt_text(VALID, key)
    assert first != second and VALID not in first
    assert decrypt_text(first, key) == VALID
    with pytest.raises(InvalidTag):
        decrypt_text(first, bytes(32))


def test_policy_accepts_connection_text_and_never_shows_keys():
    import base64

    raw = bytes(range(32))
    policy = PiiPolicy("hmac secret text", encryption_key=base64.b64encode(raw).decode())
    assert policy.hmac_key == b"hmac secret text" and policy.encryption_key == raw
    assert "hmac secret" not in repr(policy) and base64.b64encode(raw).decode() not in repr(policy)
    protected = policy.protect("11010519491231002x")
    assert protected["id_number_masked"] == "110105********002X"
    assert protected["id_number_valid"] is True
    assert decrypt_text(protected["id_number_encrypted"], raw) == VALID


@pytest.mark.parametrize("bad", [b"short", "c2hvcnQ="])
def test_policy_rejects_bad_aes_keys_without_echoing_them(bad):
    with pytest.raises(ValueError) as excinfo:
        PiiPolicy(b"k", encryption_key=bad)
    assert "c2hvcnQ" not in str(excinfo.value) and "short" not in str(excinfo.value)


def test_policy_needs_an_hmac_key():
    with pytest.raises(ValueError):
        PiiPolicy(b"")
