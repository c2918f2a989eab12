"""``baidu-ocr-server``: run the local Baidu-compatible OCR server until SIGTERM/SIGINT.

The first stdout line is ``listening on http://HOST:PORT`` (port 0 picks a free one), so scripts and tests
can start it and read where it is.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from baidu_ocr_server.engines import ENGINE_NAMES, load_engine
from baidu_ocr_server.faults import DEFAULT_TOKEN_TTL, FaultConfig, parse_error_rate
from baidu_ocr_server.jobs import DEFAULT_RESULT_TTL_S
from baidu_ocr_server.models import DEFAULT_IAM_API_KEY, Credentials, OcrBackend
from baidu_ocr_server.server import DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT_S, OcrHttpServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baidu-ocr-server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--engine", choices=ENGINE_NAMES, default="rapidocr")
    parser.add_argument("--samples-dir", default=None, help="ground truth for the fixture engine")
    parser.add_argument("--api-key", default="test-api-key")
    parser.add_argument("--secret-key", default="test-secret-key")
    parser.add_argument("--app-id", default="10000000")
    parser.add_argument(
        "--iam-api-key",
        action="append",
        default=None,
        metavar="bce-v3/ALTAK-...",
        help="an IAM API key accepted as 'Authorization: Bearer KEY' (repeatable; default: one test key)",
    )
    guard = parser.add_argument_group("hardening")
    guard.add_argument(
        "--read-timeout",
        type=_positive(float),
        default=DEFAULT_READ_TIMEOUT_S,
        help="seconds a request may take to arrive (and an idle connection may stay open)",
    )
    guard.add_argument(
        "--max-connections",
        type=_positive(int),
        default=DEFAULT_MAX_CONNECTIONS,
        help="connections served at once; beyond, Baidu's error 4 and the connection is closed",
    )
    guard.add_argument(
        "--admin-token",
        default=None,
        help="require 'Authorization: Bearer TOKEN' or 'X-Admin-Token: TOKEN' on /_admin/ routes",
    )
    guard.add_argument(
        "--public-url", default=None, help="base of links handed out (default: the bound address)"
    )
    guard.add_argument(
        "--result-ttl",
        type=_positive(float),
        default=DEFAULT_RESULT_TTL_S,
        help="seconds a finished table job or parser task, and its file links, are kept (default: 6 h)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--latency-ms", type=float, default=0.0, help="added to every OCR call")
    faults.add_argument("--qps", type=float, default=None, help="per-endpoint limit; above it error 18")
    faults.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL, help="seconds; then 111")
    faults.add_argument("--daily-quota", type=int, default=None, help="billable calls a day; then 17")
    faults.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="CODE=P",
        type=_error_rate,
        help="inject a Baidu code, an HTTP 5xx status or 'drop' at rate P (repeatable)",
    )
    faults.add_argument("--seed", type=int, default=None, help="seed of the fault dice")
    faults.add_argument("--table-job-seconds", type=float, default=0.5, help="async table job duration")
    faults.add_argument(
        "--parser-task-seconds", type=float, default=0.5, help="shortest document parser task duration"
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value

    return parse


def _error_rate(spec: str) -> str:
    try:
        parse_error_rate(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    faults = FaultConfig(
        latency_ms=args.latency_ms,
        qps=args.qps,
        token_ttl=args.token_ttl,
        daily_quota=args.daily_quota,
        error_rates=args.error_rate,
        seed=args.seed,
        table_job_seconds=args.table_job_seconds,
        parser_task_seconds=args.parser_task_seconds,
    )
    backend = OcrBackend(
        load_engine(args.engine, args.samples_dir),
        Credentials(
            api_key=args.api_key,
            secret_key=args.secret_key,
            app_id=args.app_id,
            iam_api_keys=tuple(args.iam_api_key or (DEFAULT_IAM_API_KEY,)),
        ),
        faults,
        result_ttl_s=args.result_ttl,
    )
    server = OcrHttpServer(
        (args.host, args.port),
        backend,
        read_timeout=args.read_timeout,
        max_connections=args.max_connections,
        admin_token=args.admin_token,
        public_url=args.public_url,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, args=(0.1,), name="ocr-server", daemon=True)
    serving.start()
    print(f"listening on {server.url}", flush=True)
    stop.wait()
    server.shutdown()  # from the main thread: serve_forever runs in another one, so this cannot deadlock
    server.server_close()
    serving.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
