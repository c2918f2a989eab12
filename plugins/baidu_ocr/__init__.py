"""Apache Airflow provider for Baidu AI Cloud OCR (文字识别).

Importing this package does no I/O: the DAG processor imports it constantly. The version is read from the
installed distribution's metadata, whose only source is ``pyproject.toml``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from baidu_ocr import moved_modules

try:
    __version__ = version("airflow-provider-baidu-ocr")
except PackageNotFoundError:  # a checkout on sys.path without an install
    __version__ = "0.0.0+unknown"

moved_modules.install()
