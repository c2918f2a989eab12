"""The server tests' sample set and helpers, shared (fixtures imported here are registered here)."""

from tests.server.conftest import samples, server, token  # noqa: F401 - pytest fixtures
