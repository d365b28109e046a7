"""Fixtures of the language-server tests (helpers in lsp_helpers.py)."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from lsp_helpers import OompaClient, stop_client


@pytest.fixture
def marker() -> str:
    return f"oompa-test-agent-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture
async def clients():
    """Clients a test starts; each is shut down (with a timeout) even when the test fails."""
    started: list[OompaClient] = []
    yield started
    for client in reversed(started):
        try:
            await stop_client(client)
        except Exception:
            if client._server is not None and client._server.returncode is None:
                client._server.kill()
