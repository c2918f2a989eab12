"""``[core] hostname_callable`` for several Celery workers on one machine.

Airflow records the worker that ran a task instance as its ``hostname``; two workers on one host would
report the same name. Each worker of ``make cluster-demo`` sets ``BAIDU_OCR_WORKER_NAME`` and
``AIRFLOW__CORE__HOSTNAME_CALLABLE=baidu_ocr_dev.worker_name.hostname``.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("BAIDU_OCR_WORKER_NAME") or socket.getfqdn()
