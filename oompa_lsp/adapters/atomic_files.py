"""Whole-file writes that a reader in another process sees either entirely or not at all.

The file system's promise used here: `os.replace` and `os.link` within one folder are atomic.
A temp file (a dot file, so folder scans skip it) is written next to the target and then
replaced onto it, or linked to it when the target must not already exist.

May import: the standard library. Must not import: any other oompa_lsp layer.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

FILE_MODE = 0o644  # mkstemp's 0600 would hide the files from the user's other tools


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step (creating the folder if needed)."""
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def create_exclusive(path: Path, data: bytes) -> None:
    """Create `path` with `data` in one step; raises FileExistsError if it already exists."""
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)  # unlike rename, link refuses to replace an existing name
    finally:
        os.unlink(tmp)


def _write_temp(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp
