"""A local server that answers exactly like Baidu's OCR API (think moto/LocalStack for Baidu OCR).

Layers, as in moto: ``models`` (state: tokens, quota, QPS windows, table jobs, counters), ``responses``
(request -> model call -> Baidu JSON; errors rendered in one place), ``urls`` (path -> handler),
``server`` (threaded HTTP transport), engines behind ``engines.base.Engine`` (``rapidocr``, ``fixture``).
Beside them: ``jobs`` (table jobs and parser tasks: unguessable ids, bounded, forgotten after a TTL),
``bce`` (BCE v1 request signatures, checked as Baidu checks them) and ``links`` (signed result-file links).

Run it: ``baidu-ocr-server --port 0 --engine fixture`` (first stdout line: ``listening on http://...``),
or in tests: ``with baidu_ocr_server.testing.running_server(qps=2) as server: ...``.
"""
