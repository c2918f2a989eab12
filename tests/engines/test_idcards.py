"""ID card field extraction by layout, on hand-made OCR lines (no model)."""

from __future__ import annotations

from baidu_ocr_server.engines.base import Box, Char, Line
from baidu_ocr_server.engines.idcards import char_boxes, extract_idcard, split_line


def line(
    text: str, left: int, top: int, char_width: int = 30, height: int = 30, with_chars: bool = True
) -> Line:
    """A line whose characters are laid out at a fixed pitch, as an engine with char boxes reports them."""
    compact = text.replace(" ", "")
    chars = [Char(ch, Box(left + i * char_width, top, char_width, height)) for i, ch in enumerate(compact)]
    return Line(text, Box(left, top, char_width * len(compact), height), chars=chars if with_chars else [])


FRONT = [
    line("姓名张三丰", 70, 70),  # label and value merged by the detector
    line("性别男 民族汉", 70, 140),  # two pairs in one line
    line("出 生", 70, 205),  # spaced label, value in a separate line
    line("1990年1月5日", 170, 202),
    line("住址", 70, 270),
    line("浙江省杭州市西湖区文三", 170, 267),
    line("路100号", 170, 307),
    line("公民身份号码", 70, 445),
    line("33010619900105123X", 270, 440),
]


def test_front_fields_are_read_right_of_their_labels():
    result = extract_idcard(FRONT, "front")

    assert result.image_status == "normal"
    assert {name: f.text for name, f in result.fields.items()} == {
        "姓名": "张三丰",
        "性别": "男",
        "民族": "汉",
        "出生": "19900105",
        "住址": "浙江省杭州市西湖区文三路100号",
        "公民身份号码": "33010619900105123X",
    }


def test_value_boxes_exclude_the_label_and_span_wrapped_address_lines():
    fields = extract_idcard(FRONT, "front").fields

    assert fields["姓名"].box == Box(70 + 2 * 30, 70, 3 * 30, 30)
    assert fields["民族"].box.left == 70 + 5 * 30
    address = fields["住址"].box
    assert (address.left, address.top) == (170, 267)
    assert address.top + address.height == 307 + 30


def test_back_reads_authority_and_splits_the_validity_period():
    lines = [
        line("中华人民共和国", 260, 70),
        line("居民身份证", 300, 150),
        line("签发机关", 150, 380),
        line("杭州市公安局西湖分局", 290, 376),
        line("有效期限 2015.03.01-长期", 150, 441),
    ]

    result = extract_idcard(lines, "back")

    assert {name: f.text for name, f in result.fields.items()} == {
        "签发机关": "杭州市公安局西湖分局",
        "签发日期": "20150301",
        "失效日期": "长期",
    }
    # "有效期限" is 4 characters, the issue date the next 10, then "-" and the expiry.
    assert result.fields["签发日期"].box == Box(150 + 4 * 30, 441, 10 * 30, 30)
    assert result.fields["失效日期"].box.left == 150 + 15 * 30


def test_dated_expiry_is_yyyymmdd():
    lines = [line("签发机关 上海市公安局浦东分局", 150, 380), line("有效期限2012.07.09-2032.07.09", 150, 441)]

    fields = extract_idcard(lines, "back").fields

    assert (fields["签发日期"].text, fields["失效日期"].text) == ("20120709", "20320709")


def test_back_sent_as_front_is_reversed_side_and_other_text_is_no_card():
    back = [line("签发机关", 150, 380), line("有效期限2012.07.09-2032.07.09", 150, 441)]

    assert extract_idcard(back, "front").image_status == "reversed_side"
    assert extract_idcard(FRONT, "back").image_status == "reversed_side"
    receipt = extract_idcard([line("谢谢惠顾 Thank you", 10, 10)], "front")
    assert (receipt.image_status, receipt.fields) == ("non_idcard", {})


def test_id_number_is_found_even_when_its_label_is_missed():
    lines = [line("姓名李四", 70, 70), line("110108198001011234", 270, 440)]

    assert extract_idcard(lines, "front").fields["公民身份号码"].text == "110108198001011234"


def test_without_char_boxes_the_line_is_split_in_equal_widths():
    merged = line("姓名王五", 100, 50, char_width=25, with_chars=False)

    assert char_boxes(merged, "姓名王五")[2] == Box(150, 50, 25, 30)
    segments = split_line(merged, 0)
    assert [(s.text, s.is_label) for s in segments] == [("姓名", True), ("王五", False)]
