"""Where things are in a JSON document: byte offsets to line/column, key paths to ranges.

msgspec tells *what* is wrong (a path like `$.workers[0].model`, or a byte offset for a
syntax error); this module tells *where*, so errors can name a line and column and editor
diagnostics can underline the exact value.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from msgspec import Struct

if TYPE_CHECKING:
    from _json import scanstring
else:
    # the C scanner where there is one, as json itself uses; typeshed lists it only in _json
    from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*")
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_BYTE = re.compile(r"\(byte (\d+)\)")
_UTF8_BOM = b"\xef\xbb\xbf"


class Position(Struct, frozen=True):
    line: int  # 0-based
    character: int  # 0-based, in characters


class Span(Struct, frozen=True):
    start: Position
    end: Position


def without_bom(data: bytes) -> bytes:
    """The document without a leading UTF-8 byte order mark (Notepad writes one). It is not
    content: editors hide it, so positions are counted without it too."""
    return data.removeprefix(_UTF8_BOM)


def position_at(text: str, index: int) -> Position:
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    return Position(line, index - start)


def byte_offset_in(message: str) -> int | None:
    """The byte offset msgspec names in a malformed-JSON message, if any."""
    found = _BYTE.search(message)
    return int(found.group(1)) if found else None


def char_index(data: bytes, byte_offset: int) -> int:
    return len(data[:byte_offset].decode("utf-8", errors="replace"))


def split_path(path: str) -> list[str | int]:
    """`$.workers[0].model` -> ["workers", 0, "model"]; a key msgspec does not name
    (`$.prices[...]`) ends the path at its object."""
    parts: list[str | int] = []
    for key, index in _PATH_PART.findall(path.removeprefix("$").split("[...]")[0]):
        parts.append(int(index) if index else key)
    return parts


def span_of_path(text: str, parts: list[str | int], key_only: bool = False) -> Span | None:
    """The span of the value at `parts` (or of its key, with key_only); None if absent."""
    try:
        found = _Locator(text).find(parts, key_only)
    except (ValueError, IndexError):
        return None
    if found is None:
        return None
    return Span(position_at(text, found[0]), position_at(text, found[1]))


class _Locator:
    """A small scanner over the JSON text that skips values without building them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()

    def skip_ws(self, i: int) -> int:
        match = _WS.match(self.text, i)
        assert match is not None  # `[...]*` matches the empty string too
        return match.end()

    def find(self, parts: list[str | int], key_only: bool) -> tuple[int, int] | None:
        i = self.skip_ws(0)
        key_span: tuple[int, int] | None = None
        for part in parts:
            found = self.child(i, part)
            if found is None:
                return None
            key_span, i = found
        if key_only and key_span is not None:
            return key_span
        return i, self.value_end(i)

    def child(self, i: int, part: str | int) -> tuple[tuple[int, int] | None, int] | None:
        opener = self.text[i]
        if opener == "{" and isinstance(part, str):
            return self.member(i, part)
        if opener == "[" and isinstance(part, int):
            return self.element(i, part)
        return None

    def member(self, i: int, name: str) -> tuple[tuple[int, int], int] | None:
        i = self.skip_ws(i + 1)
        while self.text[i] != "}":
            key, key_end = scanstring(self.text, i + 1)
            value_start = self.skip_ws(self.skip_ws(key_end) + 1)
            if key == name:
                return (i, key_end), value_start
            i = self.after_item(self.value_end(value_start))
        return None

    def element(self, i: int, index: int) -> tuple[None, int] | None:
        i = self.skip_ws(i + 1)
        count = 0
        while self.text[i] != "]":
            if count == index:
                return None, i
            i = self.after_item(self.value_end(i))
            count += 1
        return None

    def after_item(self, i: int) -> int:
        i = self.skip_ws(i)
        return self.skip_ws(i + 1) if self.text[i] == "," else i

    def value_end(self, i: int) -> int:
        return self.decoder.raw_decode(self.text, i)[1]
