"""``make demo``: run the four example DAGs end to end on this machine, with no credentials and no internet.

What it does, in order:

1. starts a moto S3 server and the local Baidu-compatible OCR server (rapidocr engine) on free loopback ports;
2. prepares an Airflow home under ``.demo/airflow`` (SQLite metadata, ``airflow db migrate``, pool
   ``baidu_ocr``) and the connections as ``AIRFLOW_CONN_*`` environment variables;
3. uploads ``include/samples`` to the bucket and runs ``airflow dags test`` for each DAG;
4. prints each warehouse table's row count and a few rows (``ocr_usage``: what each task paid for), and
   where the SQLite warehouse file is;
5. prints where the OpenLineage events went (a file transport: ``.demo/lineage/events.jsonl``) and what
   each task read and wrote;
6. stops its servers, whatever happened.

The run summaries show the cost lines: this run's billable calls, the month's so far, the share of the
free allowance used and the estimated cost, from the example prices in ``DEMO_PRICING`` (illustrative
figures, not Baidu's price list: with real keys, put your account's in ``BAIDU_OCR_PRICING`` as JSON).

With ``BAIDU_OCR_API_KEY`` and ``BAIDU_OCR_SECRET_KEY`` set, the DAGs call the real Baidu OCR instead
(``BAIDU_OCR_HOST`` and ``BAIDU_OCR_QPS`` optional). With ``BAIDU_OCR_DEMO_BUCKET`` set, they use that real S3
bucket with the usual AWS credential chain (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``, ...). Running the demo
again reuses the warehouse: the second time nothing is OCRed again (``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from baidu_ocr_dev.local_services import BIN, REPO, start_moto, start_ocr_server

DEMO_DIR = REPO / ".demo"
SAMPLES = REPO / "include" / "samples"
SAMPLES_PREFIX = "samples/"
# `airflow dags test` never times a human review out (it would wait for the answer): the documents under the
# confidence gate are queued without opening review tasks (the DAG does so under dags test anyway); `make ui`
# shows the review in Airflow's UI.
DAG_RUNS = [
    (
        "baidu_ocr_s3_to_warehouse",
        {"prefix": f"{SAMPLES_PREFIX}documents/", "options": {"probability": "true"}, "review_in_ui": False},
    ),
    # A scan with one faded line: under the default confidence threshold, it goes to the review queue.
    (
        "baidu_ocr_s3_to_warehouse",
        {"prefix": f"{SAMPLES_PREFIX}review/", "options": {"probability": "true"}, "review_in_ui": False},
    ),
    # Multi-page PDFs, OCRed page by page and planned in batches of 3 pages: one row per page (the blank
    # page has no text: it is queued for review too).
    (
        "baidu_ocr_s3_to_warehouse",
        {
            "prefix": f"{SAMPLES_PREFIX}documents_pdf/",
            "batch_size": 3,
            "options": {"detect_direction": "true"},
            "review_in_ui": False,
        },
    ),
    ("baidu_ocr_idcards_to_warehouse", {"prefix": f"{SAMPLES_PREFIX}idcards/"}),
    ("baidu_ocr_tables_to_warehouse", {"prefix": f"{SAMPLES_PREFIX}tables/", "poll_interval": 0.5}),
    # VAT invoices (photos, scans, PDF e-invoices): typed, checked, de-duplicated rows; the invalid ones and
    # the duplicates go to the review queue.
    ("baidu_ocr_invoices_to_warehouse", {"prefix": f"{SAMPLES_PREFIX}invoices/", "review_in_ui": False}),
    # The same PDFs as whole documents through the async document parser: Markdown per document.
    ("baidu_ocr_parse_documents", {"prefix": f"{SAMPLES_PREFIX}documents_pdf/", "poll_interval": 1.0}),
]
# Illustrative prices for the demo's cost lines (per endpoint: monthly free calls, price per 1000 beyond).
DEMO_PRICING = {
    "general_basic": {"free_per_month": 1000, "price_per_1000": 1.5},
    "idcard": {"free_per_month": 1000, "price_per_1000": 2.0},
    "form_ocr_request": {"free_per_month": 100, "price_per_1000": 20.0},
    "vat_invoice": {"free_per_month": 500, "price_per_1000": 30.0},
}
PREVIEW_ORDER = {"ocr_idcards": "side DESC, name", "ocr_lines": "content_sha256, line_no"}
PREVIEW_COLUMNS = {
    "ocr_documents": [
        "source_uri",
        "page_no",
        "status",
        "n_lines",
        "conf_min",
        "review_status",
        "latency_ms",
    ],
    "ocr_lines": ["line_no", "text", "prob_average"],
    "ocr_idcards": ["side", "name", "id_number_masked", "id_number_valid", "issuing_authority", "valid_to"],
    "ocr_table_cells": ["table_no", "row", "col", "row_span", "col_span", "text"],
    "ocr_usage": ["task_id", "map_index", "endpoint", "day", "billable_calls", "pages", "failed_calls"]
    + ["estimated_cost"],
}


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def persistent_secret(path: Path, make) -> str:
    """Keys that must stay the same across demo runs (HMACs of ID numbers are compared between runs)."""
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def demo_connections(
    *,
    aws_extra: dict,
    host: str,
    api_key: str,
    secret_key: str,
    qps: float,
    warehouse: Path,
    hmac_key: str,
    encryption_key: str,
    timeout: float = 60.0,
    pricing: dict | None = None,
) -> dict[str, dict]:
    """The four connections the example DAGs use, as Airflow's JSON connection form.

    The two Baidu OCR connections carry every field of their type's form (so Airflow's Edit Connection form
    shows them all, see :func:`~baidu_ocr.provider.extra_with_form_defaults`); ``pricing`` defaults to the
    example prices :data:`DEMO_PRICING`, so the run summaries' cost lines show figures.
    """
    from baidu_ocr.provider import CONN_FIELDS, PII_CONN_FIELDS, extra_with_form_defaults

    ocr_extra = {"qps": qps, "timeout": timeout, "pricing": DEMO_PRICING if pricing is None else pricing}
    return {
        "aws_default": {"conn_type": "aws", "extra": aws_extra},
        "baidu_ocr_default": {
            "conn_type": "baidu_ocr",
            "login": api_key,
            "password": secret_key,
            "host": host,
            "extra": extra_with_form_defaults(CONN_FIELDS, ocr_extra),
        },
        "warehouse_default": {"conn_type": "sqlite", "host": str(warehouse)},
        "baidu_ocr_pii": {
            "conn_type": "baidu_ocr_pii",  # its "Test" button checks the keys (baidu_ocr.hooks.pii)
            "password": hmac_key,
            "extra": extra_with_form_defaults(PII_CONN_FIELDS, {"encryption_key": encryption_key}),
        },
    }


def pii_keys(directory: Path) -> tuple[str, str]:
    """The HMAC key and the encryption key of ID numbers, kept in ``directory`` across runs."""
    hmac_key = persistent_secret(directory / "pii-hmac.key", lambda: secrets.token_urlsafe(32))
    encryption_key = persistent_secret(
        directory / "pii-encryption.key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
    return hmac_key, encryption_key


def airflow_env(
    home: Path,
    connections: dict[str, dict],
    lineage_file: Path | None = None,
    *,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Airflow's settings and the connections over ``base`` (default: this process's environment)."""
    env = dict(os.environ if base is None else base)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
    )
    if lineage_file is not None:  # the OpenLineage provider writes its events there, one JSON per line
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(lineage_file), "append": True}
        )
        env["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "baidu-ocr-demo"
    for conn_id, conn in connections.items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    return env


def airflow(
    env: dict[str, str], *args: str, log_path: Path | None = None, bin_dir: Path = BIN, cwd: Path = REPO
) -> subprocess.CompletedProcess:
    """Run the ``airflow`` CLI of ``bin_dir``; keep its (long) output in a log file and show it only on failure."""
    result = subprocess.run(
        [str(bin_dir / "airflow"), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if log_path is not None:
        log_path.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        raise RuntimeError(f"airflow {' '.join(args[:3])} failed (exit {result.returncode}):\n{tail}")
    return result


def upload_samples(endpoint_url: str | None, bucket: str) -> int:
    """Upload ``include/samples``; images and PDFs with their content type, so a review link shows them."""
    import boto3
    from baidu_ocr.inputs.sources import content_type_of

    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)
    files = [p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix != ".py"]
    for path in files:
        content_type = content_type_of(path.name)
        s3.upload_file(
            str(path),
            bucket,
            SAMPLES_PREFIX + path.relative_to(SAMPLES).as_posix(),
            ExtraArgs={"ContentType": content_type} if content_type else None,
        )
    return len(files)


def run_summary(output: str) -> str:
    """The run summary block that the DAG's last task logs."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "Baidu OCR run summary" in line:
            block = ["Run summary:"]
            for follower in lines[i + 1 :]:
                if not follower.startswith("  "):
                    break
                block.append(follower.split(" [airflow.task")[0])  # drop the log record's trailer
            return "\n".join(block)
    return "(no summary found in the output)"


def show_warehouse(path: Path) -> None:
    import pandas as pd

    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 40)
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        print()
        for table in tables:
            count = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            print(f"== {table}: {count} row(s)")
            if count and table in PREVIEW_COLUMNS:
                columns = ", ".join(f'"{c}"' for c in PREVIEW_COLUMNS[table])
                order = f"ORDER BY {PREVIEW_ORDER[table]}" if table in PREVIEW_ORDER else ""
                frame = pd.read_sql_query(f'SELECT {columns} FROM "{table}" {order} LIMIT 5', db)
                print(frame.to_string(index=False))
            print()
        show_pdf_pages(db)
        show_parsed_documents(db)
        show_invoices(db)
        show_review_queue(db)


def show_invoices(db: sqlite3.Connection, limit: int = 8) -> None:
    """A few invoices as finance would read them, each with its check results and duplicate mark."""
    rows = db.execute(
        "SELECT source_uri, page_no, invoice_code, invoice_num, invoice_date, seller_name, buyer_tax_id, "
        "amount_incl_tax, validation_status, checks_failed, duplicate_of FROM ocr_invoices "
        # the ones a person must look at first
        f"ORDER BY CASE WHEN validation_status = 'valid' THEN 1 ELSE 0 END, source_uri, page_no LIMIT {int(limit)}"
    ).fetchall()
    total = db.execute("SELECT COUNT(*) FROM ocr_invoices").fetchone()[0]
    print(f"== Invoices: {total}, checked and de-duplicated (showing {len(rows)}, invalid first)")
    for uri, page_no, code, num, day, seller, buyer_id, amount, status, failed, duplicate_of in rows:
        page = f" page {page_no}" if page_no else ""
        number = f"{code or '-'} / {num or '?'}"
        print(f"  {uri.rsplit('/', 1)[-1]}{page}: {number}, {day}, {seller}, {amount} incl. tax [{status}]")
        print(f"      buyer tax id {buyer_id}; failed checks: {failed or 'none'}")
        if duplicate_of:
            print(f"      duplicate of {duplicate_of}")
    print()


def show_review_queue(db: sqlite3.Connection) -> None:
    """The documents waiting for a person: under the confidence gate, invoices with a failed check, duplicates."""
    rows = db.execute(
        "SELECT source_uri, page_no, reason, conf_min, min_confidence, low_lines, status FROM ocr_review_queue "
        "ORDER BY source_uri, page_no"
    ).fetchall()
    print(f"== Review queue: {len(rows)} document(s) waiting for a person (loaded as needs_review)")
    for uri, page_no, reason, conf_min, threshold, low_lines, status in rows:
        page = f" page {page_no}" if page_no else ""
        score = f", lowest line {conf_min:.3f} < {threshold:.2f}" if conf_min is not None else ""
        print(f"  {uri}{page}: {reason}{score} [{status}]")
        for line in json.loads(low_lines or "[]"):
            print(f"    line {line['line_no']} ({line['confidence']:.3f}): {line['text']}")
    print(
        "  Review them in Airflow's UI: `make ui`, trigger baidu_ocr_s3_to_warehouse, Browse -> Required Actions."
    )
    print()


def migrate_warehouse(env: dict[str, str], logs: Path) -> None:
    """A warehouse from an earlier demo gains the columns added since (``--migrate``; rows are kept)."""
    subprocess.run(
        [str(BIN / "python"), "-m", "baidu_ocr.warehouse", "--migrate", "warehouse_default"],
        env=env,
        cwd=REPO,
        check=True,
        stdout=(logs / "warehouse-migrate.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def show_pdf_pages(db: sqlite3.Connection) -> None:
    """The PDF samples as the warehouse holds them: one ocr_documents row per page, lines per page."""
    import pandas as pd

    frame = pd.read_sql_query(
        "SELECT d.source_uri, d.page_no, d.page_count, d.status, d.n_lines, "
        "(SELECT l.text FROM ocr_lines l WHERE l.content_sha256 = d.content_sha256 AND l.endpoint = d.endpoint "
        "AND l.options_hash = d.options_hash AND l.page_no = d.page_no ORDER BY l.line_no LIMIT 1) AS first_line "
        "FROM ocr_documents d WHERE d.page_no > 0 ORDER BY d.source_uri, d.page_no",
        db,
    )
    print(f"== PDF pages: {len(frame)} row(s), one per page")
    if len(frame):
        print(frame.to_string(index=False))
    print()


def show_parsed_documents(db: sqlite3.Connection) -> None:
    """Each document the async parser read: its pages, status, and the start of its Markdown."""
    rows = db.execute(
        "SELECT source_uri, page_count, status, markdown FROM ocr_parsed_documents ORDER BY source_uri"
    ).fetchall()
    print(f"== Parsed documents: {len(rows)}, Markdown from the document parser")
    for uri, pages, status, markdown in rows:
        print(f"{uri} ({pages} page(s), {status})")
        for line in [line for line in (markdown or "").splitlines() if line.strip()][:3]:
            print(f"    {line}")


def show_lineage(path: Path) -> None:
    """Where the OpenLineage events went, and per task of each DAG's last run what it read, wrote and paid
    (the mapped tasks of a run added up)."""
    if not path.exists():
        say("OpenLineage: no event written (is apache-airflow-providers-openlineage installed?)")
        return
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    say(f"OpenLineage: {len(events)} event(s) written to {path}")
    last_run = {e["job"]["name"]: e["run"]["runId"] for e in events if "." not in e["job"]["name"]}
    tasks: dict[str, dict] = {}
    namespaces: dict[str, None] = {}
    for event in events:
        dag_id, _, task_id = event["job"]["name"].partition(".")
        parent = event["run"]["facets"].get("parent", {}).get("run", {}).get("runId")
        if event.get("eventType") != "COMPLETE" or not task_id or parent != last_run.get(dag_id):
            continue
        cost = event["run"]["facets"].get("baidu_ocr_cost")
        if not cost:  # the provider's own hook-level lineage of other tasks: not shown here
            continue
        task = tasks.setdefault(event["job"]["name"], {"inputs": 0, "outputs": {}, "calls": {}, "pages": 0})
        task["inputs"] += len(event.get("inputs", []))
        namespaces.update(
            (d["namespace"], None) for d in [*event.get("inputs", []), *event.get("outputs", [])]
        )
        for dataset in event.get("outputs", []):
            task["outputs"][
                dataset["name"].rsplit("/", 1)[-1] if "staging" in dataset["name"] else dataset["name"]
            ] = None
        for endpoint, n in cost["billableCalls"].items():
            task["calls"][endpoint] = task["calls"].get(endpoint, 0) + n
        task["pages"] += cost["pages"]
    print(f"  dataset namespaces: {', '.join(namespaces)}")
    for job, task in sorted(tasks.items()):
        print(f"  {job}: {task['inputs']} input(s) -> {', '.join(task['outputs']) or 'nothing'}")
        print(f"      billable calls {task['calls']}, pages {task['pages']}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="start from an empty warehouse and Airflow home")
    args = parser.parse_args(argv)

    if args.fresh and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    home, logs = DEMO_DIR / "airflow", DEMO_DIR / "logs"
    for directory in (home, logs):
        directory.mkdir(parents=True, exist_ok=True)
    warehouse = DEMO_DIR / "warehouse.db"
    lineage_file = DEMO_DIR / "lineage" / "events.jsonl"
    lineage_file.parent.mkdir(parents=True, exist_ok=True)

    api_key = os.environ.get("BAIDU_OCR_API_KEY")
    secret_key = os.environ.get("BAIDU_OCR_SECRET_KEY")
    real_baidu = bool(api_key and secret_key)
    real_bucket = os.environ.get("BAIDU_OCR_DEMO_BUCKET")
    started = time.monotonic()

    with ExitStack() as stack:
        if real_bucket:
            bucket, s3_url = real_bucket, None
            say(f"S3: real bucket {bucket} (AWS credentials from the environment)")
            aws_extra = {"region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        else:
            bucket, s3_url = "baidu-ocr-demo", start_moto(stack, logs)
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
            os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
            say(f"S3: moto server at {s3_url}, bucket {bucket}")
            aws_extra = {"endpoint_url": s3_url, "region_name": "us-east-1"}

        if real_baidu:
            host = os.environ.get("BAIDU_OCR_HOST", "https://aip.baidubce.com")
            qps = float(os.environ.get("BAIDU_OCR_QPS", "2"))
            timeout = 60.0
            say(f"OCR: real Baidu AI Cloud at {host} ({qps:g} QPS)")
        else:
            api_key, secret_key = "demo-api-key", secrets.token_urlsafe(16)
            say("OCR: starting the local Baidu-compatible server (rapidocr engine)...")
            host, qps = start_ocr_server(stack, logs, api_key, secret_key), 4.0
            # Real OCR on this machine's CPU: a call waits behind the others in flight, and longer still
            # when the machine is busy. A timeout would only send the same page again.
            timeout = 300.0
            say(f"OCR: local server at {host}")

        hmac_key, encryption_key = pii_keys(DEMO_DIR)
        env = airflow_env(
            home,
            demo_connections(
                aws_extra=aws_extra,
                host=host,
                api_key=api_key,
                secret_key=secret_key,
                qps=qps,
                timeout=timeout,
                warehouse=warehouse,
                hmac_key=hmac_key,
                encryption_key=encryption_key,
                pricing=json.loads(os.environ.get("BAIDU_OCR_PRICING") or "null"),
            ),
            lineage_file=lineage_file,
        )
        say("Airflow: migrating the metadata database (SQLite) and creating the pool...")
        airflow(env, "db", "migrate", log_path=logs / "db-migrate.log")
        airflow(env, "pools", "set", "baidu_ocr", "4", "Baidu OCR QPS budget", log_path=logs / "pool.log")
        if warehouse.exists():
            migrate_warehouse(env, logs)

        say(f"Uploaded {upload_samples(s3_url, bucket)} sample file(s) to s3://{bucket}/{SAMPLES_PREFIX}")
        for dag_id, conf in DAG_RUNS:
            say(f"Running {dag_id} on {conf['prefix']} ...")
            t0 = time.monotonic()
            conf = {"bucket": bucket, **conf}
            log_path = logs / f"{dag_id}-{Path(conf['prefix']).name}.log"  # one DAG runs on two prefixes
            result = airflow(env, "dags", "test", dag_id, "-c", json.dumps(conf), log_path=log_path)
            say(f"{dag_id} finished in {time.monotonic() - t0:.1f}s (log: {log_path})")
            print(run_summary(result.stdout + result.stderr), flush=True)

    show_warehouse(warehouse)
    show_lineage(lineage_file)
    say(f"Warehouse (SQLite): {warehouse}")
    say(
        f"Done in {time.monotonic() - started:.0f}s. Run it again: nothing is OCRed twice. `--fresh` starts over."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
