"""Closed vocabularies and formats of ID card values, so OCR slips are snapped or dropped, never passed on.

Baidu answers 民族 with one of the 56 officially recognised ethnic groups in simplified characters (as printed
on the card, without 族), 性别 with 男 or 女, dates as ``YYYYMMDD`` and the number per GB 11643 (digits 7-14 are
the birth date, the 18th is an ISO 7064 MOD 11-2 check character). A value that cannot be brought into its
vocabulary or format is ``None``: the engine then leaves the field out, as Baidu does, instead of guessing.
"""

from __future__ import annotations

import re
from datetime import date

from ..evaluation import edit_distance

#: The 56 ethnic groups as printed on resident ID cards (GB 3304 order).
ETHNIC_GROUPS = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
    "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip

#: Traditional (and variant) forms of the characters in those names; the recogniser's dictionary has both.
_TO_SIMPLIFIED = str.maketrans(
    {
        "漢": "汉", "維": "维", "爾": "尔", "鮮": "鲜", "滿": "满", "壯": "壮", "瑤": "瑶", "畬": "畲",
        "薩": "萨", "東": "东", "鄉": "乡", "納": "纳", "頗": "颇", "達": "达", "錫": "锡", "烏": "乌",
        "別": "别", "羅": "罗", "溫": "温", "獨": "独", "龍": "龙", "倫": "伦", "門": "门", "諾": "诺",
        "傜": "瑶",
    }
)  # fmt: skip
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHECK = "10X98765432"


def snap_ethnicity(text: str) -> str | None:
    """The official name ``text`` stands for: exact after simplification and dropping 族, else the single
    nearest name within a small edit distance (at most one slip per two characters); ``None`` if unsure."""
    cleaned = re.sub(r"[\s族:：]", "", text or "").translate(_TO_SIMPLIFIED)
    if not cleaned:
        return None
    if cleaned in ETHNIC_GROUPS:
        return cleaned
    scored = sorted((edit_distance(cleaned, name), name) for name in ETHNIC_GROUPS)
    (best, name), runner_up = scored[0], scored[1][0]
    if best <= len(name) // 2 and best < runner_up:
        return name
    return None


def snap_sex(text: str) -> str | None:
    """男 or 女 when exactly one of them is in ``text``."""
    found = {ch for ch in text or "" if ch in "男女"}
    return found.pop() if len(found) == 1 else None


def valid_date(yyyymmdd: str, earliest: int = 1900, latest: int = 2100) -> bool:
    """``YYYYMMDD`` naming a real calendar day between the given years."""
    if not re.fullmatch(r"\d{8}", yyyymmdd or ""):
        return False
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    try:
        date(year, month, day)
    except ValueError:
        return False
    return earliest <= year <= latest


def gb11643_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _GB11643_WEIGHTS, strict=True))
    return _GB11643_CHECK[total % 11]


def number_is_valid(number: str) -> bool:
    """18 characters, a real birth date in digits 7-14, and the right check character."""
    return (
        bool(_ID_NUMBER.match(number or ""))
        and valid_date(number[6:14])
        and gb11643_check_digit(number[:17]) == number[17]
    )


def reconcile_birth_and_number(birth: str | None, number: str | None) -> tuple[str | None, str | None]:
    """Make 出生 and 公民身份号码 agree where one of them has an OCR slip the other can fix.

    A number that passes its checksum is trusted: a read birth date one or two digits off is replaced by
    the number's digits 7-14. A number failing its checksum whose digits 7-14 differ from a valid birth
    date in one place is repaired when the repair passes the checksum. Unreadable values stay ``None``.
    """
    birth = birth if birth and valid_date(birth) else None
    if number and not re.fullmatch(r"\d{17}[\dX]", number):
        number = None
    if number and number_is_valid(number):
        if birth and birth != number[6:14] and edit_distance(birth, number[6:14]) <= 2:
            birth = number[6:14]
        return birth, number
    if number and birth and edit_distance(birth, number[6:14]) == 1:
        repaired = number[:6] + birth + number[14:]
        if number_is_valid(repaired):
            number = repaired
    return birth, number
