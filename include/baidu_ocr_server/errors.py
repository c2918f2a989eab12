"""Refusals as Baidu words them: error codes with their messages, and the token endpoint's OAuth errors.

Raised by the models, the image and document checks and the parser; rendered to JSON in one place
(``responses.render_error``), so the HTTP layer never formats an error message itself.
"""

from __future__ import annotations

# Baidu's own messages, as its error-code table words them.
ERROR_MESSAGES: dict[int, str] = {
    1: "Unknown error",
    2: "Service temporarily unavailable",
    3: "Unsupported openapi method",
    4: "Open api request limit reached",
    6: "No permission to access data",
    13: "Get service token failed",
    14: "IAM Certification failed",
    15: "app not exists or create failed",
    17: "Open api daily request limit reached",
    18: "Open api qps request limit reached",
    19: "Open api total request limit reached",
    100: "Invalid parameter",
    110: "Access token invalid or no longer valid",
    111: "Access token expired",
    216100: "invalid param",
    216101: "not enough param",
    216102: "service not support",
    216103: "param too long",
    216110: "appid not exist",
    216200: "empty image",
    216201: "image format error",
    216202: "image size error",
    216630: "recognize error",
    216631: "recognize bank card error",
    216633: "recognize idcard error",
    216634: "detect error",
    282000: "internal error",
    282003: "missing parameters",
    282005: "batch processing error",
    282006: "batch task limit reached",
    282103: "target recognize error",
    282110: "urls not exit",
    282111: "url format illegal",
    282112: "url download timeout",
    282113: "url response invalid",
    282114: "url size error",
    282808: "request id not exist",
    282809: "result type error",
    282810: "image recognize error",
}


class BaiduError(Exception):
    """A refusal Baidu sends as ``{"error_code", "error_msg"}`` inside HTTP 200."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Unknown error")
        super().__init__(f"{code}: {self.message}")


class OAuthError(Exception):
    """A refusal of the token endpoint: ``{"error", "error_description"}`` with an HTTP 4xx status."""

    def __init__(self, error: str, description: str, status: int = 401) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(f"{error}: {description}")
