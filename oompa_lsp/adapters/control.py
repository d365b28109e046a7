"""The control inbox: how other processes ask the running engine to act.

The CLI (`oompa review`, `oompa stop`, `oompa requeue`) and a second editor window post one
JSON command file each into `.oompa/control/`; the engine takes them in the order they were
posted. Posting is atomic (temp file + rename), and taking renames each file to a private name
before reading it, so a command is carried out at most once even with two takers.

May import: the standard library, msgspec, oompa_lsp.core, oompa_lsp.adapters.atomic_files.
Must not import: engine, lsp, cli.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

import msgspec

from oompa_lsp.adapters.atomic_files import write_atomic
from oompa_lsp.core.commands import Command, decode_command, encode_command

logger = logging.getLogger(__name__)

_TAKING = ".taking-"


def inbox_dir(oompa_dir: Path) -> Path:
    return Path(oompa_dir) / "control"


def post(oompa_dir: Path, command: Command, sender: str = "") -> Path:
    """Leave a command for the engine; returns the file written."""
    command.sent_at = time.time()
    if sender:
        command.sender = sender
    # nanoseconds first, so file names sort in posting order; pid and random hex break ties
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}.json"
    path = inbox_dir(oompa_dir) / name
    write_atomic(path, encode_command(command))
    return path


def take(oompa_dir: Path) -> list[Command]:
    """Every command posted so far, oldest first, each removed from the inbox."""
    inbox = inbox_dir(oompa_dir)
    try:
        names = sorted(n for n in os.listdir(inbox) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return []
    taken = (_take_one(inbox, name) for name in names)
    return [command for command in taken if command is not None]


def _take_one(inbox: Path, name: str) -> Command | None:
    private = inbox / f"{_TAKING}{name}"
    try:
        os.rename(inbox / name, private)
    except FileNotFoundError:
        return None  # another taker got it
    try:
        return decode_command(private.read_bytes())
    except (msgspec.DecodeError, OSError) as exc:
        logger.warning("ignoring an unreadable command %s: %s", name, exc)
        return None
    finally:
        private.unlink(missing_ok=True)
