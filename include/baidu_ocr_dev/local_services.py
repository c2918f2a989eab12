"""Background processes for the demos and the cluster test: free ports, process groups, clean shutdown.

Each process gets a session (process group) of its own, so that stopping it also stops what it started
(Celery's pool processes, Airflow's task and log-server subprocesses): SIGTERM to the group, then SIGKILL
to whatever is left after a grace period.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (connections of a stopped server may linger in TIME_WAIT: not bound)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout_s:.0f}s")


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the process's group, wait up to ``grace_s``, then SIGKILL the group (stragglers included)."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None and proc.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    if pgid is not None:
        _signal_group(pgid, signal.SIGKILL)  # children that outlived their leader, or a leader that hung
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


@contextmanager
def background(
    cmd: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
    stdout_pipe: bool = True,
    grace_s: float = 10.0,
) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` in its own process group for the duration of the block; stop the group on the way out."""
    log = log_path.open("w")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if stdout_pipe else log,
        stderr=log if stdout_pipe else subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        stop_group(proc, grace_s)
        log.close()


def start_moto(stack: ExitStack, logs: Path) -> str:
    port = free_port()
    proc = stack.enter_context(
        background([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], logs / "moto.log")
    )
    wait_for_port(port, proc, "moto_server")
    return f"http://127.0.0.1:{port}"


def start_ocr_server(
    stack: ExitStack,
    logs: Path,
    api_key: str,
    secret_key: str,
    *options: str,
    engine: str = "rapidocr",
    bin_dir: Path = BIN,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> str:
    """The local Baidu-compatible server; ``options`` are more CLI flags (``--qps 10`` ...). Returns its URL.

    ``bin_dir``, ``env`` and ``cwd`` run another installation's console script (the wheel test's virtualenv).
    """
    cmd = [
        str(bin_dir / "baidu-ocr-server"),
        *("--host", "127.0.0.1", "--port", "0", "--engine", engine),
        f"--api-key={api_key}",
        f"--secret-key={secret_key}",  # "=": a key may start with "-" (token_urlsafe), not an option
        *options,
    ]
    proc = stack.enter_context(background(cmd, logs / "ocr-server.log", env=env, cwd=cwd))
    first = proc.stdout.readline().strip()  # the CLI's contract: "listening on http://HOST:PORT" first
    if not first.startswith("listening on "):
        raise RuntimeError(f"baidu-ocr-server did not start (see {logs / 'ocr-server.log'}): {first!r}")
    return first.removeprefix("listening on ")


EVENTS_QUEUE = "baidu-ocr-events"
EVENTS_PREFIX = "incoming/"


def wire_s3_events(
    endpoint_url: str,
    bucket: str,
    *,
    queue: str = EVENTS_QUEUE,
    prefix: str = EVENTS_PREFIX,
    region: str = "us-east-1",
    timeout_s: float = 10.0,
    credentials: dict[str, str] | None = None,
) -> str:
    """Create an SQS queue and send ``bucket``'s ``s3:ObjectCreated:*`` notifications under ``prefix`` to it,
    as a real bucket is wired (the README's "Event-driven ingestion"); return the queue URL.

    On the moto server (server mode: the SQS trigger's aiobotocore is not intercepted by ``mock_aws``). The
    test event S3 sends when the configuration is set is received here, proving the wiring, and deleted.
    ``credentials``: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (default: the environment's; moto
    accepts any).
    """
    import json

    import boto3

    clients = {"endpoint_url": endpoint_url, "region_name": region}
    if credentials:
        clients.update(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        )
    sqs, s3 = boto3.client("sqs", **clients), boto3.client("s3", **clients)
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "baidu-ocr-events",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
            ]
        },
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for msg in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
            if json.loads(msg["Body"]).get("Event") == "s3:TestEvent":
                return url
    raise RuntimeError(f"S3 sent no test event to {url} within {timeout_s:.0f}s: notifications not delivered")
