"""Pure shaping rules the HTTP tests do not pin down on their own."""

from __future__ import annotations

import pytest
from baidu_ocr_server.engines.base import Box, IdCardResult, Line
from baidu_ocr_server.shapes import gb11643_check_digit, idcard_number_type, idcard_payload

VALID = "11010519491231002" + gb11643_check_digit("11010519491231002")


def test_gb11643_check_digit_of_the_standards_example():
    assert gb11643_check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("number", "birth", "expected"),
    [
        ("", "", -1),
        (VALID, "19491231", 1),
        (VALID, "", 1),
        (VALID.lower(), "19491231", 1),
        (VALID, "19500101", 0),
        (VALID[:17] + "1", "19491231", 2),
        ("1101051949123100", "", 2),
        ("11010519491331002" + gb11643_check_digit("11010519491331002"), "", 2),  # month 13
    ],
)
def test_idcard_number_type(number, birth, expected):
    assert idcard_number_type(number, birth) == expected


def test_idcard_payload_lists_every_label_of_the_side_even_when_missing():
    result = IdCardResult(fields={"姓名": Line("张三", Box(1, 2, 3, 4))}, side="front")
    payload = idcard_payload(result, detect_direction=False)
    assert set(payload["words_result"]) == {"住址", "公民身份号码", "出生", "姓名", "性别", "民族"}
    assert payload["words_result"]["住址"]["words"] == ""
    assert payload["idcard_number_type"] == -1
    assert "direction" not in payload


def test_back_side_has_no_number_type_and_non_card_has_no_fields():
    back = idcard_payload(IdCardResult(fields={}, side="back"), detect_direction=True)
    assert "idcard_number_type" not in back and back["direction"] == 0
    non_card = idcard_payload(
        IdCardResult(fields={}, side="front", image_status="non_idcard"), detect_direction=False
    )
    assert non_card["words_result"] == {} and non_card["words_result_num"] == 0
