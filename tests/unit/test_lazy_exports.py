"""A package's lazy ``__getattr__``: imports the named module on first read only, and refuses other names."""

from __future__ import annotations

import sys

import pytest
from baidu_ocr.lazy_exports import lazy_exports


def test_an_export_is_imported_when_first_read(tmp_path, monkeypatch):
    (tmp_path / "lazy_exports_target.py").write_text("VALUE = 42\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_exports_target", raising=False)
    getattr_ = lazy_exports("some.package", {"VALUE": "lazy_exports_target"})

    assert "lazy_exports_target" not in sys.modules
    assert getattr_("VALUE") == 42
    assert "lazy_exports_target" in sys.modules


def test_another_name_is_an_attribute_error_naming_the_package():
    getattr_ = lazy_exports("some.package", {"VALUE": "lazy_exports_target"})

    with pytest.raises(AttributeError, match="module 'some.package' has no attribute 'OTHER'"):
        getattr_("OTHER")


def test_the_packages_export_their_classes_from_their_homes():
    from baidu_ocr.hooks import BaiduOcrHook
    from baidu_ocr.normalize import PiiPolicy
    from baidu_ocr.warehouse import WarehouseLoader

    assert BaiduOcrHook.__module__ == "baidu_ocr.hooks.ocr"
    assert PiiPolicy.__module__ == "baidu_ocr.pii.policy"
    assert WarehouseLoader.__module__ == "baidu_ocr.warehouse.loader"
