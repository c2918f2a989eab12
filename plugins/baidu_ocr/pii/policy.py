"""Personal data in OCR results: ID-number checks, masking, keyed hashing and optional encryption.

Pure functions (no Airflow, no I/O). The warehouse never holds a clear ID number: it holds a masked form for
people, an HMAC-SHA256 for joins ("have we seen this person before?") and, only when an encryption key is
configured, an AES-GCM ciphertext that the key owner can decrypt. Staged raw responses hold none either: the
batch task seals each ID number (``pii.sealing``: AES-GCM under a key derived from the PII connection's HMAC
key) and the load unseals them in memory, or, with no PII connection, masks them for good.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# GB 11643-1999: weights of the 17 leading digits, and the check character for (weighted sum mod 11).
_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHECK = "10X98765432"
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")

# Ciphertexts carry a version prefix so the format can change without guessing later.
_CIPHER_PREFIX = "v1:"
# Binds ciphertexts to their purpose: an ID-number ciphertext cannot be replayed as another field.
_ASSOCIATED_DATA = b"baidu_ocr:id_number"
_NONCE_BYTES = 12
_SEALING_INFO = b"baidu_ocr:staged id numbers"


def normalize_id_number(value: str | None) -> str | None:
    """Strip blanks and upper-case the check character: OCR often returns a lower-case ``x``."""
    if value is None:
        return None
    cleaned = re.sub(r"\s+", "", str(value)).upper()
    return cleaned or None


def gb11643_check_char(first17: str) -> str:
    """The check character of an 18-character resident ID number, from its first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("expected the 17 leading digits of an ID number")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _GB11643_WEIGHTS, strict=True))
    return _GB11643_CHECK[total % 11]


def is_valid_id_number(value: str | None) -> bool | None:
    """True/False for an 18-character number (GB 11643 check); None when it cannot be checked.

    First-generation 15-digit numbers carry no check digit, so their validity is unknown (None).
    """
    number = normalize_id_number(value)
    if number is None:
        return None
    if _ID15.match(number):
        return None
    if not _ID18.match(number):
        return False
    return gb11643_check_char(number[:17]) == number[17]


def looks_like_id_number(value: str | None) -> bool:
    """A valid 18-character resident ID number (used to mask ID numbers found in generic fields)."""
    return bool(is_valid_id_number(value))


def mask_id_number(value: str | None) -> str | None:
    """``110101199003071234`` -> ``110101********1234``: region code and last four stay readable."""
    number = normalize_id_number(value)
    if number is None:
        return None
    if len(number) <= 10:
        return "*" * max(len(number) - 4, 0) + number[-4:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# 17 digits + a digit or X, not inside a longer run of digits or letters. The checksum is NOT required: a
# misread number is still personal data. No \b: Python counts CJK characters as word characters, and
# "公民身份号码110101199003071234" must match. People (and OCR) write numbers in groups: up to two blanks
# may separate the characters ("1101 0119 9003 0712 34", "110101 19900307 1234"), never a line break.
_ID18_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:\d[^\S\r\n]{0,2}){17}[\dXx](?![0-9A-Za-z])")


def _is_id_shaped(candidate: str) -> bool:
    """A spaced candidate is an ID number only when every group has two characters or more: single digits
    apart ("1 2 3 ... 14", a row of page numbers) are a list, not a number."""
    return all(len(group) >= 2 for group in candidate.split())


def find_id_numbers(text: str | None) -> list[tuple[int, int]]:
    """``(start, end)`` of every substring of ``text`` shaped like an 18-character ID number, written in
    one piece or in blank-separated groups."""
    if not text:
        return []
    return [match.span() for match in _ID18_IN_TEXT.finditer(text) if _is_id_shaped(match.group())]


def mask_id_numbers_in_text(text: str | None) -> str | None:
    """Mask every ID-number-shaped substring (``110101********1234``); other text stays as it is.

    A driving licence number is the holder's ID number, so this covers licences too.
    """
    if not text or not isinstance(text, str):
        return text
    return _ID18_IN_TEXT.sub(
        lambda m: mask_id_number(m.group()) if _is_id_shaped(m.group()) else m.group(), text
    )


# In debug output (a log record, http.client's prints of request bodies), a run of 17 digits + digit/X is
# masked wherever it sits: bytes' repr glues escapes such as ``\x12`` to the digits, and over-masking a
# debug line costs nothing.
_DIGIT_RUN = re.compile(r"(\d{6})\d{8}(\d{3}[\dXx])")


def mask_digit_runs(text: str) -> str:
    """Every ID-number-length run of digits masked, even glued to other characters (debug output only)."""
    return _DIGIT_RUN.sub(r"\1********\2", text)


