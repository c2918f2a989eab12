"""BaiduOcrHook: call any Baidu OCR endpoint without thinking about tokens, QPS errors or image limits.

One hook owns one pooled ``requests.Session`` built by the http provider's ``HttpHook`` with the connection's
proxies, TLS verification, client certificate and headers (``client/transport.py``), a token from the shared
cache (``client/auth.py``) or the connection's IAM API key (sent as a Bearer header, no token), the
connection's QPS limiter (``client/ratelimit.py``) and a retry policy keyed on error classes
(``client/errors.py``). Nothing happens in ``__init__``: the connection is read on first use.

This module is the synchronous call path (prepare, post, ``ocr``, ``ocr_many``); the async-job calls are
mixed in from ``hooks/jobs.py``, and ``get_conn``/``test_connection`` from ``hooks/airflow_interface.py``.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from airflow.sdk import BaseHook
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from baidu_ocr.client.auth import ConnectionTokens, qps_key, request_auth
from baidu_ocr.client.connection import BaiduOcrSettings
from baidu_ocr.client.endpoints import Endpoint, resolve_endpoint
from baidu_ocr.client.errors import body_or_error
from baidu_ocr.client.forms import encode_form
from baidu_ocr.client.redact import install_url_redaction, mask_secret
from baidu_ocr.exceptions import (
    BaiduOcrError,
    ConfigError,
    TokenError,
    TransientError,
)
from baidu_ocr.hooks.airflow_interface import AirflowInterfaceMixin
from baidu_ocr.hooks.batch import BatchRunner
from baidu_ocr.hooks.jobs import AsyncJobMethods
from baidu_ocr.pipeline.budget import RunBudget
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.pipeline.stats import CallStats

if TYPE_CHECKING:
    from baidu_ocr.inputs.images import PreparedImage


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, BaiduOcrError) and exc.retryable


class BaiduOcrHook(AsyncJobMethods, AirflowInterfaceMixin, BaseHook):
    """Interact with Baidu AI Cloud OCR (文字识别).

    :param baidu_ocr_conn_id: connection of type ``baidu_ocr``: login = API Key, password = Secret Key
        (or no login and an IAM API key ``bce-v3/ALTAK-...`` as password or extra ``iam_api_key``),
        host = API base URL (default ``https://aip.baidubce.com``), extra: ``app_id``, ``qps``, ``timeout``,
        ``max_retries``, ``redis_url``, and the transport keys of every Airflow HTTP connection: ``verify``
        (TLS, default true, or a CA bundle path), ``proxies`` (``{"https": "http://proxy:3128"}``, or one
        URL), ``cert`` (client certificate: a PEM path, or ``[cert, key]``) and ``headers`` (a mapping).
    :param concurrency: calls in flight at once in :meth:`ocr_many` (default: enough to keep the QPS busy).
    """

    conn_name_attr = "baidu_ocr_conn_id"
    default_conn_name = "baidu_ocr_default"
    conn_type = "baidu_ocr"
    hook_name = "Baidu OCR"
    # Backoff between retries of rate-limited/transient calls; tests swap in tenacity.wait_none().
    retry_wait = wait_exponential_jitter(multiplier=0.25, max=10.0, jitter=0.5)

    def __init__(
        self, baidu_ocr_conn_id: str = default_conn_name, *, concurrency: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self._concurrency = concurrency
        self.stats = CallStats()

    # -- configuration (read once, lazily) ---------------------------------------------------------

    @cached_property
    def settings(self) -> BaiduOcrSettings:
        settings = BaiduOcrSettings.from_connection(self.get_connection(self.baidu_ocr_conn_id))
        # Whatever prints next (task log, urllib3, http.client debug, an error message) prints *** instead.
        install_url_redaction()
        for secret in settings.secrets:
            mask_secret(secret)
        return settings

    @property
    def concurrency(self) -> int:
        """Enough calls in flight to use the whole QPS budget at ~1 s latency, retries included."""
        return self._concurrency or min(32, max(4, math.ceil(self.settings.qps * 2)))

    @cached_property
    def session(self) -> requests.Session:
        """The connection's transport (proxies, TLS, client certificate, headers), pooled for the concurrency."""
        from baidu_ocr.client.transport import http_session  # the http provider imports aiohttp: on first use

        install_url_redaction()
        return http_session(self.settings, pool_size=self.concurrency + 2)

    @cached_property
    def limiter(self):
        from baidu_ocr.client.ratelimit import QpsLimiter

        key = qps_key(self.settings.base_url, self.settings.account)
        return QpsLimiter(self.settings.qps, key, self.settings.redis_url)

    @cached_property
    def _tokens(self) -> ConnectionTokens:
        return ConnectionTokens(
            self.settings, self.session, on_fetch=lambda: self.stats.count("token_fetches")
        )

    # -- tokens ------------------------------------------------------------------------------------

    def get_access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token: cached with its expiry; ``rejected`` is replaced (one fetch for all threads)."""
        if self.settings.uses_iam_key:
            raise ConfigError(
                "The connection authenticates with an IAM API key: there is no access token to fetch",
                conn_id=self.baidu_ocr_conn_id,
            )
        return self._tokens.get(rejected=rejected).value

    # -- single calls ------------------------------------------------------------------------------

    def _endpoint(self, name: str | Endpoint) -> Endpoint:
        return resolve_endpoint(name, self.baidu_ocr_conn_id)

    def _check_options(self, endpoint: str | Endpoint, options: dict[str, Any]) -> Endpoint:
        """Fail before any billable call when the endpoint needs an option the caller forgot."""
        ep = self._endpoint(endpoint)
        missing = sorted(ep.required_options - set(options))
        if missing:
            raise ConfigError(
                f"Endpoint {ep.name} needs option(s) {', '.join(missing)}",
                endpoint=ep.name,
                conn_id=self.baidu_ocr_conn_id,
            )
        return ep

    def prepare(
        self, image: Any, *, endpoint: str | Endpoint = "general_basic", **image_options: Any
    ) -> PreparedImage:
        """Validate and shrink an image (bytes, path or S3 object) to the endpoint's limits, before any billing."""
        from baidu_ocr.inputs.images import PreparedImage, prepare_image

        if isinstance(image, PreparedImage):
            return image
        ep = self._endpoint(endpoint)
        return prepare_image(image, limits=self._limits(ep), endpoint=ep.name, **image_options)

    def _limits(self, ep: Endpoint):
        from baidu_ocr.inputs.image_limits import ImageLimits

        limits = ImageLimits()
        if self.settings.image_limits:
            limits = ImageLimits.from_extra(self.settings.image_limits, base=limits, endpoint=ep.name)
        return limits

    def max_encoded_bytes(self, endpoint: str | Endpoint) -> int:
        """The endpoint's size limit on a base64 input (Baidu applies it to a whole PDF/OFD too)."""
        return self._limits(self._endpoint(endpoint)).max_encoded_bytes

    def post(self, endpoint: str | Endpoint, data: dict[str, Any]) -> dict:
        """POST form ``data`` to an endpoint with the token, QPS limit and retries; return the JSON body.

        Retries: token errors refresh the token once; rate-limited and transient errors back off
        exponentially with jitter up to ``max_retries``; everything else raises at once.
        """
        return self.post_counting_attempts(endpoint, data)[0]

    def post_counting_attempts(self, endpoint: str | Endpoint, data: dict[str, Any]) -> tuple[dict, int]:
        """:meth:`post`, also returning how many attempts it took (failures carry ``exc.attempts``)."""
        ep = self._endpoint(endpoint)
        form = encode_form(data)
        attempts = 0

        def before_sleep(state) -> None:
            self.stats.count("retries")
            exc = state.outcome.exception()
            self.log.warning(
                "Baidu OCR %s: attempt %d failed (%s), retrying", ep.name, state.attempt_number, exc
            )

        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            wait=self.retry_wait,
            stop=stop_after_attempt(self.settings.max_retries + 1),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    body = self._post_with_token_refresh(ep, form)
        except BaiduOcrError as exc:
            exc.attempts = attempts
            raise
        return body, attempts

    def _post_with_token_refresh(self, ep: Endpoint, form: bytes) -> dict:
        used: list[str] = []
        if self.settings.uses_iam_key:
            return self._post_once(ep, form, used)  # no token to refresh: a refused key fails at once
        try:
            return self._post_once(ep, form, used)
        except TokenError:
            self.stats.count("token_refreshes")
            self.get_access_token(rejected=used[-1])
            return self._post_once(ep, form, used)

    def _post_once(self, ep: Endpoint, form: bytes, used: list[str]) -> dict:
        """One HTTP call. The token is taken before the QPS wait, and again after it only when it fell due
        while we queued: a slot is a start time, and one spent fetching a token (or reading it from Redis)
        is sent late, next to the slots after it (error 18). With an IAM API key there is no token: the
        key goes in the ``Authorization`` header."""
        iam_key = self.settings.iam_api_key
        if iam_key:
            self.limiter.acquire(ep.name)
            token = None
        else:
            cached = self._tokens.get()
            self.limiter.acquire(ep.name)
            if cached.refresh_due(time.time()):
                cached = self._tokens.get()
            token = cached.value
            used.append(token)
        try:
            body = self._send(ep, form, iam_key, token)
        except BaiduOcrError:
            self.stats.count_call(ep.kind, ep.name, ok=False)  # not billed by Baidu
            raise
        self.stats.count_call(ep.kind, ep.name, ok=True)
        return body

    def _send(self, ep: Endpoint, form: bytes, iam_key: str | None, token: str | None) -> dict:
        """POST once and turn the answer into a body or a typed error (counted by error class)."""
        conn_id = self.baidu_ocr_conn_id
        params, headers = request_auth(iam_key, token)
        started = time.monotonic()
        try:
            response = self.session.post(
                self.settings.base_url + ep.path,
                params=params,
                data=form,
                headers=headers,
                timeout=self.settings.timeouts,
            )
        except requests.RequestException as exc:
            # Never str(exc): it carries the URL, and the URL carries the access token.
            self.stats.record_error("transient")
            raise TransientError(
                f"Request failed: {type(exc).__name__}", endpoint=ep.name, conn_id=conn_id
            ) from None
        finally:
            self.stats.record_latency(time.monotonic() - started, ep.name)
        try:
            body = response.json()
        except ValueError:
            body = None
        try:
            return body_or_error(
                response.status_code,
                body,
                endpoint=ep.name,
                conn_id=conn_id,
                secrets=(token, *self.settings.secrets),
                iam_key=bool(iam_key),
            )
        except BaiduOcrError as error:
            self.stats.record_error(error.error_class)
            raise

    def ocr(
        self,
        image: Any = None,
        *,
        endpoint: str = "general_basic",
        url: str | None = None,
        pdf_file: bytes | None = None,
        pdf_file_num: int | None = None,
        ofd_file: bytes | None = None,
        ofd_file_num: int | None = None,
        grayscale: bool = False,
        binarize: bool = False,
        **options: Any,
    ) -> dict:
        """Recognize one image (bytes, path, S3 object), ``url``, or ONE page of a PDF/OFD; return Baidu's JSON.

        One call, one answer: ``pdf_file`` + ``pdf_file_num`` (1-based, default 1) or ``ofd_file`` +
        ``ofd_file_num`` send that page (the answer's ``pdf_file_size`` / ``ofd_file_size`` is the page
        count). A PDF or OFD passed as ``image`` is sent the same way, page ``pdf_file_num`` (default 1).
        For every page of a document use :meth:`ocr_pages`.

        :raises BaiduOcrError: a typed subclass (BadImage, QuotaExhausted, ConfigError, ...) on failure.
        """
        ep = self._check_options(endpoint, options)
        data: dict[str, Any] = dict(options)
        if image is not None:
            from baidu_ocr.inputs.documents import FIELDS, document_kind, inspect_document
            from baidu_ocr.inputs.sources import read_image_source

            raw = image if isinstance(image, bytes | bytearray) else None
            if raw is None and not hasattr(image, "content_sha256"):
                raw = read_image_source(image)
            kind = document_kind(raw) if raw is not None else None
            if kind is not None:
                inspect_document(raw, max_encoded_bytes=self.max_encoded_bytes(ep), endpoint=ep.name)
                file_field, num_field, _ = FIELDS[kind]
                data[file_field] = base64.b64encode(raw).decode("ascii")
                data[num_field] = pdf_file_num or ofd_file_num or 1
            else:
                source = raw if raw is not None else image
                prepared = self.prepare(source, endpoint=ep, grayscale=grayscale, binarize=binarize)
                data["image"] = base64.b64encode(prepared.data).decode("ascii")
        elif url is not None:  # Baidu's priority: image > url > pdf_file > ofd_file
            data["url"] = url
        elif pdf_file is not None:
            from baidu_ocr.inputs.pdfs import check_pdf

            check_pdf(pdf_file, max_encoded_bytes=self.max_encoded_bytes(ep), endpoint=ep.name)
            data["pdf_file"] = base64.b64encode(pdf_file).decode("ascii")
            if pdf_file_num is not None:
                data["pdf_file_num"] = pdf_file_num
        elif ofd_file is not None:
            from baidu_ocr.inputs.documents import OFD, inspect_document

            inspect_document(
                ofd_file, max_encoded_bytes=self.max_encoded_bytes(ep), endpoint=ep.name, kind=OFD
            )
            data["ofd_file"] = base64.b64encode(ofd_file).decode("ascii")
            if ofd_file_num is not None:
                data["ofd_file_num"] = ofd_file_num
        else:
            raise ConfigError(
                "Pass one of image, url, pdf_file or ofd_file",
                endpoint=endpoint,
                conn_id=self.baidu_ocr_conn_id,
            )
        return self.post(ep, data)

    def ocr_pages(
        self,
        document: Any,
        *,
        endpoint: str = "general_basic",
        pages: str | None = None,
        key: str = "document",
        **options: Any,
    ) -> list[OcrOutcome]:
        """Every page (or ``pages``, e.g. ``"1-3,7"``) of a PDF or OFD (bytes, path or S3 object), in order.

        One :class:`OcrOutcome` per page (``page_no``, ``page_count``, ``result``); a page that fails is
        that page's outcome. A document refused before any call (broken, encrypted, too big) gives one
        failed outcome with ``page_no`` ``None``. An image gives its one outcome, as :meth:`ocr_many`.
        """
        outcomes = list(self.ocr_many([(key, document)], endpoint=endpoint, pages=pages, **options))
        return sorted(outcomes, key=lambda o: o.page_no or 0)

    # -- batches -----------------------------------------------------------------------------------

    def ocr_many(
        self,
        items: Iterable[tuple[str, Any]],
        *,
        endpoint: str = "general_basic",
        concurrency: int | None = None,
        total: int | None = None,
        grayscale: bool = False,
        binarize: bool = False,
        pages: str | Mapping[str, str] | None = None,
        done_pages: Mapping[str, Iterable[int]] | Callable[[str], Iterable[int]] | None = None,
        max_billable_calls: int | None = None,
        budget: RunBudget | None = None,
        **options: Any,
    ) -> Iterator[OcrOutcome]:
        """OCR ``(key, image)`` pairs concurrently within the QPS limit; yield one outcome per item.

        Per-image failures (bad image, retries exhausted) are outcomes, never exceptions. Errors that would
        fail every image (quota exhausted, permission, wrong keys) stop the batch at once: in-flight images
        finish and are yielded, then the error is raised, so a caller can stage what succeeded first.
        Items are read lazily with a bounded window, so a generator of S3 keys is never loaded whole.

        A PDF or OFD item yields one outcome per page (``batch.py``): ``pages`` (one spec such as
        ``"1-3,7"`` for all, or one per item key) limits what is paid for, and ``done_pages`` (per content
        hash, e.g. from the warehouse) lists pages never to send again. Neither is sent to Baidu.

        ``max_billable_calls`` caps the successful (billed) calls: once reached, the batch stops as on a
        quota error (``BudgetExhausted``): what finished is yielded, the rest is never sent. An operator
        passes its run's ``budget`` instead (the cap less what the run already spent).
        """
        ep = self._check_options(endpoint, options)  # unknown endpoint, missing option: fail before any image
        for spec in pages.values() if isinstance(pages, Mapping) else [pages]:
            _check_page_spec(spec, ep.name, self.baidu_ocr_conn_id)  # a typo fails before any call
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        runner = BatchRunner(
            self,
            ep,
            options,
            {"grayscale": grayscale, "binarize": binarize},
            pages=pages,
            done_pages=done_pages,
            budget=budget or RunBudget(max_billable_calls, endpoint=ep.name),
        )
        try:
            yield from runner.run(items, workers=concurrency or self.concurrency, total=total)
        finally:
            self.close_idle_connections()

    def close_idle_connections(self) -> None:
        """Close the pooled keep-alive connections (the hook stays usable: a later call opens new ones).

        A process that runs many tasks (``dag.test``, a triggerer) would otherwise keep every finished
        batch's connections open until the server drops them.
        """
        if "session" in self.__dict__:
            self.session.close()


def _check_page_spec(spec: str | None, endpoint: str, conn_id: str) -> None:
    from baidu_ocr.inputs.documents import parse_pages

    try:
        parse_pages(spec, 10**6)
    except ConfigError as exc:
        raise ConfigError(str(exc.args[0]), endpoint=endpoint, conn_id=conn_id) from None


def reset_process_caches() -> None:
    """Forget this process's access tokens and QPS history, e.g. between tests or benchmark runs that
    restart a server on a port an earlier one used."""
    from baidu_ocr.client import auth, ratelimit

    auth.token_cache_for(None).clear()
    ratelimit.reset_local_windows()
