"""The hook's async-job calls: submit and poll table jobs and parser tasks, and download their result files.

A mixin of :class:`~baidu_ocr.hooks.ocr.BaiduOcrHook`, kept apart from its synchronous call path: each
method is one or two calls through the hook's ``ocr``/``post`` and its session. Waiting for the jobs is
``client/async_jobs.py`` (worker) or the triggers (triggerer).
"""

from __future__ import annotations

from typing import Any

from baidu_ocr.client.table_jobs import RESULT_ENDPOINT, table_job_request, table_job_result
from baidu_ocr.exceptions import TransientError


class AsyncJobMethods:
    """Table jobs (``form_ocr``) and document parser tasks (``parser/task``) through the hook's calls."""

    # -- async table recognition -------------------------------------------------------------------

    def submit_table_job(self, image: Any, **options: Any) -> str:
        """Submit an image to ``form_ocr/request`` (async table recognition); return its request id."""
        body = self.ocr(image, endpoint="form_ocr_request", **options)
        try:
            return str(body["result"][0]["request_id"])
        except (KeyError, IndexError, TypeError):
            raise TransientError(
                "form_ocr/request answered without a request_id",
                endpoint="form_ocr_request",
                conn_id=self.baidu_ocr_conn_id,
            ) from None

    def get_table_job_result(self, request_id: str, *, result_type: str = "json") -> dict:
        """Poll ``form_ocr/get_request_result``; return its ``result`` (``ret_code`` 3 means done)."""
        body = self.post(RESULT_ENDPOINT, table_job_request(request_id, result_type))
        return table_job_result(body, self.baidu_ocr_conn_id)

    # -- async document parser ---------------------------------------------------------------------

    def submit_parser_task(self, document: bytes, *, file_name: str, **options: Any) -> str:
        """Submit a document (bytes) to the async parser (``parser/task``); return its task id.

        ``file_name``'s suffix tells Baidu the format (``scan.pdf``); options such as ``recognize_formula``
        or ``return_doc_chunks`` (a dict) go as Baidu documents them.
        """
        from baidu_ocr.client.parser_tasks import SUBMIT_ENDPOINT, parser_submit_form, parser_task_id

        body = self.post(SUBMIT_ENDPOINT, parser_submit_form(document, file_name, options))
        return parser_task_id(body, self.baidu_ocr_conn_id)

    def get_parser_task(self, task_id: str) -> dict:
        """Query ``parser/task/query``; return its ``result`` (``status``, ``markdown_url``, ...)."""
        from baidu_ocr.client.parser_tasks import QUERY_ENDPOINT, parser_task_result

        body = self.post(QUERY_ENDPOINT, {"task_id": task_id})
        return parser_task_result(body, self.baidu_ocr_conn_id)

    def download(self, url: str) -> bytes:
        """Fetch a result file (a table job's Excel, a parser task's Markdown) with the hook's session and TLS.

        Only from the connection's host or Baidu's, no redirect, at most 50 MB (``downloads.py``).
        """
        from baidu_ocr.client.downloads import fetch_result_file

        return fetch_result_file(
            self.session,
            url,
            base_url=self.settings.base_url,
            timeout=self.settings.timeouts,
            conn_id=self.baidu_ocr_conn_id,
        )
