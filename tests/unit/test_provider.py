"""The installed package registers the ``baidu_ocr`` connection type with Airflow's ProvidersManager."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def providers_manager():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_connection_type_is_registered():
    # Tasks resolve hooks through the task SDK's runtime manager (ProvidersManager.hooks is deprecated).
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook_info = ProvidersManagerTaskRuntime().hooks["baidu_ocr"]
    assert hook_info.hook_class_name == "baidu_ocr.hooks.BaiduOcrHook"
    assert hook_info.hook_name == "Baidu OCR"
    assert hook_info.connection_id_attribute_name == "baidu_ocr_conn_id"


def test_connection_form_fields(providers_manager):
    widgets = {
        k.removeprefix("extra__baidu_ocr__")
        for k in providers_manager.connection_form_widgets
        if "baidu_ocr" in k
    }
    assert {"app_id", "qps", "timeout", "max_retries", "redis_url"} <= widgets
    behaviour = providers_manager.field_behaviours["baidu_ocr"]
    assert behaviour["relabeling"] == {"login": "API Key", "password": "Secret Key", "host": "API base URL"}


def test_provider_info_matches_the_hook():
    from baidu_ocr.hooks import BaiduOcrHook
    from baidu_ocr.provider import get_provider_info

    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == BaiduOcrHook.conn_type
    assert conn_type["hook-name"] == BaiduOcrHook.hook_name
