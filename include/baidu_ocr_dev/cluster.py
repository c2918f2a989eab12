"""``make cluster-demo``: the example DAGs on a real multi-worker Airflow (CeleryExecutor, Redis, PostgreSQL).

What it starts, all on this machine, each in a process group of its own:

- PostgreSQL databases of its own: the Airflow metadata (``baidu_ocr_cluster``, cloned from a migrated
  template so a clean run does not migrate again) and the warehouse (``baidu_ocr_cluster_wh``), both
  dropped and recreated;
- Redis DB numbers of its own: the Celery broker and the connection's ``redis_url`` (one QPS budget, one
  token for every worker), both flushed;
- moto S3 and the local OCR server (fixture engine, ``--qps`` limit);
- ``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and N ``airflow celery worker``
  processes with their own hostnames and log-server ports, serving the queue ``baidu_ocr``
  (``[operators] default_queue``, so every task of the DAGs goes there).

Then it runs ``baidu_ocr_tables_to_warehouse`` (``api="form_ocr"``) with its jobs deferred to the triggerer,
``baidu_ocr_s3_to_warehouse`` over generated images and the same run again (0 calls), prints what the cluster and the
server saw, writes ``bench/results/cluster-<time>.json`` and stops everything, whatever happened.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baidu_ocr_dev.local_services import (
    BIN,
    REPO,
    background,
    free_port,
    start_moto,
    start_ocr_server,
    wait_for_port,
    wire_s3_events,
)

S3_DAG = "baidu_ocr_s3_to_warehouse"
EVENTS_DAG = "baidu_ocr_s3_events_to_warehouse"
EVENTS_BUCKET = "baidu-ocr-demo"  # the events DAG's default bucket: its asset-triggered runs take no conf
TABLES_DAG = "baidu_ocr_tables_to_warehouse"
QUEUE = "baidu_ocr"
BUCKET = "baidu-ocr-cluster"
PARSER_DAG = "baidu_ocr_parse_documents"
TABLE_SAMPLES = REPO / "include" / "samples" / "tables"
VALIDATION_TABLES = REPO / "include" / "samples" / "validation" / "tables"
RESULTS = REPO / "bench" / "results"
FINISHED = {"success", "failed"}
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "cluster",
    "AWS_SECRET_ACCESS_KEY": "cluster",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


@dataclass
class ClusterConfig:
    workdir: Path = REPO / ".cluster"
    workers: int = 2
    worker_concurrency: int = 2
    pool_slots: int = 4
    qps: float = 10.0
    token_ttl: float | None = None  # the server's default (30 days) when None
    table_job_seconds: float = 6.0  # long enough to see the table jobs deferred
    postgres: str = "postgresql://postgres@127.0.0.1:5432"
    metadata_db: str = "baidu_ocr_cluster"
    warehouse_db: str = "baidu_ocr_cluster_wh"
    redis: str = "redis://127.0.0.1:6379"
    broker_db: int = 5
    limiter_db: int = 6
    # S3 events: the bucket EVENTS_BUCKET notifies an SQS queue on the moto server, which the events DAG
    # watches; its timed catch-up runs on this cron (None: the DAG's default).
    events: bool = False
    events_catchup_cron: str | None = None
    api_key: str = "cluster-api-key"
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def limiter_url(self) -> str:
        return f"{self.redis}/{self.limiter_db}"


# -- PostgreSQL and Redis --------------------------------------------------------------------------------


def _pg(dsn: str):
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn


def _fetch(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    """One statement on its own autocommit connection; its rows, if it returns any."""
    conn = _pg(dsn)  # no ``with conn``: psycopg2 would open a transaction block
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _admin(postgres: str, sql: str, params: tuple = ()) -> list[tuple]:
    return _fetch(f"{postgres}/postgres", sql, params)


def recreate_database(postgres: str, name: str, template: str | None = None) -> None:
    _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(postgres, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def database_exists(postgres: str, name: str) -> bool:
    return bool(_admin(postgres, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def template_database() -> str:
    """The migrated metadata database that clean runs are cloned from, one per Airflow version."""
    from airflow import __version__ as airflow_version

    return f"baidu_ocr_airflow_template_{airflow_version.replace('.', '_')}"


def sqlalchemy_url(postgres: str, db: str) -> str:
    return postgres.replace("postgresql://", "postgresql+psycopg2://", 1) + f"/{db}"


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


# -- the cluster -------------------------------------------------------------------------------------------


class Cluster:
    """A running cluster: its services, the environment its processes share, and what it can be asked."""

    def __init__(self, config: ClusterConfig, stack: ExitStack) -> None:
        self.config = config
        self.stack = stack
        self.home = config.workdir / "airflow"
        self.logs = config.workdir / "logs"
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.env: dict[str, str] = {}
        self.s3_url = self.ocr_url = self.events_queue_url = ""
        self.s3 = None

    # -- start-up ----------------------------------------------------------------------------------------

    def start(self) -> Cluster:
        c = self.config
        for directory in (self.home, self.logs):
            directory.mkdir(parents=True, exist_ok=True)
        for db in (c.broker_db, c.limiter_db):
            flush_redis(f"{c.redis}/{db}")
        recreate_database(c.postgres, c.warehouse_db)
        self.s3_url = start_moto(self.stack, self.logs)
        server_flags = ["--qps", f"{c.qps:g}", "--table-job-seconds", f"{c.table_job_seconds:g}"]
        if c.token_ttl:
            server_flags += ["--token-ttl", f"{c.token_ttl:g}"]
        self.ocr_url = start_ocr_server(
            self.stack, self.logs, c.api_key, c.secret_key, *server_flags, engine="fixture"
        )
        say(f"moto S3 at {self.s3_url}; OCR server at {self.ocr_url} (limit {c.qps:g} QPS)")
        if c.events:
            self.events_queue_url = wire_s3_events(self.s3_url, EVENTS_BUCKET, credentials=MOTO_CREDENTIALS)
            say(f"S3 events of s3://{EVENTS_BUCKET} -> SQS {self.events_queue_url}")
        self.env = self._airflow_env()
        self._prepare_metadata_db()
        self.airflow("pools", "set", "baidu_ocr", str(c.pool_slots), "Baidu OCR QPS budget", log="pool")
        self._start_airflow()
        return self

    def _airflow_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        c = self.config
        self.ports["api"] = free_port()
        self.ports["triggerer_logs"] = free_port()
        api = f"http://127.0.0.1:{self.ports['api']}"
        metadata = sqlalchemy_url(c.postgres, c.metadata_db)
        python_path = [str(REPO / "plugins"), str(REPO / "include"), os.environ.get("PYTHONPATH", "")]
        # Nothing of the caller's Airflow set-up leaks in (a test run's unit-test mode, home, connections).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        env.update(
            PYTHONPATH=os.pathsep.join(p for p in python_path if p),
            AIRFLOW_HOME=str(self.home),
            **MOTO_CREDENTIALS,
            AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{api}/execution/",
            AIRFLOW__API__BASE_URL=api,
            AIRFLOW__API__PORT=str(self.ports["api"]),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata,
            AIRFLOW__CELERY__BROKER_URL=f"{c.redis}/{c.broker_db}",
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + c.postgres + f"/{c.metadata_db}",
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=QUEUE,
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(self.ports["triggerer_logs"]),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="30",
            AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
        )
        connections = {
            "baidu_ocr_default": {
                "conn_type": "baidu_ocr",
                "login": c.api_key,
                "password": c.secret_key,
                "host": self.ocr_url,
                "extra": {"qps": c.qps, "timeout": 60, "max_retries": 8, "redis_url": c.limiter_url},
            },
            "aws_default": {
                "conn_type": "aws",
                "extra": {"endpoint_url": self.s3_url, "region_name": "us-east-1"},
            },
            "warehouse_default": {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": c.warehouse_db,
            },
            # The ID-card and invoice DAGs hash and seal ID numbers with its key (a fresh one per cluster).
            "baidu_ocr_pii": {"conn_type": "baidu_ocr_pii", "password": secrets.token_urlsafe(32)},
        }
        for conn_id, conn in connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        if self.events_queue_url:
            env["AIRFLOW_VAR_BAIDU_OCR_EVENTS_QUEUE_URL"] = self.events_queue_url
        if c.events_catchup_cron:
            env["AIRFLOW_VAR_BAIDU_OCR_EVENTS_CATCHUP_CRON"] = c.events_catchup_cron
        return env

    def _prepare_metadata_db(self) -> None:
        """Clone a migrated template (one per Airflow version): a clean metadata database in a second."""
        c = self.config
        template = template_database()
        if not database_exists(c.postgres, template):
            say(f"Migrating a template metadata database ({template}), once per Airflow version...")
            recreate_database(c.postgres, template)
            metadata = sqlalchemy_url(c.postgres, template)
            self.airflow(
                "db", "migrate", log="db-migrate", env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata}
            )
        recreate_database(c.postgres, c.metadata_db, template=template)

    def airflow(self, *args: str, log: str, env: dict[str, str] | None = None, timeout_s: float = 300) -> str:
        """Run the ``airflow`` CLI with the cluster's environment; its output goes to ``logs/<log>.log``."""
        result = subprocess.run(
            [str(BIN / "airflow"), *args],
            env={**self.env, **(env or {})},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
        )
        (self.logs / f"{log}.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"airflow {' '.join(args[:2])} failed (exit {result.returncode}):\n{tail}")
        return result.stdout

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        cmd = [str(BIN / "airflow"), *args]
        proc = self.stack.enter_context(
            background(
                cmd, self.logs / f"{name}.log", env={**self.env, **(env or {})}, stdout_pipe=False, grace_s=20
            )
        )
        self.processes[name] = proc
        return proc

    def _start_airflow(self) -> None:
        c = self.config
        api = self._spawn(
            "api-server",
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports["api"]),
            "--workers",
            "1",
        )
        self._spawn("scheduler", "scheduler")
        self._spawn("dag-processor", "dag-processor")
        self._spawn("triggerer", "triggerer")
        for n in range(1, c.workers + 1):
            name = f"worker-{n}"
            self.ports[f"{name}_logs"] = free_port()
            self._spawn(
                name,
                *("celery", "worker", "--queues", QUEUE, "--concurrency", str(c.worker_concurrency)),
                *("--celery-hostname", f"{name}@baidu-ocr-cluster", "--without-mingle", "--without-gossip"),
                env={
                    "BAIDU_OCR_WORKER_NAME": name,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "baidu_ocr_dev.worker_name.hostname",
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports[f"{name}_logs"]),
                },
            )
        say(
            f"Started api-server (:{self.ports['api']}), scheduler, dag-processor, triggerer, {c.workers} workers"
        )
        wait_for_port(self.ports["api"], api, "airflow api-server", timeout_s=180)
        self._wait_until(self._workers_ready, "the Celery workers to be ready", 180)
        self._wait_until(self._dags_parsed, "the DAGs to be parsed", 180)
        say("Cluster ready")

    def _wait_until(self, ready: Callable[[], bool], what: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what} (logs in {self.logs})")
            time.sleep(1)

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode} (log: {self.logs / name}.log)")

    def _workers_ready(self) -> bool:
        return all(
            " ready." in (self.logs / f"worker-{n}.log").read_text(errors="replace")
            for n in range(1, self.config.workers + 1)
        )

    def _dags_parsed(self) -> bool:
        wanted = (S3_DAG, TABLES_DAG, *((EVENTS_DAG,) if self.config.events else ()))
        rows = self.query("SELECT dag_id FROM serialized_dag WHERE dag_id = ANY(%s)", (list(wanted),))
        return len({r[0] for r in rows}) == len(wanted)

    # -- asking the cluster ------------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = (), db: str | None = None) -> list[tuple]:
        return _fetch(f"{self.config.postgres}/{db or self.config.metadata_db}", sql, params)

    def trigger(self, dag_id: str, conf: dict[str, Any], run_id: str) -> str:
        self.airflow("dags", "trigger", dag_id, "-c", json.dumps(conf), "-r", run_id, log=f"trigger-{run_id}")
        return run_id

    def wait(
        self,
        dag_id: str,
        run_id: str,
        timeout_s: float = 1800,
        on_poll: Callable[[], None] | None = None,
    ) -> str:
        """Poll the run's state once a second until it finished; ``on_poll`` watches along."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self.query("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
            state = rows[0][0] if rows else None
            if state in FINISHED:
                return state
            if on_poll is not None:
                on_poll()
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{dag_id} {run_id} still {state} after {timeout_s:.0f}s")
            time.sleep(1)

    def run_seconds(self, dag_id: str, run_id: str) -> float:
        [(seconds,)] = self.query(
            "SELECT EXTRACT(EPOCH FROM end_date - start_date) FROM dag_run WHERE dag_id = %s AND run_id = %s",
            (dag_id, run_id),
        )
        return float(seconds)

    def tasks_per_worker(self, dag_id: str, run_id: str, task_id: str) -> dict[str, int]:
        rows = self.query(
            "SELECT hostname, count(*) FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = %s "
            "GROUP BY hostname ORDER BY hostname",
            (dag_id, run_id, task_id),
        )
        return {host or "?": int(n) for host, n in rows}

    def phases(self, dag_id: str, run_id: str) -> dict[str, list[float]]:
        """Per task: [first start, last end] in seconds from the run's start (where the time went)."""
        rows = self.query(
            "SELECT ti.task_id, EXTRACT(EPOCH FROM min(ti.start_date) - r.start_date), "
            "EXTRACT(EPOCH FROM max(ti.end_date) - r.start_date) FROM task_instance ti "
            "JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id "
            "WHERE ti.dag_id = %s AND ti.run_id = %s GROUP BY ti.task_id, r.start_date ORDER BY 2",
            (dag_id, run_id),
        )
        return {task: [round(float(a or 0), 1), round(float(b or 0), 1)] for task, a, b in rows}

    def task_states(self, dag_id: str, run_id: str, task_id: str) -> list[str]:
        rows = self.query(
            "SELECT state FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = %s",
            (dag_id, run_id, task_id),
        )
        return [r[0] for r in rows]

    def trigger_rows(self) -> list[tuple[str, Any]]:
        return self.query("SELECT classpath, triggerer_id FROM trigger")

    def return_value(self, dag_id: str, run_id: str, task_id: str) -> Any:
        rows = self.query(
            "SELECT value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s AND key = 'return_value'",
            (dag_id, run_id, task_id),
        )
        if not rows:
            return None
        value = rows[0][0]
        return json.loads(value) if isinstance(value, str | bytes) else value

    def warehouse(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.query(sql, params, db=self.config.warehouse_db)

    def server(self, path: str, body: dict | None = None) -> dict:
        """``GET /_admin/<path>``, or POST ``body`` as JSON (state changes need it)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.ocr_url}/_admin/{path}", data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    # -- inputs --------------------------------------------------------------------------------------------

    def s3_client(self):
        import boto3

        if self.s3 is None:
            self.s3 = boto3.client(
                "s3",
                endpoint_url=self.s3_url,
                aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=MOTO_CREDENTIALS["AWS_DEFAULT_REGION"],
            )
            self.s3.create_bucket(Bucket=BUCKET)
        return self.s3

    def upload_images(self, prefix: str, n: int, seed: int = 0) -> None:
        """``n`` small distinct PNGs (the fixture engine answers them with one deterministic line)."""
        s3 = self.s3_client()
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: s3.put_object(
                        Bucket=BUCKET, Key=f"{prefix}img-{i:05d}.png", Body=distinct_png(seed + i)
                    ),
                    range(n),
                )
            )

    def upload_tables(self, prefix: str, samples: Path = TABLE_SAMPLES) -> int:
        s3 = self.s3_client()
        files = sorted(p for p in samples.iterdir() if p.suffix in (".png", ".jpg"))
        for path in files:
            s3.upload_file(str(path), BUCKET, prefix + path.name)
        return len(files)


def distinct_png(seed: int) -> bytes:
    """A 64x24 PNG whose pixels spell ``seed`` in binary: distinct content, distinct hash."""
    from PIL import Image

    img = Image.new("L", (64, 24), color=255)
    for bit in range(32):
        if seed >> bit & 1:
            img.putpixel((2 * bit, 10), 0)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


@contextmanager
def running_cluster(config: ClusterConfig) -> Iterator[Cluster]:
    """Start the cluster; on the way out (success, failure, Ctrl-C, SIGTERM) stop every process group."""
    with ExitStack() as stack:
        cluster = Cluster(config, stack)
        try:
            yield cluster.start()
        finally:
            say("Stopping the cluster...")
    say("Cluster stopped")


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM/SIGHUP become ``SystemExit`` so the ``finally`` blocks that stop the cluster run."""

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- the demo ------------------------------------------------------------------------------------------------


class DeferredWatch:
    """Watches a run for task instances in state ``deferred`` and trigger rows held by a triggerer."""

    def __init__(self, cluster: Cluster, dag_id: str, run_id: str, task_id: str) -> None:
        self.cluster, self.dag_id, self.run_id, self.task_id = cluster, dag_id, run_id, task_id
        self.max_deferred = 0
        self.max_busy = 0  # running or deferred at once
        self.max_triggers = 0
        self.triggers_held = False

    def __call__(self) -> None:
        states = self.cluster.task_states(self.dag_id, self.run_id, self.task_id)
        self.max_deferred = max(self.max_deferred, states.count("deferred"))
        self.max_busy = max(self.max_busy, states.count("deferred") + states.count("running"))
        rows = self.cluster.trigger_rows()
        self.max_triggers = max(self.max_triggers, len(rows))
        self.triggers_held |= any(triggerer_id is not None for _, triggerer_id in rows)


def run_s3_dag(
    cluster: Cluster,
    prefix: str,
    run_id: str,
    images: int,
    batch_size: int,
    faults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Trigger the S3 DAG over ``prefix``, wait, and collect what the cluster and the server saw.
    The server's counters start from zero; ``faults`` change its faults for this run."""
    from baidu_ocr_server.qps import qps_seen

    cluster.server("reset", {})
    if faults:
        cluster.server("config", faults)
    started = time.monotonic()
    cluster.trigger(S3_DAG, {"bucket": BUCKET, "prefix": prefix, "batch_size": batch_size}, run_id)
    state = cluster.wait(S3_DAG, run_id)
    stats = cluster.server("stats")
    seen = qps_seen(stats, "general_basic", cluster.config.qps)
    summary = cluster.return_value(S3_DAG, run_id, "summarize") or {}
    [(rows, distinct)] = cluster.warehouse(
        "SELECT count(*), count(DISTINCT content_sha256) FROM ocr_documents "
        "WHERE endpoint = 'general_basic' AND source_uri LIKE %s",
        (f"s3://{BUCKET}/{prefix}%",),
    )
    wall = cluster.run_seconds(S3_DAG, run_id)
    return {
        "run_id": run_id,
        "state": state,
        "images": images,
        "wall_s": round(wall, 1),
        "trigger_to_done_s": round(time.monotonic() - started, 1),
        "wall_over_ideal": round(wall / (images / cluster.config.qps), 3) if images else None,
        "tasks_per_worker": cluster.tasks_per_worker(S3_DAG, run_id, "ocr_batch"),
        "phases_s": cluster.phases(S3_DAG, run_id),
        "server": seen.as_dict(),
        "tokens_issued": stats["tokens_issued"],
        "errors_by_code": stats["errors"],
        "server_billable": stats["billable"],
        "summary": summary,
        "warehouse_rows": int(rows),
        "warehouse_distinct_images": int(distinct),
    }


def run_dags_test(cluster: Cluster, prefix: str, images: int, batch_size: int) -> dict[str, Any]:
    """The demo's way for comparison: ``airflow dags test`` (one process, mapped tasks one after another)
    over other images, same server, same limit; wall time from the command's start to its end."""
    from baidu_ocr_server.qps import qps_seen

    c = cluster.config
    # A metadata database of its own: `dags test` next to a live scheduler on the same one deadlocks.
    metadata = f"{c.metadata_db}_dagstest"
    recreate_database(c.postgres, metadata, template=template_database())
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(c.postgres, metadata)}
    cluster.airflow(
        "pools", "set", "baidu_ocr", str(c.pool_slots), "Baidu OCR", log="dags-test-pool", env=env
    )
    cluster.server("reset", {})
    conf = {"bucket": BUCKET, "prefix": prefix, "batch_size": batch_size}
    started = time.monotonic()
    try:
        cluster.airflow(
            "dags", "test", S3_DAG, "-c", json.dumps(conf), log="dags-test", env=env, timeout_s=3600
        )
    finally:
        wall = time.monotonic() - started
        _admin(c.postgres, f'DROP DATABASE IF EXISTS "{metadata}" WITH (FORCE)')
    stats = cluster.server("stats")
    seen = qps_seen(stats, "general_basic", cluster.config.qps)
    [(rows,)] = cluster.warehouse(
        "SELECT count(*) FROM ocr_documents WHERE source_uri LIKE %s", (f"s3://{BUCKET}/{prefix}%",)
    )
    return {
        "state": "success",
        "images": images,
        "wall_s": round(wall, 1),
        "wall_over_ideal": round(wall / (images / cluster.config.qps), 3),
        "server": seen.as_dict(),
        "errors_by_code": stats["errors"],
        "warehouse_rows": int(rows),
    }


def run_tables_dag(cluster: Cluster, prefix: str, run_id: str) -> dict[str, Any]:
    cluster.server("reset", {})
    cluster.trigger(
        TABLES_DAG,
        # The async form_ocr API (opt-in since table v2 is the default): the one whose jobs wait in the triggerer.
        {
            "bucket": BUCKET,
            "prefix": prefix,
            "api": "form_ocr",
            "batch_size": 3,
            "deferrable": True,
            "poll_interval": 1.0,
        },
        run_id,
    )
    watch = DeferredWatch(cluster, TABLES_DAG, run_id, "recognize_tables")
    state = cluster.wait(TABLES_DAG, run_id, on_poll=watch)
    [(cells,)] = cluster.warehouse("SELECT count(*) FROM ocr_table_cells")
    stats = cluster.server("stats")
    return {
        "run_id": run_id,
        "state": state,
        "max_deferred_task_instances": watch.max_deferred,
        "max_trigger_rows": watch.max_triggers,
        "triggers_held_by_triggerer": watch.triggers_held,
        "tasks_per_worker": cluster.tasks_per_worker(TABLES_DAG, run_id, "recognize_tables"),
        "table_cells": int(cells),
        "tokens_issued": stats["tokens_issued"],
        "table_jobs": stats["table_jobs"],
    }


def run_capped_dag(cluster: Cluster, dag_id: str, conf: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Trigger ``dag_id`` with ``conf`` (a ``max_billable_calls`` in it), wait, and count what the server
    billed: OCR calls, table jobs and parser tasks, and how many of the run's tasks were deferred at once."""
    cluster.server("reset", {})
    cluster.trigger(dag_id, {"bucket": BUCKET, **conf}, run_id)
    task_id = {S3_DAG: "ocr_batch", TABLES_DAG: "recognize_tables", PARSER_DAG: "parse_documents"}[dag_id]
    watch = DeferredWatch(cluster, dag_id, run_id, task_id)
    state = cluster.wait(dag_id, run_id, on_poll=watch)
    stats = cluster.server("stats")
    [(reserved,)] = cluster.warehouse(
        "SELECT COALESCE(MAX(reserved_calls), 0) FROM ocr_run_budget WHERE dag_id = %s AND run_id = %s",
        (dag_id, run_id),
    )
    return {
        "run_id": run_id,
        "state": state,
        "max_billable_calls": conf.get("max_billable_calls"),
        "billed": stats["billable"],  # OCR calls, table jobs and parser tasks the server accepted
        "jobs_submitted": stats["table_jobs"] + stats["parser_tasks"],
        "reserved_in_ledger": int(reserved),
        "tasks": len(cluster.task_states(dag_id, run_id, task_id)),
        "max_deferred_at_once": watch.max_deferred,
        "max_running_or_deferred": watch.max_busy,
        "summary": cluster.return_value(dag_id, run_id, "summarize") or {},
    }


def report(title: str, result: dict[str, Any]) -> None:
    print(f"\n== {title}: {result['state']}", flush=True)
    if "server" in result:
        s = result["server"]
        summary = result["summary"]
        print(
            f"  DAG wall time           {result['wall_s']}s for {result['images']} images "
            f"(ideal {result['images'] / s['limit']:.0f}s at {s['limit']:g} QPS; ratio {result['wall_over_ideal']})"
        )
        print(f"  OCR tasks per worker    {result['tasks_per_worker']}")
        print(f"  tasks [start, end] (s)  {result['phases_s']}")
        print(
            f"  server saw              {s['calls']} calls, {s['sustained_qps']} QPS sustained against a limit of "
            f"{s['limit']:g} ({s['throughput_ratio']:.0%}), max {s['max_in_one_second']} calls in one second"
        )
        print(
            f"  errors 18 returned      {s['rate_limited']} ({s['rate_limited_ratio']:.2%} of calls); all errors by code: {result['errors_by_code']}"
        )
        print(f"  token fetches           {result['tokens_issued']}")
        print(
            f"  billable calls          {summary.get('billable_calls')} (client), {result['server_billable']} (server)"
        )
        print(
            f"  pages ok / skipped docs {summary.get('pages_ok')} / {summary.get('documents_skipped')}; "
            f"retries {summary.get('retries')}; rows loaded {summary.get('rows_loaded')}"
        )
        print(
            f"  rows in ocr_documents   {result['warehouse_rows']} ({result['warehouse_distinct_images']} distinct images)"
        )
    else:
        for key in (
            "max_deferred_task_instances",
            "max_trigger_rows",
            "triggers_held_by_triggerer",
            "tasks_per_worker",
            "table_cells",
            "tokens_issued",
        ):
            print(f"  {key:<28}{result[key]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--qps", type=float, default=10.0, help="the server's limit and the connection's qps")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--pool-slots", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--token-ttl", type=float, default=None, help="the server's token lifetime (s)")
    parser.add_argument("--only-dags-test", action="store_true", help="skip the cluster's own runs")
    parser.add_argument(
        "--compare-dags-test",
        action="store_true",
        help="also time `airflow dags test` (the demo's way) over as many other images",
    )
    args = parser.parse_args(argv)
    config = ClusterConfig(
        workers=args.workers,
        worker_concurrency=args.worker_concurrency,
        pool_slots=args.pool_slots,
        qps=args.qps,
        token_ttl=args.token_ttl,
    )
    results: dict[str, Any] = {"config": {k: v for k, v in vars(args).items()}}
    try:
        with signals_raise(), running_cluster(config) as cluster:
            say(
                f"Uploading {args.images} images and {cluster.upload_tables('tables/')} table scans to s3://{BUCKET}/"
            )
            cluster.upload_images("images/", args.images)
            if not args.only_dags_test:
                say(f"Running {TABLES_DAG} with deferrable=True...")
                results["tables"] = tables = run_tables_dag(cluster, "tables/", "cluster_tables")
                report("tables (deferred to the triggerer)", tables)
                say(f"Running {S3_DAG} over {args.images} images...")
                results["first_run"] = first = run_s3_dag(
                    cluster, "images/", "cluster_first", args.images, args.batch_size
                )
                report("first run", first)
                say("Running it again (nothing new: 0 calls expected)...")
                results["rerun"] = rerun = run_s3_dag(cluster, "images/", "cluster_rerun", 0, args.batch_size)
                report("rerun", rerun)
            if args.compare_dags_test or args.only_dags_test:
                cluster.upload_images("dagstest/", args.images, seed=1_000_000)
                say(f"For comparison: `airflow dags test` over {args.images} other images...")
                results["dags_test"] = dags_test = run_dags_test(
                    cluster, "dagstest/", args.images, args.batch_size
                )
                s = dags_test["server"]
                print(
                    f"\n== airflow dags test: {dags_test['wall_s']}s for {args.images} images "
                    f"(ratio {dags_test['wall_over_ideal']}); server: {s['sustained_qps']} QPS sustained, "
                    f"max {s['max_in_one_second']} in one second, {s['rate_limited']} errors 18; "
                    f"{dags_test['warehouse_rows']} rows",
                    flush=True,
                )
    finally:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"cluster-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.write_text(json.dumps(results, indent=2, default=str))
        say(f"Results: {out}")
    states = [r["state"] for r in results.values() if isinstance(r, dict) and "state" in r]
    return 0 if all(state == "success" for state in states) else 1


if __name__ == "__main__":
    sys.exit(main())
