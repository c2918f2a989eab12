"""Talking to Baidu: connection settings, tokens, the QPS limit, endpoints, errors, forms and async job rules.

The machinery under the hooks; nothing here knows about S3, staging or the warehouse.
"""
