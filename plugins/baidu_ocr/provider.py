"""Provider metadata: registers the ``baidu_ocr`` and ``baidu_ocr_pii`` connection types with Airflow."""

from __future__ import annotations

from baidu_ocr import __version__

# The Add/Edit Connection form's extra fields (Airflow 3 renders each JSON schema as a form field, and saves
# every field's value into the extra). Only settings that always have a value are fields, each with a default:
# the form saves an optional field left empty as null (a field whose type excludes null is required). The
# optional keys ``redis_url``, ``app_id`` and ``iam_api_key`` (an alternative to the password) go in the form's "Extra Fields JSON" editor when needed.
CONN_FIELDS: dict[str, dict] = {
    "qps": {
        "label": "QPS",
        "description": "Requests per second your Baidu account may send (free tier: 2). To share it (and the "
        'access token) across workers, add "redis_url": "redis://host:6379/0" under Extra Fields JSON.',
        "schema": {"type": "number", "default": 2, "minimum": 0.1},
    },
    "timeout": {
        "label": "Timeout (s)",
        "description": "Read timeout of one OCR call, in seconds.",
        "schema": {"type": "number", "default": 30, "minimum": 1},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a rate-limited or transient call before the image is recorded as failed.",
        "schema": {"type": "integer", "default": 5, "minimum": 0},
    },
    "verify": {
        "label": "Verify TLS",
        "description": "Verify the server's TLS certificate. Leave it on for Baidu's cloud.",
        "schema": {"type": "boolean", "default": True},
    },
    "image_limits": {
        "label": "Image limits",
        "description": "Optional JSON raising Baidu's image limits where an endpoint allows more, e.g. "
        '{"endpoints": {"accurate": {"max_side": 8192, "max_encoded_mb": 10}}}. Empty: Baidu\'s documented limits.',
        "schema": {"type": "object", "default": {}},
    },
    "pricing": {
        "label": "Pricing",
        "description": "Optional JSON of your account's prices per endpoint, for the cost lines of the run "
        'summaries and ocr_usage, e.g. {"general_basic": {"free_per_month": 1000, "price_per_1000": 3.0}}. '
        "Empty: calls are counted, no cost is estimated.",
        "schema": {"type": "object", "default": {}},
    },
}

# The ``baidu_ocr_pii`` connection's one extra field (password = HMAC key). Format "password": the form hides
# it; the REST API masks it only when "encryption_key" is in [core] sensitive_var_conn_names.
PII_CONN_FIELDS: dict[str, dict] = {
    "encryption_key": {
        "label": "Encryption key",
        "description": "Optional base64 of a 16, 24 or 32-byte AES key: with it, the warehouse also keeps each ID "
        "number encrypted (id_number_encrypted) for whoever holds the key. Empty: masked and HMAC only.",
        # "null" in the type: the form does not require it (left empty, it saves "" or null: no key).
        "schema": {"type": ["string", "null"], "default": "", "format": "password"},
    },
}


def extra_with_form_defaults(conn_fields: dict[str, dict], extra: dict | None = None) -> dict:
    """``extra`` completed with the default of every form field it lacks.

    Airflow 3.3's Edit Connection form shows a conn-field only when the stored extra holds its key (the Add
    form shows them all), so a connection created by the CLI, the REST API or an import needs every key to
    be editable field by field. A connection saved from the Add form already has them.
    """
    defaults = {
        name: spec["schema"]["default"] for name, spec in conn_fields.items() if "default" in spec["schema"]
    }
    return {**defaults, **(extra or {})}


def get_provider_info() -> dict:
    """Return what Airflow's ProvidersManager reads from the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-baidu-ocr",
        "name": "Baidu OCR",
        "description": "Baidu AI Cloud OCR (文字识别): hook, operators (batch OCR, async tables, async "
        "document parser), triggers and warehouse loads.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Baidu OCR",
                "external-doc-url": "https://ai.baidu.com/ai-doc/OCR/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Baidu OCR",
                "python-modules": ["baidu_ocr.hooks.ocr", "baidu_ocr.hooks.pii"],
            }
        ],
        "operators": [{"integration-name": "Baidu OCR", "python-modules": ["baidu_ocr.operators"]}],
        "triggers": [{"integration-name": "Baidu OCR", "python-modules": ["baidu_ocr.triggers.jobs"]}],
        "connection-types": [
            {
                "hook-class-name": "baidu_ocr.hooks.ocr.BaiduOcrHook",
                "hook-name": "Baidu OCR",
                "connection-type": "baidu_ocr",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "API Key", "password": "Secret Key", "host": "API base URL"},
                    "placeholders": {
                        "login": "API Key of your OCR application (24 characters); empty with an IAM API key",
                        "password": "Secret Key of the same application (32 characters), or an IAM API key "
                        "bce-v3/ALTAK-... (sent as a Bearer header; no access token)",
                        "host": "https://aip.baidubce.com",
                    },
                },
                "conn-fields": CONN_FIELDS,
            },
            {
                "hook-class-name": "baidu_ocr.hooks.pii.BaiduOcrPiiHook",
                "hook-name": "Baidu OCR PII keys",
                "connection-type": "baidu_ocr_pii",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "port"],
                    "relabeling": {"password": "HMAC key"},
                    "placeholders": {
                        "password": "Key of the HMAC stored with every ID number (32 random bytes as text, "
                        "e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(32))')",
                    },
                },
                "conn-fields": PII_CONN_FIELDS,
            },
        ],
    }
