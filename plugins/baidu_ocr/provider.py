"""Provider metadata: registers the ``baidu_ocr`` connection type with Airflow."""

from __future__ import annotations

from baidu_ocr import __version__


def get_provider_info() -> dict:
    """Return what Airflow's ProvidersManager reads from the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-baidu-ocr",
        "name": "Baidu OCR",
        "description": "Baidu AI Cloud OCR (文字识别): hook, operators, triggers and warehouse loads.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Baidu OCR",
                "external-doc-url": "https://ai.baidu.com/ai-doc/OCR/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Baidu OCR", "python-modules": ["baidu_ocr.hooks"]}],
        "operators": [{"integration-name": "Baidu OCR", "python-modules": ["baidu_ocr.operators"]}],
        "triggers": [{"integration-name": "Baidu OCR", "python-modules": ["baidu_ocr.triggers"]}],
        "connection-types": [
            {
                "hook-class-name": "baidu_ocr.hooks.BaiduOcrHook",
                "hook-name": "Baidu OCR",
                "connection-type": "baidu_ocr",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "API Key", "password": "Secret Key", "host": "API base URL"},
                    "placeholders": {"host": "https://aip.baidubce.com"},
                },
                "conn-fields": {
                    "app_id": {"label": "App ID", "schema": {"type": ["string", "null"]}},
                    "qps": {
                        "label": "QPS",
                        "description": "Requests per second the account may send (free tier: 2).",
                        "schema": {"type": ["number", "null"], "default": 2, "minimum": 0.1},
                    },
                    "timeout": {
                        "label": "Timeout (s)",
                        "description": "Read timeout of one OCR call, in seconds.",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries of a rate-limited or transient call before it is recorded as failed.",
                        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 0},
                    },
                    "redis_url": {
                        "label": "Redis URL",
                        "description": "Optional: share the QPS limit and the access token across workers.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "verify": {
                        "label": "Verify TLS",
                        "description": "Verify the server's TLS certificate (a CA bundle path is accepted too).",
                        "schema": {"type": ["boolean", "string", "null"], "default": True},
                    },
                },
            }
        ],
    }
