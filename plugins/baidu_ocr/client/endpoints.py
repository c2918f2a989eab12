"""Every Baidu OCR endpoint the official SDK knows, by name: URL path, kind, accepted inputs, SDK methods.

Hand-written on purpose (no ``aip`` import): the hook, the local server and DAG authors look endpoints up
without the SDK installed or imported. ``tests/unit/client/test_endpoints.py`` compares this table with
``aip.ocr.AipOcr`` 4.16.13 in both directions, so an SDK upgrade that adds a URL fails the test until the
row is added here.

What the SDK holds: 79 class attributes ending in ``Url`` plus 5 URL attributes without the suffix
(``__webimageLoc``, ``__docAnalysis``, ``__meter``, ``__marriage_certificate``,
``__hk_macau_taiwan_exitentrypermit``): 84 paths, all listed below.

Names: the path after ``ocr/v1/`` or ``solution/v1/``, ``/`` -> ``_``, lower case. Inputs come from what
each SDK method puts in the form (``image``, ``url``, ``pdf_file``), plus ``ofd_file`` where Baidu's pages
(2024) document it. Image limits are not kept here: every endpoint accepts the conservative defaults of
:class:`~baidu_ocr.inputs.image_limits.ImageLimits` (4 MB, 4096 px); newer pages allow more for some endpoints
(``general_basic`` 8 MB; ``accurate``/``accurate_basic`` 10 MB and 8192 px), which a connection opts into
with ``extra["image_limits"]`` (see :meth:`ImageLimits.from_extra`). ``iocr_recognise*`` also need one of
``templateSign`` / ``classifierId``: an either-or that ``required_options`` cannot express.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

from baidu_ocr.exceptions import ConfigError

SYNC = "sync"
ASYNC_SUBMIT = "async_submit"
ASYNC_RESULT = "async_result"


@dataclass(frozen=True)
class Endpoint:
    """One Baidu OCR endpoint: what to POST where, and what it accepts."""

    name: str  # used by users and stored in the warehouse: "general_basic", "idcard", "form_ocr_request"
    path: str  # "/rest/2.0/ocr/v1/general_basic"
    kind: str  # "sync" | "async_submit" | "async_result"
    inputs: frozenset[
        str
    ]  # "image", "url", "pdf_file", "ofd_file", "file_data", "file_url"; "request_id"/"task_id"
    sdk_methods: tuple[str, ...]  # AipOcr methods that call it
    required_options: frozenset[str] = frozenset()  # form fields Baidu refuses the call without

    @property
    def takes_image(self) -> bool:
        return "image" in self.inputs


_INPUT_CODES = {
    "I": "image",
    "U": "url",
    "P": "pdf_file",
    "O": "ofd_file",
    "F": "file_data",
    "L": "file_url",
    "R": "request_id",
    "T": "task_id",
}


def _ep(
    name: str,
    path: str,
    inputs: str,
    sdk_methods: str,
    *,
    kind: str = SYNC,
    required: tuple[str, ...] = (),
) -> Endpoint:
    """A table row: ``inputs`` in letters (I image, U url, P pdf_file, O ofd_file, F file_data, L file_url,
    R request_id, T task_id)."""
    return Endpoint(
        name=name,
        path=f"/rest/2.0/{path}",
        kind=kind,
        inputs=frozenset(_INPUT_CODES[c] for c in inputs),
        sdk_methods=tuple(sdk_methods.split()),
        required_options=frozenset(required),
    )


_TABLE: tuple[Endpoint, ...] = (
    # General text
    _ep("general_basic", "ocr/v1/general_basic", "IUPO", "basicGeneral basicGeneralUrl basicGeneralPdf"),
    _ep("general", "ocr/v1/general", "IUP", "general generalUrl generalPdf"),
    _ep("accurate_basic", "ocr/v1/accurate_basic", "IUPO", "basicAccurate basicAccurateUrl basicAccuratePdf"),
    _ep("accurate", "ocr/v1/accurate", "IUPO", "accurate accurateUrl accuratePdf"),
    _ep("general_enhanced", "ocr/v1/general_enhanced", "IU", "enhancedGeneral enhancedGeneralUrl"),
    _ep("webimage", "ocr/v1/webimage", "IUP", "webImage webImageUrl webImagePdf"),
    _ep("webimage_loc", "ocr/v1/webimage_loc", "IUP", "webimageLoc webimageLocUrl webimageLocPdf"),
    _ep("handwriting", "ocr/v1/handwriting", "IUP", "handwriting handwritingUrl handwritingPdf"),
    _ep("numbers", "ocr/v1/numbers", "IU", "numbers numbersUrl"),
    _ep("qrcode", "ocr/v1/qrcode", "IU", "qrcode qrcodeUrl"),
    _ep("formula", "ocr/v1/formula", "IU", "formula formulaUrl"),
    _ep("seal", "ocr/v1/seal", "IUP", "seal sealUrl sealPdf"),
    _ep("meter", "ocr/v1/meter", "IU", "meter meterUrl"),
    _ep("facade", "ocr/v1/facade", "I", "facade"),
    _ep("lottery", "ocr/v1/lottery", "I", "lottery"),
    # Documents and tables
    _ep("doc_analysis", "ocr/v1/doc_analysis", "IUP", "docAnalysis docAnalysisUrl docAnalysisPdf"),
    _ep(
        "doc_analysis_office",
        "ocr/v1/doc_analysis_office",
        "IUP",
        "doc_analysis_office doc_analysis_officeUrl doc_analysis_officePdf",
    ),
    _ep("form", "ocr/v1/form", "IU", "form formUrl"),
    _ep("table", "ocr/v1/table", "IUP", "table tableUrl tablePdf"),
    _ep("form_ocr_request", "solution/v1/form_ocr/request", "I", "tableRecognitionAsync", kind=ASYNC_SUBMIT),
    _ep(
        "form_ocr_get_request_result",
        "solution/v1/form_ocr/get_request_result",
        "R",
        "getTableRecognitionResult",
        kind=ASYNC_RESULT,
        required=("request_id",),
    ),
    _ep(
        "doc_convert_request",
        "ocr/v1/doc_convert/request",
        "IUP",
        "docConvertRequestV1 docConvertRequestV1Url docConvertRequestV1Pdf",
        kind=ASYNC_SUBMIT,
    ),
    _ep(
        "doc_convert_get_request_result",
        "ocr/v1/doc_convert/get_request_result",
        "T",
        "docConvertResultV1",
        kind=ASYNC_RESULT,
        required=("task_id",),
    ),
    _ep(
        "doc_crop_enhance",
        "ocr/v1/doc_crop_enhance",
        "IUP",
        "doc_crop_enhance doc_crop_enhanceUrl doc_crop_enhancePdf",
    ),
    _ep(
        "remove_handwriting",
        "ocr/v1/remove_handwriting",
        "IUP",
        "remove_handwriting remove_handwritingUrl remove_handwritingPdf",
    ),
    _ep("intelligent_ocr", "ocr/v1/intelligent_ocr", "IU", "intelligent_ocr intelligent_ocrUrl"),
    _ep("iocr_recognise", "solution/v1/iocr/recognise", "IUP", "custom customUrl customPdf"),
    _ep(
        "iocr_recognise_finance",
        "solution/v1/iocr/recognise/finance",
        "IUP",
        "custom_finance custom_financeUrl custom_financePdf",
    ),
    # Identity cards and certificates
    _ep("idcard", "ocr/v1/idcard", "IU", "idcard idcardUrl", required=("id_card_side",)),
    _ep("multi_idcard", "ocr/v1/multi_idcard", "IU", "multi_idcard multi_idcardUrl"),
    _ep("bankcard", "ocr/v1/bankcard", "IU", "bankcard bankcardUrl"),
    _ep("business_license", "ocr/v1/business_license", "IU", "businessLicense businessLicenseUrl"),
    _ep("business_card", "ocr/v1/business_card", "I", "businessCard"),
    _ep("passport", "ocr/v1/passport", "IU", "passport passportUrl"),
    _ep(
        "social_security_card",
        "ocr/v1/social_security_card",
        "IU",
        "social_security_card social_security_cardUrl",
    ),
    _ep("hk_macau_exitentrypermit", "ocr/v1/HK_Macau_exitentrypermit", "I", "HKMacauExitentrypermit"),
    _ep("taiwan_exitentrypermit", "ocr/v1/taiwan_exitentrypermit", "I", "taiwanExitentrypermit"),
    _ep(
        "hk_macau_taiwan_exitentrypermit",
        "ocr/v1/hk_macau_taiwan_exitentrypermit",
        "IUP",
        "hk_macau_taiwan_exitentrypermit hk_macau_taiwan_exitentrypermitUrl hk_macau_taiwan_exitentrypermitPdf",
        required=("exitentrypermit_type",),
    ),
    _ep("household_register", "ocr/v1/household_register", "IU", "householdRegister householdRegisterUrl"),
    _ep("birth_certificate", "ocr/v1/birth_certificate", "IU", "birthCertificate birthCertificateUrl"),
    _ep(
        "marriage_certificate",
        "ocr/v1/marriage_certificate",
        "IUP",
        "marriage_certificate marriage_certificateUrl marriage_certificatePdf",
    ),
    _ep(
        "multi_card_classify",
        "ocr/v1/multi_card_classify",
        "IU",
        "multi_card_classify multi_card_classifyUrl",
    ),
    _ep("travel_card", "ocr/v1/travel_card", "I", "travel_card"),
    _ep("health_code", "ocr/v1/health_code", "I", "health_code"),
    _ep("covid_test", "ocr/v1/covid_test", "I", "covid_test"),
    # Vehicles and transport
    _ep("vehicle_license", "ocr/v1/vehicle_license", "IU", "vehicleLicense vehicleLicenseUrl"),
    _ep("driving_license", "ocr/v1/driving_license", "IU", "drivingLicense drivingLicenseUrl"),
    _ep(
        "mixed_multi_vehicle",
        "ocr/v1/mixed_multi_vehicle",
        "IU",
        "mixed_multi_vehicle mixed_multi_vehicleUrl",
    ),
    _ep("license_plate", "ocr/v1/license_plate", "IU", "licensePlate licensePlateUrl"),
    _ep("vin_code", "ocr/v1/vin_code", "IU", "vinCode vinCodeUrl"),
    _ep("vehicle_invoice", "ocr/v1/vehicle_invoice", "IU", "vehicleInvoice vehicleInvoiceUrl"),
    _ep(
        "used_vehicle_invoice",
        "ocr/v1/used_vehicle_invoice",
        "IU",
        "used_vehicle_invoice used_vehicle_invoiceUrl",
    ),
    _ep(
        "vehicle_certificate", "ocr/v1/vehicle_certificate", "IU", "vehicleCertificate vehicleCertificateUrl"
    ),
    _ep(
        "vehicle_registration_certificate",
        "ocr/v1/vehicle_registration_certificate",
        "IU",
        "vehicle_registration_certificate vehicle_registration_certificateUrl",
    ),
    _ep("weight_note", "ocr/v1/weight_note", "IUP", "weightNote weightNoteUrl weightNotePdf"),
    _ep("waybill", "ocr/v1/waybill", "IU", "waybill waybillUrl"),
    _ep(
        "road_transport_certificate",
        "ocr/v1/road_transport_certificate",
        "IUP",
        "road_transport_certificate road_transport_certificateUrl road_transport_certificatePdf",
    ),
    # Invoices, tickets and receipts
    _ep("vat_invoice", "ocr/v1/vat_invoice", "IUPO", "vatInvoice vatInvoiceUrl vatInvoicePdf"),
    # Verification takes the invoice's fields, not an image (the SDK's image line is commented out).
    _ep(
        "vat_invoice_verification",
        "ocr/v1/vat_invoice_verification",
        "",
        "vat_invoice_verification",
        required=("invoice_num", "invoice_date", "invoice_type"),
    ),
    _ep(
        "multiple_invoice",
        "ocr/v1/multiple_invoice",
        "IUP",
        "multipleInvoice multipleInvoiceUrl multipleInvoicePdf",
    ),
    _ep("quota_invoice", "ocr/v1/quota_invoice", "I", "quotaInvoice"),
    _ep("invoice", "ocr/v1/invoice", "IUP", "invoice invoiceUrl invoicePdf"),
    _ep("train_ticket", "ocr/v1/train_ticket", "IUP", "trainTicket trainTicketUrl trainTicketPdf"),
    _ep("taxi_receipt", "ocr/v1/taxi_receipt", "IUP", "taxiReceipt taxiReceiptUrl taxiReceiptPdf"),
    _ep("air_ticket", "ocr/v1/air_ticket", "IUP", "airTicket airTicketUrl airTicketPdf"),
    _ep("bus_ticket", "ocr/v1/bus_ticket", "IU", "bus_ticket bus_ticketUrl"),
    _ep("toll_invoice", "ocr/v1/toll_invoice", "IU", "toll_invoice toll_invoiceUrl"),
    _ep("ferry_ticket", "ocr/v1/ferry_ticket", "IU", "ferry_ticket ferry_ticketUrl"),
    _ep(
        "online_taxi_itinerary",
        "ocr/v1/online_taxi_itinerary",
        "IUP",
        "onlineTaxiItinerary onlineTaxiItineraryUrl onlineTaxiItineraryPdf",
    ),
    _ep("receipt", "ocr/v1/receipt", "IU", "receipt receiptUrl"),
    _ep(
        "shopping_receipt",
        "ocr/v1/shopping_receipt",
        "IUP",
        "shopping_receipt shopping_receiptUrl shopping_receiptPdf",
    ),
    _ep(
        "bank_receipt_new",
        "ocr/v1/bank_receipt_new",
        "IUP",
        "bank_receipt_new bank_receipt_newUrl bank_receipt_newPdf",
    ),
    _ep("insurance_documents", "ocr/v1/insurance_documents", "I", "insuranceDocuments"),
    # Medical
    _ep("medical_invoice", "ocr/v1/medical_invoice", "IU", "medicalInvoice medicalInvoiceUrl"),
    _ep("medical_detail", "ocr/v1/medical_detail", "IU", "medicalDetail medicalDetailUrl"),
    _ep("medical_statement", "ocr/v1/medical_statement", "IU", "medical_statement medical_statementUrl"),
    _ep(
        "medical_report_detection",
        "ocr/v1/medical_report_detection",
        "IU",
        "medical_report_detection medical_report_detectionUrl",
    ),
    _ep("health_report", "ocr/v1/health_report", "IU", "health_report health_reportUrl"),
    _ep("medical_record", "ocr/v1/medical_record", "IU", "medical_record medical_recordUrl"),
    _ep("medical_summary", "ocr/v1/medical_summary", "IU", "medical_summary medical_summaryUrl"),
    _ep(
        "medical_summary_diagnosis",
        "ocr/v1/medical_summary_diagnosis",
        "IU",
        "medical_summary_diagnosis medical_summary_diagnosisUrl",
    ),
    _ep("medical_outpatient", "ocr/v1/medical_outpatient", "IU", "medical_outpatient medical_outpatientUrl"),
    _ep(
        "medical_prescription",
        "ocr/v1/medical_prescription",
        "IU",
        "medical_prescription medical_prescriptionUrl",
    ),
    _ep(
        "medical_recipts_classify",
        "ocr/v1/medical_recipts_classify",
        "IU",
        "medical_recipts_classify medical_recipts_classifyUrl",
    ),
)

# Documented by Baidu but not in the SDK (4.16.13): the async document parser (long documents -> Markdown).
BEYOND_SDK: tuple[Endpoint, ...] = (
    _ep("parser_task", "brain/online/v2/parser/task", "FL", "", kind=ASYNC_SUBMIT, required=("file_name",)),
    _ep(
        "parser_task_query",
        "brain/online/v2/parser/task/query",
        "T",
        "",
        kind=ASYNC_RESULT,
        required=("task_id",),
    ),
)
SDK_ENDPOINTS: dict[str, Endpoint] = {ep.name: ep for ep in _TABLE}
ENDPOINTS: dict[str, Endpoint] = {**SDK_ENDPOINTS, **{ep.name: ep for ep in BEYOND_SDK}}

# Names users reach for that are not the path: the async table pair is "table_async" in the old recipes.
ALIASES: dict[str, str] = {
    "table_async": "form_ocr_request",
    "table_async_result": "form_ocr_get_request_result",
}


@cache
def _index() -> dict[str, Endpoint]:
    """Every accepted spelling -> endpoint: name, alias, SDK method, full path, path without /rest/2.0/."""
    index: dict[str, Endpoint] = {}
    for ep in ENDPOINTS.values():
        index[ep.path] = ep
        index[ep.path.removeprefix("/rest/2.0/")] = ep
        for method in ep.sdk_methods:
            index[method] = ep
    index.update({alias: ENDPOINTS[target] for alias, target in ALIASES.items()})
    index.update(ENDPOINTS)  # a name wins over an SDK method spelled the same ("idcard", "general"...)
    return index


def get_endpoint(name_or_path_or_sdk_method: str) -> Endpoint:
    """The endpoint for a name ("general_basic"), SDK method ("basicGeneral"), alias or URL path.

    :raises KeyError: unknown, with the closest known names suggested.
    """
    key = name_or_path_or_sdk_method.strip()
    index = _index()
    if "://" in key:  # a full URL: keep the path
        key = "/" + key.split("://", 1)[1].split("/", 1)[-1]
    key = key.split("?", 1)[0]
    found = index.get(key) or index.get(key.lower()) or index.get("/" + key.lstrip("/"))
    if found is None:
        lowered = {k.lower(): ep for k, ep in index.items()}
        found = lowered.get(key.lower())
    if found is not None:
        return found
    close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise KeyError(
        f"Unknown Baidu OCR endpoint {key!r}{hint} ({len(ENDPOINTS)} endpoints in baidu_ocr.client.endpoints)"
    )


def resolve_endpoint(endpoint: str | Endpoint, conn_id: str | None = None) -> Endpoint:
    """An :class:`Endpoint` as given, or looked up by name; an unknown name is a ``ConfigError`` naming the
    connection (one rule for the hook and the triggerer's client)."""
    if isinstance(endpoint, Endpoint):
        return endpoint
    try:
        return get_endpoint(endpoint)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), endpoint=endpoint, conn_id=conn_id) from None


def canonical_name(name: str | None) -> str:
    """The name the warehouse stores: ``IDCARD``, ``ocr/v1/idcard`` and ``idcard`` are all ``idcard``.

    Unknown names are kept (trimmed, lower-cased) rather than raised on: records already staged must load.
    """
    text = str(name or "").strip()
    try:
        return get_endpoint(text).name
    except KeyError:
        return text.lower()
