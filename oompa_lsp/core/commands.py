"""Commands: what another process (the CLI, a second editor window) asks the running engine to do.

They travel through the control inbox (`oompa_lsp.adapters.control`) as one JSON file each,
a msgspec tagged union like the events; imperative names, because they are requests the
engine may still refuse (a review that no longer exists, a task in the wrong state).

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec
from msgspec import Struct

from .review_notes import LineComment


class _Command(Struct, tag_field="type", tag=True, kw_only=True, omit_defaults=True):
    sent_at: float = 0.0  # unix time, set by the inbox when posted
    sender: str = ""  # who asked, for the log ("oompa review", "editor pid 4242")


class Approve(_Command):
    review_id: str
    comments: list[LineComment] = []  # notes for the log, checked by the sender


class Reject(_Command):
    review_id: str
    feedback: str
    comments: list[LineComment] = []  # checked by the sender, with the lines' text


class Requeue(_Command):
    task_id: str


class CancelTask(_Command):
    task_id: str


class StopSwarm(_Command):
    reason: str = "stopped by the user"


class ResumeQueue(_Command):
    """The user looked at a move of the target the queue did not make: land again."""


Command: TypeAlias = Approve | Reject | Requeue | CancelTask | StopSwarm | ResumeQueue

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Command)


def encode_command(command: Command) -> bytes:
    return _encoder.encode(command)


def decode_command(data: bytes) -> Command:
    """Raises msgspec.DecodeError (malformed or unknown command); the inbox logs and skips it."""
    return _decoder.decode(data)