def mask_id_numbers_in_json(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with ID numbers masked in every string, keys included."""
    return map_json_strings(value, mask_id_numbers_in_text)


def map_json_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    """A JSON-like value with ``fn`` applied to every string, keys included (numbers stay numbers)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {fn(k) if isinstance(k, str) else k: map_json_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_json_strings(v, fn) for v in value]
    return value


def hmac_id_number(value: str | None, key: bytes) -> str | None:
    """Hex HMAC-SHA256 of the normalized number: joinable across tables, useless without the key."""
    number = normalize_id_number(value)
    if number is None:
        return None
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def encrypt_text(value: str | None, key: bytes) -> str | None:
    """AES-GCM with a random 96-bit nonce; returns ``v1:`` + urlsafe base64 of nonce || ciphertext+tag."""
    if value is None:
        return None
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), _ASSOCIATED_DATA)
    return _CIPHER_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_text(token: str, key: bytes) -> str:
    """Inverse of :func:`encrypt_text`; raises ``cryptography.exceptions.InvalidTag`` on a wrong key."""
    if not token.startswith(_CIPHER_PREFIX):
        raise ValueError("unknown ciphertext format")
    raw = base64.urlsafe_b64decode(token[len(_CIPHER_PREFIX) :])
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, sealed, _ASSOCIATED_DATA).decode()


@dataclass(frozen=True)
class PiiPolicy:
    """Keys for personal data, built by the operator from an Airflow connection (never logged).

    Connections hold text, so text keys are accepted: ``hmac_key`` as UTF-8, ``encryption_key`` as base64.

    :param hmac_key: key of the HMAC-SHA256 stored in ``id_number_hmac`` (any length; 32 bytes recommended).
    :param encryption_key: optional AES key (16, 24 or 32 bytes, or their base64). Only when it is set does
        the clear number reach the warehouse, and then only as AES-GCM ciphertext in ``id_number_encrypted``.
    :param retired_hmac_keys: former HMAC keys (the connection's earlier passwords): never used to seal or
        hash, kept so the load still opens what was staged under them (see :meth:`opening_keys`).
    """

    hmac_key: bytes = field(repr=False)
    encryption_key: bytes | None = field(default=None, repr=False)
    retired_hmac_keys: tuple[bytes, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        hmac_key = self.hmac_key.encode() if isinstance(self.hmac_key, str) else bytes(self.hmac_key or b"")
        if not hmac_key:
            raise ValueError("PiiPolicy needs a non-empty hmac_key")
        object.__setattr__(self, "hmac_key", hmac_key)
        key = self.encryption_key
        if isinstance(key, str):
            key = _decode_key(key)
        if key is not None and len(key) not in (16, 24, 32):
            # Never echo the key: only its length.
            raise ValueError(f"encryption_key must be 16, 24 or 32 bytes (AES-128/192/256), not {len(key)}")
        object.__setattr__(self, "encryption_key", key or None)
        retired = tuple(k.encode() if isinstance(k, str) else bytes(k) for k in self.retired_hmac_keys if k)
        object.__setattr__(self, "retired_hmac_keys", retired)

    @classmethod
    def from_connection(cls, conn: Any) -> PiiPolicy:
        """Keys from an Airflow connection (duck-typed, so this module stays free of Airflow): password =
        HMAC key, extra ``encryption_key`` = base64 of 16/24/32 bytes (optional), extra
        ``retired_hmac_keys`` = the former passwords, a list (optional)."""
        if not conn.password:
            raise ValueError(f"Connection {conn.conn_id!r} needs the HMAC key as its password")
        extra = conn.extra_dejson or {}
        return cls(
            conn.password,
            encryption_key=extra.get("encryption_key") or None,
            retired_hmac_keys=tuple(retired_keys_of(extra)),
        )

    def sealing_key(self) -> bytes:
        """The key that seals ID numbers in staged records: derived from the HMAC key (HKDF-SHA256), so the
        batch task and the load share it through the PII connection and it is never the HMAC key itself."""
        return _derive_sealing_key(self.hmac_key)

    def opening_keys(self) -> list[bytes]:
        """The keys that may open staged records: the sealing key, then those of the retired HMAC keys (a
        password changed between a batch task and its load, or before a rerun, still opens)."""
        return [self.sealing_key(), *(_derive_sealing_key(k) for k in self.retired_hmac_keys)]

    def protect(self, id_number: str | None) -> dict[str, object]:
        """The warehouse columns for one ID number: masked, HMAC, validity and (maybe) ciphertext."""
        number = normalize_id_number(id_number)
        return {
            "id_number_masked": mask_id_number(number),
            "id_number_hmac": hmac_id_number(number, self.hmac_key),
            "id_number_valid": is_valid_id_number(number),
            "id_number_encrypted": (
                encrypt_text(number, self.encryption_key) if self.encryption_key and number else None
            ),
        }


def retired_keys_of(extra: dict[str, Any]) -> list[str]:
    """The connection extra's ``retired_hmac_keys``: a list of former passwords (one string is one key)."""
    retired = extra.get("retired_hmac_keys") or []
    return [retired] if isinstance(retired, str) else [str(k) for k in retired if k]


def _derive_sealing_key(hmac_key: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=_SEALING_INFO).derive(hmac_key)


def _decode_key(text: str) -> bytes:
    """Base64 (standard or URL-safe, padding optional) of an AES key."""
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except ValueError:
        raise ValueError("encryption_key text must be base64 of 16, 24 or 32 bytes") from None


def protect_without_keys(id_number: str | None) -> dict[str, object]:
    """Columns when no policy is configured: masked and validity only, nothing reversible or joinable."""
    number = normalize_id_number(id_number)
    return {
        "id_number_masked": mask_id_number(number),
        "id_number_hmac": None,
        "id_number_valid": is_valid_id_number(number),
        "id_number_encrypted": None,
    }
