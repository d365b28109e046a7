"""The server's stdout writes every JSON-RPC message whole, even when the pipe is full and the
descriptor non-blocking (a message cut short desynchronises the editor for good)."""

from __future__ import annotations

import os
import threading
import time

from oompa_lsp.lsp.whole_writes import WholeWrites


def test_a_message_larger_than_the_pipe_arrives_whole_and_in_order():
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # a full pipe makes os.write raise or write short
    received = bytearray()

    def slow_reader() -> None:
        while chunk := os.read(read_end, 4096):
            received.extend(chunk)
            time.sleep(0.0005)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    messages = [bytes([65 + n]) * 400_000 for n in range(3)]  # each far above the 64 KiB pipe
    writer = WholeWrites(write_end)
    for message in messages:
        assert writer.write(message) == len(message)
    writer.close()
    reader.join(timeout=60)
    os.close(read_end)
    assert bytes(received) == b"".join(messages)
