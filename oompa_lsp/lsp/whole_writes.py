"""The server's stdout: a writer that puts every JSON-RPC message out whole.

Must not import: anything of oompa_lsp (it is plumbing under the server).
"""

from __future__ import annotations

import os
import select
import threading


class WholeWrites:
    """stdout for the JSON-RPC stream, writing every message whole.

    A message of hundreds of kilobytes (2,000 diagnostics) was once seen cut at a pipe-buffer
    boundary with the rest dropped, which desynchronises the client for good. Writing with
    os.write until every byte is out, waiting when the pipe is full (even if the descriptor
    was made non-blocking), rules that out."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        with self._lock:
            while view:
                try:
                    view = view[os.write(self.fd, view) :]
                except BlockingIOError:
                    select.select([], [self.fd], [], 1.0)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        os.close(self.fd)
