"""Prices from the connection, cost beyond the free allowance, the summary's cost lines, the call budget."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from baidu_ocr.client.connection import BaiduOcrSettings
from baidu_ocr.exceptions import ConfigError
from baidu_ocr.pipeline.manifests import format_cost
from baidu_ocr.pipeline.usage import EndpointPrice, beijing_day, cost_lines, month_of, pricing_from_extra


def _conn(extra: dict) -> SimpleNamespace:
    return SimpleNamespace(
        conn_id="baidu", login="k", password="s", host=None, port=None, schema=None, extra_dejson=extra
    )


def test_prices_come_from_the_connection_extra_under_canonical_endpoint_names():
    settings = BaiduOcrSettings.from_connection(
        _conn({"pricing": {"accurate": {"free_per_month": 500, "price_per_1000": 6}, "IDCARD": {}}})
    )
    assert settings.pricing == {
        "accurate": EndpointPrice(free_per_month=500, price_per_1000=6.0),
        "idcard": EndpointPrice(free_per_month=0, price_per_1000=None),
    }
    assert BaiduOcrSettings.from_connection(_conn({})).pricing == {}


@pytest.mark.parametrize(
    "pricing",
    [
        ["general_basic"],
        {"general_basic": {"free": 10}},  # a typo must not pass as "free of charge"
        {"general_basic": {"price_per_1000": "cheap"}},
        {"general_basic": {"free_per_month": -1}},
    ],
)
def test_a_bad_pricing_extra_fails_with_the_connection_named(pricing):
    with pytest.raises(ConfigError, match="pricing") as raised:
        pricing_from_extra(pricing, conn_id="baidu")
    assert raised.value.conn_id == "baidu"


def test_the_free_allowance_is_spent_first_then_calls_are_priced():
    price = EndpointPrice(free_per_month=1000, price_per_1000=3.0)
    assert price.cost(400, month_before=0) == 0
    assert price.cost(400, month_before=800) == pytest.approx(0.6)  # 200 free, 200 paid
    assert price.cost(400, month_before=5000) == pytest.approx(1.2)
    assert EndpointPrice(1000).cost(5000, month_before=0) is None  # no price: no estimate


def test_days_and_months_are_beijing_time():
    assert beijing_day(datetime(2026, 1, 31, 17, 0, tzinfo=UTC)) == date(2026, 2, 1)
    assert month_of(date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))


def test_cost_lines_show_the_run_the_month_and_the_share_of_the_allowance():
    lines = cost_lines(
        {"general_basic": 12, "idcard": 0},  # idcard: called, every call failed (not billed)
        {"general_basic": 250, "idcard": 4},
        {"general_basic": 0.0, "idcard": None},
        {"general_basic": 0.0, "idcard": None},
        {"general_basic": EndpointPrice(1000, 3.0)},
    )
    assert lines["general_basic"]["free_allowance_used"] == 0.25
    assert lines["idcard"] == {
        "run_billable_calls": 0,
        "month_billable_calls": 4,
        "free_per_month": None,
        "free_allowance_used": None,
        "run_estimated_cost": None,
        "month_estimated_cost": None,
    }
    assert format_cost(lines["general_basic"]) == (
        "12 billable call(s) this run, 250 this month (25.0% of 1000 free); "
        "est. cost 0.00 this run, 0.00 this month"
    )
    assert "no price configured" in format_cost(lines["idcard"])


def test_cost_lines_list_only_the_endpoints_the_run_called():
    """Every run listed a cost line for each endpoint the month had used, called by this run or not."""
    lines = cost_lines(
        {"idcard": 10},
        {"idcard": 10, "general_basic": 250, "form_ocr_request": 6},
        {"idcard": 0.0},
        {"idcard": 0.0, "general_basic": 0.0, "form_ocr_request": 0.0},
        {},
    )
    assert list(lines) == ["idcard"]
