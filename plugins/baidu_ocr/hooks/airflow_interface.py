"""What Airflow itself calls on the hook: ``get_conn`` (the official SDK's client) and ``test_connection``.

A mixin of :class:`~baidu_ocr.hooks.ocr.BaiduOcrHook`, kept apart from its call path: neither method is
used by the hook's own calls; both read the hook's ``settings`` and token cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baidu_ocr.exceptions import AuthenticationFailed, BadImage, BaiduOcrError, ConfigError

if TYPE_CHECKING:
    from aip import AipOcr


class AirflowInterfaceMixin:
    """``get_conn`` and ``test_connection`` of the Baidu OCR hook."""

    def get_conn(self) -> AipOcr:
        """The official SDK's ``AipOcr``, configured from the connection and sent to its host.

        Unlike the stock SDK it verifies TLS (the connection's ``verify``: on, or a CA bundle), sends through
        the connection's transport (proxies, client certificate, headers) and its request logs are redacted
        (``sdk.py``). The hook's own calls do not use it: the SDK only refreshes
        its token on 110 and has no QPS limit or retries.
        """
        from baidu_ocr.client.sdk import make_sdk_client

        s = self.settings
        if not (s.api_key and s.secret_key):
            raise ConfigError(
                "The official SDK needs the API Key (login) and Secret Key (password); this connection has "
                "only an IAM API key, which the SDK cannot send",
                conn_id=self.baidu_ocr_conn_id,
            )
        from baidu_ocr.client.transport import http_session

        return make_sdk_client(
            s.app_id,
            s.api_key,
            s.secret_key,
            host=s.base_url,
            timeout_s=s.timeout,
            verify=s.verify,
            session=http_session(s),
        )

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a fresh token: proves the host is reachable and the keys are right, at no OCR cost.

        With an IAM API key there is no token: one OCR call without an image is sent instead. Baidu checks
        the key first and then refuses the call for its missing image, which is not billed.
        """
        if self.settings.uses_iam_key:
            return self._test_iam_key()
        try:
            token = self._tokens.fetch()
        except BaiduOcrError as exc:
            return False, str(exc)
        days = token.lifetime / 86400
        return (
            True,
            f"Connected to Baidu OCR at {self.settings.base_url}: access token valid for {days:.1f} days",
        )

    def _test_iam_key(self) -> tuple[bool, str]:
        try:
            self._post_once(self._endpoint("general_basic"), {}, [])
        except AuthenticationFailed as exc:
            return False, str(exc)
        except BadImage:
            pass  # the key passed; the call was refused for its (missing) image, as intended
        except BaiduOcrError as exc:
            return False, str(exc)
        return True, f"Connected to Baidu OCR at {self.settings.base_url} with the IAM API key"
