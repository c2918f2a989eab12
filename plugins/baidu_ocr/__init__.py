"""Apache Airflow provider for Baidu AI Cloud OCR (文字识别).

Importing this package does no I/O: the DAG processor imports it constantly.
"""

__version__ = "0.1.0"
