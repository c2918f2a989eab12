"""The endpoint registry against the official SDK: no URL missing, no method mapped to the wrong path."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest
from baidu_ocr.client.endpoints import (
    ASYNC_RESULT,
    ASYNC_SUBMIT,
    BEYOND_SDK,
    ENDPOINTS,
    SDK_ENDPOINTS,
    SYNC,
    get_endpoint,
)

aip_ocr = pytest.importorskip("aip.ocr")
AipOcr = aip_ocr.AipOcr

BAIDU_HOST = "https://aip.baidubce.com"
MANGLED = "_AipOcr__"
INPUT_FIELDS = {"image", "url", "pdf_file", "ofd_file", "request_id", "task_id"}


def sdk_urls() -> dict[str, str]:
    """``{attribute without the mangling prefix: path}`` for every URL the SDK's OCR class declares."""
    return {
        name.removeprefix(MANGLED): value.removeprefix(BAIDU_HOST)
        for name, value in vars(AipOcr).items()
        if name.startswith(MANGLED) and isinstance(value, str) and value.startswith(BAIDU_HOST)
    }


def _code_lines(func) -> str:
    """Method source without comments and docstrings (vat_invoice_verification comments its image out)."""
    source = inspect.getsource(func)
    source = re.sub(r'"""[\s\S]*?"""', "", source)
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def sdk_method_calls() -> dict[str, tuple[str, set[str]]]:
    """``{method: (url attribute it posts to, form fields it sets)}`` read from each method's source."""
    urls = sdk_urls()
    calls = {}
    for name, func in vars(AipOcr).items():
        if not inspect.isfunction(func) or name.startswith("_"):
            continue
        code = _code_lines(func)
        used = {attr for attr in re.findall(r"self\.__(\w+)", code) if attr in urls}
        if not used:
            continue  # composite helpers such as tableRecognition call other methods
        assert len(used) == 1, f"{name} posts to several URLs: {used}"
        calls[name] = (used.pop(), set(re.findall(r"data\['(\w+)'\]", code)))
    return calls


def test_sdk_urls_include_the_unsuffixed_ones():
    urls = sdk_urls()
    assert sum(attr.endswith("Url") for attr in urls) == 79
    assert len(urls) == 84  # plus webimageLoc, docAnalysis, meter, marriage_certificate, hk_macau_taiwan...


def test_every_sdk_url_is_registered_and_nothing_else():
    sdk_paths = set(sdk_urls().values())
    registry_paths = {ep.path for ep in SDK_ENDPOINTS.values()}
    assert sdk_paths - registry_paths == set(), "SDK URLs missing from the registry"
    assert registry_paths - sdk_paths == set(), "registry paths the SDK does not know"
    assert len({ep.path for ep in ENDPOINTS.values()}) == len(ENDPOINTS), "two registry names share a path"
    # What Baidu documents beyond the SDK is kept apart, and the SDK must not have caught up with it.
    assert {ep.path for ep in BEYOND_SDK} & sdk_paths == set()
    assert all(not ep.sdk_methods for ep in BEYOND_SDK)


def test_every_sdk_method_maps_to_the_endpoint_of_its_url():
    urls = sdk_urls()
    calls = sdk_method_calls()
    assert len(calls) > 150
    registered = {m: ep for ep in ENDPOINTS.values() for m in ep.sdk_methods}
    for method, (attr, _fields) in calls.items():
        assert method in registered, f"SDK method {method} missing from the registry"
        assert registered[method].path == urls[attr], method
        assert get_endpoint(method).path == urls[attr], method
    assert set(registered) == set(calls), "registry lists methods the SDK does not have"


def test_inputs_and_required_options_match_what_the_sdk_sends():
    calls = sdk_method_calls()
    for ep in SDK_ENDPOINTS.values():
        sent = set().union(*(calls[m][1] for m in ep.sdk_methods))
        sdk_inputs = sent & INPUT_FIELDS
        # The SDK knows no ofd_file; the registry adds it where Baidu documents it.
        assert sdk_inputs == ep.inputs - {"ofd_file"}, ep.name
        # Positional form fields the SDK demands besides the input are required options.
        assert sent - INPUT_FIELDS <= ep.required_options, ep.name


