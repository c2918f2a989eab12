"""Baidu's documented response examples (tests/fixtures/baidu_responses) parse into the expected rows."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from baidu_ocr.normalize import PiiPolicy, normalize_records
from baidu_ocr.pii.policy import decrypt_text, hmac_id_number

from tests.unit.normalize.helpers import load_fixture, ok_record

HMAC_KEY = b"h" * 32
AES_KEY = bytes(range(32))


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [
        tuple(None if pd.isna(v) else v for v in row) for row in frame[list(columns)].itertuples(index=False)
    ]


def test_general_basic_gives_lines_without_positions():
    frames = normalize_records([ok_record("general_basic", endpoint="general_basic")])
    assert rows(frames["ocr_lines"], "line_no", "text", "left", "prob_average") == [
        (0, "TSINGTAO", None, None),
        (1, "青岛啤酒", None, None),
    ]
    doc = frames["ocr_documents"].iloc[0]
    assert (doc["status"], doc["n_lines"], doc["log_id"]) == ("ok", 2, "2471272194")


def test_accurate_gives_probabilities_boxes_and_chars():
    frames = normalize_records(
        [ok_record("accurate", endpoint="accurate", options={"recognize_granularity": "small"})]
    )
    lines = frames["ocr_lines"]
    assert rows(lines, "text", "prob_average", "prob_min", "left", "top", "width", "height") == [
        ("北京市海淀区", 0.998, 0.993, 12, 20, 300, 38),
        ("Total 99.50", None, None, 12, 70, 180, 36),
    ]
    assert rows(frames["ocr_chars"], "line_no", "char_no", "char", "left", "width") == [(1, 0, "T", 12, 14)]
    assert frames["ocr_documents"]["direction"].tolist() == [0]


def test_idcard_front_masks_hashes_and_checks_the_number():
    frames = normalize_records(
        [ok_record("idcard_front", endpoint="idcard", options={"id_card_side": "front"})],
        pii=PiiPolicy(HMAC_KEY),
    )
    card = frames["ocr_idcards"].iloc[0]
    assert (card["side"], card["name"], card["sex"], card["ethnicity"]) == ("front", "张三", "男", "汉")
    assert card["birth_date"] == date(1990, 1, 1)
    assert card["address"] == "浙江省杭州市西湖区文三路100号"
    assert card["id_number_masked"] == "330106********1234"
    assert card["id_number_hmac"] == hmac_id_number("330106199001011234", HMAC_KEY)
    # The documented example's last digit is not its GB 11643 check character (that would be X).
    assert not pd.isna(card["id_number_valid"]) and not card["id_number_valid"]
    assert pd.isna(card["id_number_encrypted"])
    assert (card["image_status"], card["risk_type"], card["idcard_number_type"]) == ("normal", "normal", 1)
    assert "330106199001011234" not in frames["ocr_idcards"].to_csv()
    assert frames["ocr_fields"].empty and frames["ocr_lines"].empty


def test_idcard_number_is_encrypted_only_with_an_encryption_key():
    frames = normalize_records(
        [ok_record("idcard_front", endpoint="idcard", options={"id_card_side": "front"})],
        pii=PiiPolicy(HMAC_KEY, encryption_key=AES_KEY),
    )
    token = frames["ocr_idcards"].iloc[0]["id_number_encrypted"]
    assert "330106199001011234" not in token
    assert decrypt_text(token, AES_KEY) == "330106199001011234"


def test_idcard_back_reads_authority_dates_and_long_term():
    frames = normalize_records(
        [ok_record("idcard_back", endpoint="idcard", options={"id_card_side": "back"})]
    )
    card = frames["ocr_idcards"].iloc[0]
    assert (card["side"], card["issuing_authority"]) == ("back", "杭州市公安局西湖分局")
    assert card["valid_from"] == date(2015, 3, 5)
    assert pd.isna(card["valid_to"]) and bool(card["valid_long_term"])
    assert pd.isna(card["id_number_masked"]) and pd.isna(card["name"])
    assert frames["ocr_documents"]["log_id"].tolist() == ["1338425393432879104"]  # > 2**53, exact


def test_bankcard_result_object_becomes_fields():
    frames = normalize_records([ok_record("bankcard", endpoint="bankcard")])
    assert rows(frames["ocr_fields"], "field", "item_no", "value") == [
        ("bank_card_number", 0, "6222 6007 6003 4576 134"),
        ("valid_date", 0, "07/28"),
        ("bank_card_type", 0, "1"),
        ("bank_name", 0, "交通银行"),
        ("holder_name", 0, ""),
    ]


def test_table_v2_cells_have_zero_based_anchors_and_spans():
    frames = normalize_records([ok_record("table_v2", endpoint="table")])
    assert rows(frames["ocr_table_cells"], "table_no", "row", "col", "row_span", "col_span", "text") == [
        (0, 0, 0, 1, 1, "品名"),
        (0, 0, 1, 1, 2, "数量与金额"),
        (0, 1, 0, 2, 1, "青岛啤酒"),
    ]
    first = frames["ocr_table_cells"].iloc[0]
    assert (first["left"], first["top"], first["width"], first["height"]) == (20, 18, 200, 42)
    assert rows(frames["ocr_fields"], "field", "item_no", "value") == [("tables[0].header", 0, "销售清单")]


def test_sync_form_cells_headers_and_footers():
    frames = normalize_records([ok_record("form", endpoint="form")])
    assert rows(frames["ocr_table_cells"], "row", "col", "row_span", "col_span", "text") == [
        (0, 0, 1, 1, "目"),
        (5, 3, 1, 1, "32.00"),
    ]
    assert rows(frames["ocr_fields"], "field", "value") == [
        ("tables[0].header", "收费清单"),
        ("tables[0].footer", "合计:32.00"),
    ]


@pytest.mark.parametrize("whole_response", [True, False], ids=["poll-response", "result-object"])
def test_async_table_json_result_is_read_as_one_based_lists(whole_response):
    body = load_fixture("form_ocr_result_json")
    record = ok_record(body if whole_response else body["result"], endpoint="form_ocr")
    frames = normalize_records([record])
    assert rows(frames["ocr_table_cells"], "row", "col", "row_span", "col_span", "text") == [
        (0, 0, 1, 1, "品名"),
        (0, 1, 1, 2, "数量与金额"),
        (1, 0, 2, 1, "青岛啤酒"),
    ]
    assert frames["ocr_table_cells"].iloc[1]["width"] == 400
    assert rows(frames["ocr_fields"], "field", "value") == [("tables[0].header", "销售清单")]


def test_async_table_zero_based_lists_are_kept():
    result_data = {
        "forms": [
            {"body": [{"row": [0], "column": [0, 1], "word": "a"}, {"row": [1], "column": [1], "word": "b"}]}
        ]
    }
    frames = normalize_records([ok_record({"result_data": json.dumps(result_data)}, endpoint="form_ocr")])
    assert rows(frames["ocr_table_cells"], "row", "col", "col_span", "text") == [
        (0, 0, 2, "a"),
        (1, 1, 1, "b"),
    ]


def test_async_excel_result_lands_in_fields():
    frames = normalize_records([ok_record("form_ocr_result_excel", endpoint="form_ocr")])
    assert frames["ocr_table_cells"].empty
    fields = dict(rows(frames["ocr_fields"], "field", "value"))
    assert fields["result_data"] == "https://ai.baidu.com/file/result.xls"


def test_business_license_mapping_of_words():
    frames = normalize_records([ok_record("business_license", endpoint="business_license")])
    fields = frames["ocr_fields"]
    by_name = {r.field: r for r in fields.itertuples()}
    assert by_name["单位名称"].value == "东莞神灯食品有限公司"
    assert (by_name["单位名称"].left, by_name["单位名称"].top) == (162, 226)
    assert by_name["有效期"].value == "长期"
    assert len(fields) == 6 and set(fields["item_no"]) == {0}


def test_vat_invoice_strings_and_line_items():
    frames = normalize_records([ok_record("vat_invoice", endpoint="vat_invoice")])
    assert rows(frames["ocr_fields"], "field", "item_no", "value") == [
        ("InvoiceNum", 0, "14641426"),
        ("InvoiceDate", 0, "2016年06月02日"),
        ("SellerName", 0, "上海易火广告传媒有限公司"),
        ("TotalAmount", 0, "4716.98"),
        ("CommodityName", 0, "信息服务费"),
        ("CommodityName", 1, "广告费"),
        ("CommodityAmount", 0, "4716.98"),
        ("CommodityAmount", 1, "0.00"),
    ]


def test_train_ticket_lists_of_word():
    frames = normalize_records([ok_record("train_ticket", endpoint="train_ticket")])
    fields = dict(rows(frames["ocr_fields"], "field", "value"))
    assert fields["train_num"] == "G7374"
    assert fields["ID_card"] == "3306811990****7512"
    assert len(fields) == 8


def test_nested_lists_and_list_of_mappings():
    result = {
        "words_result": [
            {"type": "vat_invoice", "result": {"AmountInFiguers": [{"word": "10.00"}, {"word": "2.00"}]}},
            {"type": "taxi_receipt", "result": {"Fare": [{"word": "¥23.00"}]}},
        ],
        "codes_result": [{"type": "QR_CODE", "text": ["http://example.com"]}],
        "words_result_num": 2,
    }
    frames = normalize_records([ok_record(result, endpoint="multiple_invoice")])
    assert rows(frames["ocr_fields"], "field", "item_no", "value") == [
        ("type", 0, "vat_invoice"),
        ("result.AmountInFiguers[0]", 0, "10.00"),
        ("result.AmountInFiguers[1]", 0, "2.00"),
        ("type", 1, "taxi_receipt"),
        ("result.Fare[0]", 1, "¥23.00"),
        ("codes_result.type", 0, "QR_CODE"),
        ("codes_result.text[0]", 0, "http://example.com"),
    ]


def test_valid_id_numbers_in_generic_fields_are_masked():
    result = {"words_result": {"证号": {"words": "11010519491231002X"}, "姓名": {"words": "李四"}}}
    frames = normalize_records([ok_record(result, endpoint="driving_license")])
    values = dict(rows(frames["ocr_fields"], "field", "value"))
    assert values == {"证号": "110105********002X", "姓名": "李四"}
