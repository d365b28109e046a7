"""Where worktrees live by default and how much disk a folder takes.

Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def default_worktree_root(repo_root: Path) -> Path:
    """`$XDG_CACHE_HOME/oompa/worktrees/<repo-name>-<hash>`: outside the user's working tree.

    The hash of the resolved repository path keeps two clones with the same name apart.
    """
    resolved = Path(os.path.realpath(repo_root))
    digest = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return _cache_home() / "oompa" / "worktrees" / f"{resolved.name or 'repo'}-{digest}"


def _cache_home() -> Path:
    # The XDG spec says relative values are invalid and must be ignored.
    configured = os.environ.get("XDG_CACHE_HOME", "")
    if configured and os.path.isabs(configured):
        return Path(configured)
    return Path.home() / ".cache"


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk under `path` (symlinks not followed, hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    pending = [os.fspath(path)]
    while pending:
        current = pending.pop()
        try:
            info = os.lstat(current)
        except OSError:
            continue
        if info.st_nlink > 1:
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
        total += _allocated(info)
        if stat.S_ISDIR(info.st_mode):
            pending.extend(_children(current))
    return total


def _allocated(info: os.stat_result) -> int:
    blocks = getattr(info, "st_blocks", None)
    return blocks * 512 if blocks is not None else info.st_size


def _children(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [entry.path for entry in entries]
    except OSError:
        return []
