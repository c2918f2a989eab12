"""The server tests' sample set and helpers, shared (fixtures imported here are registered here)."""

from tests.dags.conftest import airflow_db, baidu_ocr_server, moto_url, s3_env, sqlite_warehouse  # noqa: F401
from tests.security.test_credentials import masked, pristine_redaction  # noqa: F401 - pytest fixtures
from tests.server.conftest import samples, server, token  # noqa: F401 - pytest fixtures
from tests.unit.operators.conftest import s3, scripted_hook, scripted_table_hook  # noqa: F401
