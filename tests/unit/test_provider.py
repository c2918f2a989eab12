"""The installed package registers the ``baidu_ocr`` connection type with Airflow's ProvidersManager."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def providers_manager():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_connection_type_is_registered():
    # Tasks resolve hooks through the task SDK's runtime manager (ProvidersManager.hooks is deprecated).
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook_info = ProvidersManagerTaskRuntime().hooks["baidu_ocr"]
    assert hook_info.hook_class_name == "baidu_ocr.hooks.ocr.BaiduOcrHook"
    assert hook_info.hook_name == "Baidu OCR"
    assert hook_info.connection_id_attribute_name == "baidu_ocr_conn_id"


def test_connection_form_fields(providers_manager):
    widgets = {
        k.removeprefix("extra__baidu_ocr__")
        for k in providers_manager.connection_form_widgets
        if "baidu_ocr" in k
    }
    assert {"qps", "timeout", "max_retries", "verify", "image_limits"} <= widgets
    behaviour = providers_manager.field_behaviours["baidu_ocr"]
    assert behaviour["relabeling"] == {"login": "API Key", "password": "Secret Key", "host": "API base URL"}


def test_provider_info_matches_the_hooks():
    from importlib import import_module

    from baidu_ocr.provider import get_provider_info

    conn_types = get_provider_info()["connection-types"]
    assert [c["connection-type"] for c in conn_types] == ["baidu_ocr", "baidu_ocr_pii"]
    for conn_type in conn_types:
        module, _, name = conn_type["hook-class-name"].rpartition(".")
        hook = getattr(import_module(module), name)
        assert conn_type["connection-type"] == hook.conn_type
        assert conn_type["hook-name"] == hook.hook_name


def _extra_fields(providers_manager) -> dict[str, dict]:
    return {
        k.removeprefix("extra__baidu_ocr__"): w.field
        for k, w in providers_manager.connection_form_widgets.items()
        if k.startswith("extra__baidu_ocr__")
    }


def test_every_form_field_has_a_label_a_description_and_a_non_null_default(providers_manager):
    fields = _extra_fields(providers_manager)
    # Optional keys without a value (redis_url, app_id) are not form fields: the form would save them as null.
    assert set(fields) == {"qps", "timeout", "max_retries", "verify", "image_limits", "pricing"}
    for name, field in fields.items():
        assert field["schema"].get("title"), name
        assert field["description"], name
        # The form saves every field's value into the extra: no default would mean a null saved there.
        assert field["value"] is not None, name
        assert "null" not in field["schema"]["type"], name


def test_verify_is_a_checkbox_and_image_limits_a_json_field(providers_manager):
    fields = _extra_fields(providers_manager)
    assert fields["verify"]["schema"]["type"] == "boolean"
    assert fields["verify"]["value"] is True
    assert fields["image_limits"]["schema"]["type"] == "object"
    assert fields["image_limits"]["value"] == {}


def test_api_key_and_secret_key_have_placeholders(providers_manager):
    placeholders = providers_manager.field_behaviours["baidu_ocr"]["placeholders"]
    assert "API Key" in placeholders["login"]
    assert "Secret Key" in placeholders["password"]


def test_what_the_form_saves_reads_back_as_the_defaults():
    """The form's defaults (empty strings for optional text, {} for limits) mean "not set" to the hook."""
    from airflow.models import Connection
    from baidu_ocr.client.connection import BaiduOcrSettings
    from baidu_ocr.provider import CONN_FIELDS

    extra = {name: spec["schema"]["default"] for name, spec in CONN_FIELDS.items()}
    conn = Connection(conn_id="c", conn_type="baidu_ocr", login="k", password="s", extra=extra)
    settings = BaiduOcrSettings.from_connection(conn)
    assert (settings.redis_url, settings.app_id, settings.image_limits) == (None, "", {})
    assert None not in extra.values()
    assert (settings.verify, settings.qps, settings.max_retries) == (True, 2.0, 5)


def test_a_null_in_the_extra_means_the_default_not_false():
    from airflow.models import Connection
    from baidu_ocr.client.connection import BaiduOcrSettings

    extra = {"verify": None, "max_retries": None, "image_limits": None, "qps": None}
    conn = Connection(conn_id="c", conn_type="baidu_ocr", login="k", password="s", extra=extra)
    settings = BaiduOcrSettings.from_connection(conn)
    assert (settings.verify, settings.max_retries, settings.image_limits) == (True, 5, {})


def test_pricing_is_a_json_field_whose_hint_shows_the_shape_the_hook_reads(providers_manager):
    from baidu_ocr.pipeline.usage import pricing_from_extra

    pricing = _extra_fields(providers_manager)["pricing"]
    assert (pricing["schema"]["type"], pricing["value"], pricing["schema"]["title"]) == (
        "object",
        {},
        "Pricing",
    )
    example = pricing["description"].split("e.g. ", 1)[1].rsplit("}", 1)[0] + "}"
    assert pricing_from_extra(json.loads(example))["general_basic"].price_per_1000 == 3.0


def test_the_pii_connection_form_hides_what_it_does_not_use_and_its_aes_key_is_a_password(providers_manager):
    behaviour = providers_manager.field_behaviours["baidu_ocr_pii"]
    assert set(behaviour["hidden_fields"]) == {"host", "schema", "login", "port"}
    assert behaviour["relabeling"] == {"password": "HMAC key"}
    (key,) = [
        w
        for k, w in providers_manager.connection_form_widgets.items()
        if k.startswith("extra__baidu_ocr_pii__")
    ]
    assert key.field_name == "encryption_key" and key.is_sensitive
    assert key.field["description"] and key.field["value"] == ""


def test_extra_with_form_defaults_fills_every_missing_field_and_keeps_given_values():
    from baidu_ocr.provider import CONN_FIELDS, extra_with_form_defaults

    extra = extra_with_form_defaults(CONN_FIELDS, {"qps": 4, "redis_url": "redis://r:6379/0"})
    assert set(CONN_FIELDS) | {"redis_url"} == set(extra)
    assert (extra["qps"], extra["redis_url"], extra["verify"], extra["max_retries"]) == (
        4,
        "redis://r:6379/0",
        True,
        5,
    )
