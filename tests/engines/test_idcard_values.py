"""ID card values snapped to their vocabularies and checked against their formats and each other."""

from __future__ import annotations

import pytest
from baidu_ocr_server.engines.base import Box, Line
from baidu_ocr_server.engines.idcard_values import (
    ETHNIC_GROUPS,
    gb11643_check_digit,
    number_is_valid,
    reconcile_birth_and_number,
    snap_ethnicity,
    snap_sex,
    valid_date,
)
from baidu_ocr_server.engines.idcards import extract_idcard

FIRST17 = "33010619900105123"
NUMBER = FIRST17 + gb11643_check_digit(FIRST17)


def test_vocabulary_is_the_56_official_groups_in_simplified_characters():
    assert len(ETHNIC_GROUPS) == len(set(ETHNIC_GROUPS)) == 56
    assert {"汉", "蒙古", "维吾尔", "朝鲜", "柯尔克孜", "基诺"} <= set(ETHNIC_GROUPS)
    assert all(snap_ethnicity(name) == name for name in ETHNIC_GROUPS)


@pytest.mark.parametrize(
    ("read", "want"),
    [
        ("漢", "汉"),  # traditional form, the unseen-scan failure
        ("汉族", "汉"),
        ("滿", "满"),
        ("維吾爾", "维吾尔"),
        ("朝鮮族", "朝鲜"),
        ("维吾而", "维吾尔"),  # one slip in three characters
        ("柯尔克致", "柯尔克孜"),
        (" 蒙古 ", "蒙古"),
    ],
)
def test_ethnicity_snaps_to_its_official_name(read, want):
    assert snap_ethnicity(read) == want


@pytest.mark.parametrize("read", ["", "?", "汊", "火星", "土冢"])  # 土冢: as near 土 as 土家, so unsure
def test_ethnicity_that_cannot_be_placed_is_none(read):
    assert snap_ethnicity(read) is None


def test_sex_is_male_or_female_or_nothing():
    assert snap_sex("男") == "男" and snap_sex("性别女") == "女"
    assert snap_sex("") is None and snap_sex("另") is None and snap_sex("男女") is None


def test_dates_must_be_real_calendar_days():
    assert valid_date("19900105") and valid_date("20000229")
    assert not valid_date("19900230") and not valid_date("19901305") and not valid_date("1990015")
    assert not valid_date("18000101")


def test_number_validity_needs_format_birth_date_and_check_character():
    assert number_is_valid(NUMBER)
    assert not number_is_valid(NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1"))
    bad_month = "33010619901305123"
    assert not number_is_valid(bad_month + gb11643_check_digit(bad_month))
    assert not number_is_valid(NUMBER[:-1])


def test_a_valid_number_corrects_a_birth_date_one_digit_off():
    assert reconcile_birth_and_number("19900106", NUMBER) == ("19900105", NUMBER)


def test_a_birth_date_repairs_a_number_digit_when_the_checksum_then_passes():
    broken = NUMBER[:12] + "8" + NUMBER[13:]  # 19900105 read as 19900185
    assert not number_is_valid(broken)
    assert reconcile_birth_and_number("19900105", broken) == ("19900105", NUMBER)


def test_disagreeing_values_are_kept_when_neither_can_be_trusted_to_fix_the_other():
    far = "19751231"
    assert reconcile_birth_and_number(far, NUMBER) == (far, NUMBER)  # Baidu flags this: type 0
    assert reconcile_birth_and_number("19900230", NUMBER) == (None, NUMBER)
    assert reconcile_birth_and_number("19900105", "3301061990") == ("19900105", None)


def _line(text: str, left: int, top: int) -> Line:
    return Line(text, Box(left, top, 30 * len(text.replace(" ", "")), 30))


def test_card_reads_traditional_ethnicity_as_simplified_and_drops_unreadable_values():
    lines = [
        _line("姓名张三", 70, 70),
        _line("性别男 民族漢", 70, 140),
        _line("出生", 70, 205),
        _line("1990年1月6日", 170, 202),  # one digit off the number's 19900105
        _line("公民身份号码", 70, 445),
        _line(NUMBER, 270, 440),
    ]
    fields = extract_idcard(lines, "front").fields
    assert fields["民族"].text == "汉"
    assert fields["出生"].text == "19900105"

    lines[1] = _line("性别另 民族火星", 70, 140)
    fields = extract_idcard(lines, "front").fields
    assert "性别" not in fields and "民族" not in fields
    assert fields["姓名"].text == "张三"


def test_back_with_an_impossible_issue_date_leaves_it_out():
    lines = [_line("签发机关", 150, 380), _line("杭州市公安局", 290, 376), _line("有效期限", 150, 445),
             _line("2015.13.01-2035.01.01", 290, 441)]  # fmt: skip
    fields = extract_idcard(lines, "back").fields
    assert "签发日期" not in fields
    assert fields["失效日期"].text == "20350101"
