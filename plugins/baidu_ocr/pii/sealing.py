"""ID numbers sealed in staged records: the batch tasks seal, the load opens (pure: no Airflow, no I/O).

A sealed number is ``{pii:v2:<key id>:<base64 of nonce || AES-GCM ciphertext>}``. The key id names the
sealing key (an HMAC of it, never the key), so a load whose PII connection was given a new password still
opens what the old one sealed when the old password is listed among the connection's retired keys, and
says which key it lacks when it is not. A literal ``{pii:`` in OCR text is escaped as ``{pii:}`` before
sealing, so text a document carries can never be taken for a sealed number. Without a key the numbers are
masked for good (literal ``{pii:`` still escaped, so the load reads every record the same way).

Per-character results (``chars``) spell a number one string per character: they are sealed as a run, the
characters of a number each on its own (see :func:`seal_id_numbers_across`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence

from cryptography.exceptions import InvalidTag

from baidu_ocr.pii.policy import (
    decrypt_text,
    encrypt_text,
    find_id_numbers,
    mask_id_number,
    mask_id_numbers_in_text,
)

MARK = "{pii:"
ESCAPED_MARK = "{pii:}"  # a literal "{pii:" of the OCR text, as staged
_TOKEN_VERSION = "v2"
_KEY_ID_INFO = b"baidu_ocr:sealing key id"
# One pass reads every mark: an escaped literal, a sealed number (v2 with its key id, or v1 from 0.2.0).
_MARKS = re.compile(
    r"\{pii:(?:\}|v2:(?P<kid>[0-9a-f]{8}):(?P<v2>[A-Za-z0-9_=-]+)\}|(?P<v1>v1:[A-Za-z0-9_=-]+)\})"
)
_CIPHER_PREFIX = "v1:"  # encrypt_text's format inside a token


class SealedIdNumbersError(ValueError):
    """Staged records hold sealed ID numbers and the load has no key, or another key, to open them."""


def key_id(key: bytes) -> str:
    """Eight hex characters naming a sealing key (an HMAC of a fixed text under it: reveals nothing)."""
    return hmac.new(key, _KEY_ID_INFO, hashlib.sha256).hexdigest()[:8]


def _token(text: str, key: bytes) -> str:
    cipher = encrypt_text(text, key).removeprefix(_CIPHER_PREFIX)
    return f"{MARK}{_TOKEN_VERSION}:{key_id(key)}:{cipher}}}"


def escape_marks(text: str) -> str:
    """``text`` with each literal ``{pii:`` escaped, so only the sealer's tokens start with a mark."""
    return text.replace(MARK, ESCAPED_MARK)


def seal_id_numbers(text: str | None, key: bytes | None) -> str | None:
    """Every ID-number-shaped run of ``text`` (spaced ones too) sealed with ``key`` (see
    :meth:`PiiPolicy.sealing_key`), so the load can open it; masked for good when there is no key. Literal
    ``{pii:`` is escaped either way. (Apply it to strings, not to JSON text: an 18-digit JSON number must
    stay a number.)"""
    if not text or not isinstance(text, str):
        return text
    text = escape_marks(text)
    if key is None:
        return mask_id_numbers_in_text(text)
    spans = find_id_numbers(text)
    for start, end in reversed(spans):
        text = text[:start] + _token(text[start:end], key) + text[end:]
    return text


def seal_whole(text: str, key: bytes | None) -> str:
    """All of ``text`` sealed as one token (a value that is personal data as a whole, such as an individual's
    tax id built on an ID number), or masked for good when there is no key."""
    return mask_id_number(text) if key is None else _token(text, key)


def seal_id_numbers_across(parts: Sequence[str], key: bytes | None) -> list[str]:
    """The strings of one run (a line's ``chars``), sealed as one text: a part that holds a character of an
    ID number spelled across the run is sealed whole with ``key``; without a key the number is masked
    across the run (:func:`mask_id_numbers_across`). Every part is escaped, and stays one part, so the
    characters still line up with their positions."""
    if key is None:
        return [escape_marks(part) for part in mask_id_numbers_across(parts)]
    return [
        _token(part, key) if positions else escape_marks(part)
        for part, positions in zip(parts, _per_part(parts, _inside_numbers(parts)), strict=True)
    ]


def mask_id_numbers_across(parts: Sequence[str]) -> list[str]:
    """The strings of one run (the rich-text runs of a workbook cell, a line's ``chars``) with every ID
    number spelled across them masked as :func:`~baidu_ocr.pii.policy.mask_id_number` masks one: the
    region code and the last four digits stay, the digits between become ``*``."""
    hidden = _per_part(parts, _inside_numbers(parts, hidden_only=True))
    return [
        "".join("*" if i in positions else c for i, c in enumerate(part))
        for part, positions in zip(parts, hidden, strict=True)
    ]


def _inside_numbers(parts: Sequence[str], *, hidden_only: bool = False) -> set[int]:
    """Positions in the joined run of the characters of its ID numbers (``hidden_only``: only the digits a
    mask hides, all but the first six and the last four of each number)."""
    joined = "".join(parts)
    inside: set[int] = set()
    for start, end in find_id_numbers(joined):
        if hidden_only:
            digits = [i for i in range(start, end) if not joined[i].isspace()]
            inside |= set(digits[6:-4])
        else:
            inside |= set(range(start, end))
    return inside


def _per_part(parts: Sequence[str], positions: set[int]) -> list[set[int]]:
    """``positions`` of the joined run, as positions within each part."""
    out, offset = [], 0
    for part in parts:
        out.append({i - offset for i in range(offset, offset + len(part)) if i in positions})
        offset += len(part)
    return out


def unseal_id_numbers(text: str | None, keys: bytes | Iterable[bytes] | None) -> str | None:
    """Inverse of :func:`seal_id_numbers` (masked numbers stay masked; escaped marks become literal again).

    :param keys: the sealing key, or the connection's keys (current first, then retired ones).
    :raises SealedIdNumbersError: sealed numbers and no key, a key id none of ``keys`` has, or a token that
        does not open (altered, or not ours).
    """
    if not text or not isinstance(text, str) or MARK not in text:
        return text
    by_id = _keys_by_id(keys)
    return _MARKS.sub(lambda match: _open(match, by_id), text)


def _keys_by_id(keys: bytes | Iterable[bytes] | None) -> dict[str, list[bytes]]:
    if keys is None:
        return {}
    listed = [keys] if isinstance(keys, bytes | bytearray) else list(keys)
    by_id: dict[str, list[bytes]] = {}
    for key in listed:
        by_id.setdefault(key_id(bytes(key)), []).append(bytes(key))
    return by_id


def _open(match: re.Match[str], by_id: dict[str, list[bytes]]) -> str:
    if match.group(0) == ESCAPED_MARK:
        return MARK
    if not by_id:
        raise SealedIdNumbersError("no PII key to open them")
    kid = match.group("kid")
    if kid is not None:
        if kid not in by_id:
            raise SealedIdNumbersError(
                f"the PII key is not the one that sealed them (sealed with key id {kid}: give the connection "
                f"that password, or list it in the connection's extra 'retired_hmac_keys')"
            )
        return _decrypt_with(_CIPHER_PREFIX + match.group("v2"), by_id[kid])
    # A v1 token (0.2.0) names no key: every key of the connection is tried.
    return _decrypt_with(match.group("v1"), [key for keys in by_id.values() for key in keys])


def _decrypt_with(cipher: str, keys: Iterable[bytes]) -> str:
    for key in keys:
        try:
            return decrypt_text(cipher, key)
        except InvalidTag:
            continue
        except ValueError:  # not base64, a short nonce: not a token this code wrote
            raise SealedIdNumbersError("a sealed ID number is malformed") from None
    raise SealedIdNumbersError("the PII key is not the one that sealed them")


def map_runs(
    value: object, on_text: Callable[[str], str], on_run: Callable[[list[str]], list[str]]
) -> object:
    """A JSON-like value with ``on_text`` applied to every string (keys included) and ``on_run`` to each run
    of per-character results: a list of objects that each hold their character's text under ``"char"``."""
    if isinstance(value, str):
        return on_text(value)
    if isinstance(value, dict):
        return {
            (on_text(k) if isinstance(k, str) else k): map_runs(v, on_text, on_run) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        if _is_char_run(value):
            texts = iter(on_run([item["char"] for item in value]))
            return [
                {
                    (on_text(k) if isinstance(k, str) else k): (
                        next(texts) if k == "char" else map_runs(v, on_text, on_run)
                    )
                    for k, v in item.items()
                }
                for item in value
            ]
        return [map_runs(v, on_text, on_run) for v in value]
    return value


def _is_char_run(value: Sequence[object]) -> bool:
    return bool(value) and all(isinstance(i, dict) and isinstance(i.get("char"), str) for i in value)