@pytest.mark.parametrize(
    ("name", "path", "kind"),
    [
        ("general_basic", "/rest/2.0/ocr/v1/general_basic", SYNC),
        ("form_ocr_request", "/rest/2.0/solution/v1/form_ocr/request", ASYNC_SUBMIT),
        ("form_ocr_get_request_result", "/rest/2.0/solution/v1/form_ocr/get_request_result", ASYNC_RESULT),
        ("doc_convert_request", "/rest/2.0/ocr/v1/doc_convert/request", ASYNC_SUBMIT),
        ("doc_convert_get_request_result", "/rest/2.0/ocr/v1/doc_convert/get_request_result", ASYNC_RESULT),
        ("iocr_recognise", "/rest/2.0/solution/v1/iocr/recognise", SYNC),
        ("iocr_recognise_finance", "/rest/2.0/solution/v1/iocr/recognise/finance", SYNC),
        ("parser_task", "/rest/2.0/brain/online/v2/parser/task", ASYNC_SUBMIT),
        ("parser_task_query", "/rest/2.0/brain/online/v2/parser/task/query", ASYNC_RESULT),
    ],
)
def test_named_endpoints(name, path, kind):
    ep = ENDPOINTS[name]
    assert (ep.path, ep.kind) == (path, kind)


def test_async_kinds_are_exactly_the_submit_and_result_pairs():
    by_kind = {
        k: sorted(ep.name for ep in ENDPOINTS.values() if ep.kind == k) for k in (ASYNC_SUBMIT, ASYNC_RESULT)
    }
    assert by_kind == {
        ASYNC_SUBMIT: ["doc_convert_request", "form_ocr_request", "parser_task"],
        ASYNC_RESULT: ["doc_convert_get_request_result", "form_ocr_get_request_result", "parser_task_query"],
    }
    assert ENDPOINTS["form_ocr_get_request_result"].inputs == {"request_id"}


@pytest.mark.parametrize(
    "spelling",
    [
        "idcard",
        "IDCARD",
        "/rest/2.0/ocr/v1/idcard",
        "ocr/v1/idcard",
        "https://aip.baidubce.com/rest/2.0/ocr/v1/idcard",
        "http://127.0.0.1:8080/rest/2.0/ocr/v1/idcard?access_token=24.secret",
        "idcardUrl",
    ],
)
def test_get_endpoint_accepts_names_paths_urls_and_methods(spelling):
    assert get_endpoint(spelling).name == "idcard"


def test_aliases_and_name_precedence():
    assert get_endpoint("table_async").name == "form_ocr_request"
    assert get_endpoint("basicGeneral").name == "general_basic"
    assert get_endpoint("tableRecognitionAsync").name == "form_ocr_request"
    # "general" is both a name and an SDK method of the same endpoint; "accurate" likewise.
    assert get_endpoint("general").path.endswith("/ocr/v1/general")
    assert get_endpoint("HKMacauExitentrypermit").path == "/rest/2.0/ocr/v1/HK_Macau_exitentrypermit"


def test_unknown_endpoint_suggests_close_names():
    with pytest.raises(KeyError) as info:
        get_endpoint("genral_basic")
    message = info.value.args[0]
    assert "'general_basic'" in message
    assert "genral_basic" in message


def test_unknown_url_never_echoes_the_query_string():
    with pytest.raises(KeyError) as info:
        get_endpoint("https://aip.baidubce.com/rest/2.0/ocr/v1/nope?access_token=24.topsecret")
    assert "topsecret" not in info.value.args[0]


def test_required_options_and_inputs():
    assert ENDPOINTS["idcard"].required_options == {"id_card_side"}
    assert ENDPOINTS["vat_invoice_verification"].inputs == frozenset()
    assert not ENDPOINTS["vat_invoice_verification"].takes_image


def test_registry_imports_without_the_sdk():
    # The hook and the local server use the registry where the SDK may be missing or broken.
    code = (
        "import sys; sys.modules['aip'] = None\n"
        "from baidu_ocr.client.endpoints import ENDPOINTS, get_endpoint\n"
        "assert get_endpoint('basicAccurate').name == 'accurate_basic'\n"
        "assert 'aip.ocr' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
