"""Fixtures of the real-CLI tests: the pinned CLIs (installed from npm on first use) and a clean
environment in which nothing of the machine's own agent set-up can reach them.

A CLI fixture skips its tests, with the reason, when Node or npm is missing, or when
OOMPA_SKIP_REAL_CLIS is set; an npm failure is a test failure (CI has Node and the registry).
"""

from __future__ import annotations

import os

import pytest

from .clis import FOREIGN_VARIABLES
from .install_clis import CannotInstall, InstalledCli, install, node_missing


@pytest.fixture
def anyio_backend():
    return "asyncio"


def installed(name: str) -> InstalledCli:
    if os.environ.get("OOMPA_SKIP_REAL_CLIS"):
        pytest.skip(f"real {name} CLI not run: OOMPA_SKIP_REAL_CLIS is set")
    problem = node_missing()
    if problem:
        pytest.skip(f"real {name} CLI not run: {problem}")
    try:
        return install(name)
    except CannotInstall as exc:
        pytest.fail(f"could not install the pinned {name} CLI: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def claude_cli() -> InstalledCli:
    return installed("claude")


@pytest.fixture(scope="session")
def codex_cli() -> InstalledCli:
    return installed("codex")


@pytest.fixture(scope="session")
def gemini_cli() -> InstalledCli:
    return installed("gemini")


@pytest.fixture(scope="session")
def opencode_cli() -> InstalledCli:
    return installed("opencode")


@pytest.fixture(autouse=True)
def clean_agent_environment(monkeypatch):
    for name in FOREIGN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
