"""Shared pytest fixtures."""

from collections.abc import Iterator

import pytest

from http_server import TestServer


@pytest.fixture
def http_server() -> Iterator[TestServer]:
    """A running tests/http_server.TestServer on 127.0.0.1:<free port>, closed after the test."""
    with TestServer() as server:
        yield server
