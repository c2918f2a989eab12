"""Sealing ID numbers in staged records: spaced numbers, per-character runs, literal marks, key ids."""

from __future__ import annotations

import json
import re

import pytest
from baidu_ocr.pii.policy import PiiPolicy, find_id_numbers, mask_id_numbers_in_text
from baidu_ocr.pii.sealing import (
    SealedIdNumbersError,
    key_id,
    mask_id_numbers_across,
    seal_id_numbers,
    unseal_id_numbers,
)
from baidu_ocr.pipeline.records import OcrOutcome, seal_record

NUMBER = "110101199003071234"
KEY = PiiPolicy("the pii password").sealing_key()
DIGIT_RUN = re.compile(r"\d{4}")
TOKEN = re.compile(r"\{pii:v2:[^}]*\}")


def _clear_digits(text: str) -> re.Match | None:
    """A run of four digits outside the sealed tokens (whose base64 holds digits of its own)."""
    return DIGIT_RUN.search(TOKEN.sub("", text))


@pytest.mark.parametrize(
    "written",
    [
        "1101 0119 9003 0712 34",
        "110101 19900307 1234",
        "110101\u300019900307\u30001234",
        "110101  199003071234",
    ],
)
def test_numbers_written_in_groups_are_found_masked_and_sealed(written):
    text = f"身份证号 {written} 签名"
    assert len(find_id_numbers(text)) == 1
    assert mask_id_numbers_in_text(text) == "身份证号 110101********1234 签名"
    sealed = seal_id_numbers(text, KEY)
    assert written not in sealed and _clear_digits(sealed) is None
    assert unseal_id_numbers(sealed, KEY) == text


@pytest.mark.parametrize(
    "text",
    [
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14",  # single digits apart: a list, not a number
        "12345678901234567 8",  # a lone digit is not a group
        "11010119900307123\n4",  # a line break ends a number
    ],
)
def test_runs_that_are_not_one_number_stay_as_they_are(text):
    assert find_id_numbers(text) == [] and mask_id_numbers_in_text(text) == text


def _chars_record(line: str) -> dict:
    result = {
        "log_id": 123456789012345678,
        "words_result": [
            {
                "words": line,
                "chars": [{"char": c, "location": {"left": i, "top": 1}} for i, c in enumerate(line)],
            }
        ],
    }
    return OcrOutcome(key="k", ok=True, result=result, content_sha256="a" * 64).to_record(endpoint="accurate")


@pytest.mark.parametrize("line", [f"公民身份号码{NUMBER}", "号码 1101 0119 9003 0712 34"])
def test_per_character_results_are_sealed_as_a_line(line):
    record = _chars_record(line)
    original = json.loads(record["result_json"])

    sealed = seal_record(dict(record), KEY)
    chars = json.loads(sealed["result_json"])["words_result"][0]["chars"]
    joined = "".join(c["char"] for c in chars)
    assert find_id_numbers(joined) == [] and _clear_digits(joined) is None
    assert len(chars) == len(line) and [c["location"] for c in chars] == [
        c["location"] for c in original["words_result"][0]["chars"]
    ]
    assert json.loads(unseal_id_numbers(sealed["result_json"], KEY)) == original

    masked = seal_record(dict(record), None)  # no PII connection: masked for good, still one per character
    chars = [c["char"] for c in json.loads(masked["result_json"])["words_result"][0]["chars"]]
    assert len(chars) == len(line)
    assert "".join(chars).replace(" ", "").endswith("110101********1234")


def test_numbers_spelled_across_runs_are_masked_where_they_fall():
    assert mask_id_numbers_across(["1101", "0119 9003", " 0712 3", "4", " tail"]) == [
        "1101",
        "01** ****",
        " **12 3",
        "4",
        " tail",
    ]
    assert mask_id_numbers_across(["no", " number"]) == ["no", " number"]


def test_a_literal_mark_is_escaped_and_comes_back_with_or_without_a_key():
    text = f"{{pii:v1:AAAA}} {{pii:}} {{pii:v2:{key_id(KEY)}:AAAA}} {NUMBER}"
    sealed = seal_id_numbers(text, KEY)
    assert unseal_id_numbers(sealed, KEY) == text
    masked = seal_id_numbers(text, None)
    assert unseal_id_numbers(masked, None) == text.replace(NUMBER, "110101********1234")


def test_tokens_name_their_key_and_any_listed_key_opens_them():
    old, new = PiiPolicy("old").sealing_key(), PiiPolicy("new").sealing_key()
    sealed = seal_id_numbers(f"id {NUMBER}", old)
    assert f"{{pii:v2:{key_id(old)}:" in sealed and key_id(old) != key_id(new)
    assert unseal_id_numbers(sealed, [new, old]) == f"id {NUMBER}"
    with pytest.raises(SealedIdNumbersError, match=f"key id {key_id(old)}.*retired_hmac_keys"):
        unseal_id_numbers(sealed, [new])
    with pytest.raises(SealedIdNumbersError, match="no PII key"):
        unseal_id_numbers(sealed, [])


def test_tokens_of_0_2_0_still_open_and_altered_ones_fail_clearly():
    from baidu_ocr.pii.policy import encrypt_text

    legacy = "{pii:" + encrypt_text(NUMBER, KEY) + "}"  # 0.2.0's format: no key id
    assert unseal_id_numbers(f"id {legacy}", [PiiPolicy("new").sealing_key(), KEY]) == f"id {NUMBER}"
    with pytest.raises(SealedIdNumbersError, match="malformed"):
        unseal_id_numbers("{pii:v1:AAAA}", KEY)
    with pytest.raises(SealedIdNumbersError, match="not the one"):
        unseal_id_numbers("{pii:v1:" + "A" * 40 + "}", KEY)


def test_the_policy_reads_retired_keys_from_the_connection_and_never_shows_them():
    from types import SimpleNamespace

    conn = SimpleNamespace(
        conn_id="pii", password="new", extra_dejson={"retired_hmac_keys": ["old", "older"]}
    )
    policy = PiiPolicy.from_connection(conn)
    assert policy.opening_keys() == [PiiPolicy(name).sealing_key() for name in ("new", "old", "older")]
    assert "old" not in repr(policy)
    single = SimpleNamespace(conn_id="pii", password="new", extra_dejson={"retired_hmac_keys": "old"})
    assert PiiPolicy.from_connection(single).opening_keys()[1] == PiiPolicy("old").sealing_key()
