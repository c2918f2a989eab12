"""The OCR endpoints this server implements, and how each one reads its input and shapes its answer.

Any other path under Baidu's OCR prefixes (every other method of ``aip.AipOcr``) answers a well-formed
216102 "service not support" after the token check, rather than inventing a response we cannot back
with ground truth; any path outside them answers 3 "Unsupported openapi method", as Baidu's gateway does.
"""

from __future__ import annotations

from dataclasses import dataclass

from baidu_ocr_server.images import DEFAULT_LIMITS, ImageLimits
from baidu_ocr_server.parser import FILE_LIMITS
from baidu_ocr_server.wire import SMALL_BODY_BYTES

OCR_PREFIX = "/rest/2.0/ocr/v1/"
SOLUTION_PREFIX = "/rest/2.0/solution/v1/"
BRAIN_PREFIX = "/rest/2.0/brain/online/v2/"  # the async document parser


@dataclass(frozen=True)
class EndpointSpec:
    name: str  # also the key of the per-endpoint counters and QPS window
    family: str  # lines | idcard | invoice | invoice_verification | table | form | table_request | table_result | parser_submit | parser_query
    location: bool = False  # lines carry ``location`` (and may carry ``chars``/``vertexes_location``)
    accepts_url: bool = True
    accepts_pdf: bool = False
    billable: bool = True
    limits: ImageLimits = DEFAULT_LIMITS
    prefix: str = OCR_PREFIX

    @property
    def path(self) -> str:
        return self.prefix + self.name

    @property
    def max_body_bytes(self) -> int:
        """The largest form this endpoint reads: its file limit (base64 + url-encoded) plus the options."""
        return self.limits.max_encoded_bytes + SMALL_BODY_BYTES


ENDPOINTS: dict[str, EndpointSpec] = {
    spec.name: spec
    for spec in (
        EndpointSpec("general_basic", "lines", accepts_pdf=True),
        EndpointSpec("accurate_basic", "lines", accepts_pdf=True),
        EndpointSpec("general", "lines", location=True, accepts_pdf=True),
        EndpointSpec("accurate", "lines", location=True, accepts_pdf=True),
        EndpointSpec("webimage", "lines"),
        EndpointSpec("handwriting", "lines", location=True, accepts_pdf=True),
        EndpointSpec("numbers", "lines", location=True),
        EndpointSpec("idcard", "idcard"),
        EndpointSpec("vat_invoice", "invoice", accepts_pdf=True),
        EndpointSpec("vat_invoice_verification", "invoice_verification", accepts_url=False),
        EndpointSpec("table", "table", accepts_pdf=True),
        EndpointSpec("form", "form"),
        EndpointSpec("form_ocr/request", "table_request", accepts_url=False, prefix=SOLUTION_PREFIX),
        EndpointSpec("form_ocr/get_request_result", "table_result", billable=False, prefix=SOLUTION_PREFIX),
        EndpointSpec("parser/task", "parser_submit", limits=FILE_LIMITS, prefix=BRAIN_PREFIX),
        EndpointSpec("parser/task/query", "parser_query", billable=False, prefix=BRAIN_PREFIX),
    )
}
ENDPOINTS_BY_PATH: dict[str, EndpointSpec] = {spec.path: spec for spec in ENDPOINTS.values()}
# The transport refuses a longer Content-Length before reading anything (the parser's 50 MB of base64).
MAX_BODY_BYTES = max(spec.max_body_bytes for spec in ENDPOINTS.values())


def endpoint_name(path: str) -> str | None:
    """``/rest/2.0/ocr/v1/general`` -> ``general``; ``None`` outside Baidu's OCR prefixes."""
    for prefix in (OCR_PREFIX, SOLUTION_PREFIX, BRAIN_PREFIX):
        if path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix) :].strip("/")
    return None
