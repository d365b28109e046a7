"""Programs some end-to-end tests drive (Chromium, tmux): found, or installed from Debian's
packages on a fresh machine the way vscode-extension/scripts/install-code-server.sh installs
its own (apt-get as root, or through sudo), so a test never passes by skipping silently."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium() -> str:
    """Debian's Chromium (or $OOMPA_E2E_CHROMIUM, as the extension's e2e driver reads it)."""
    override = os.environ.get("OOMPA_E2E_CHROMIUM")
    if override:
        return override
    found = next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), None)
    return found or _installed("chromium", "chromium")


def tmux() -> str:
    return shutil.which("tmux") or _installed("tmux", "tmux")


def _installed(binary: str, package: str) -> str:
    if shutil.which("apt-get") is None:
        pytest.fail(f"{binary} is needed by this test: install it (Debian package {package!r})")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run([*sudo, *argv], env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"could not install {package} for this test: {done.stderr.strip()[-500:]}")
    path = shutil.which(binary) or next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), None)
    if path is None:
        pytest.fail(f"{package} installed but {binary} is not on PATH")
    return path
