"""Parent side of the worker protocol: length-prefixed JSON frames over a pipe or socket.

Shared by both backends; a worker that stops answering within the deadline is treated as
dead (the caller restarts it), so one wedged worker never hangs a batch.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Callable

_HEADER = struct.Struct(">Q")
# Largest response accepted: results are capped at max_result_bytes (16 MiB by default) in the
# worker; anything far bigger means a broken worker, which is replaced rather than believed.
MAX_FRAME_BYTES = 256 * 1024 * 1024


class WorkerDied(RuntimeError):
    """The worker closed its channel or missed its deadline."""


class Channel:
    """A request/response link to one warm worker (read fd, write fd, and how to close it)."""

    def __init__(self, read_fd: int, write_fd: int, closer: Callable[[], None], hello_timeout_s: float = 60.0):
        self.read_fd, self.write_fd, self._closer = read_fd, write_fd, closer
        self.closed = False
        self.hello = self._read_frame(time.monotonic() + hello_timeout_s)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks, remaining = [], size
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise WorkerDied("worker did not answer before its deadline")
            chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            if not chunk:
                raise WorkerDied("worker closed its channel")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _read_frame(self, deadline: float) -> dict:
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
        if size > MAX_FRAME_BYTES:
            raise WorkerDied(f"worker sent a {size}-byte frame (limit {MAX_FRAME_BYTES})")
        try:
            return json.loads(self._read_exact(size, deadline))
        except (ValueError, RecursionError) as exc:
            raise WorkerDied(f"worker sent a frame that is not JSON: {exc}") from None

    def request(self, payload: dict, timeout_s: float) -> dict:
        if self.closed:  # never write to a closed descriptor number (it may be reused)
            raise WorkerDied("worker channel is closed")
        data = json.dumps(payload).encode()
        view = memoryview(_HEADER.pack(len(data)) + data)
        try:
            while view:
                view = view[os.write(self.write_fd, view):]
        except OSError as exc:
            raise WorkerDied(f"could not write to worker: {exc}") from None
        return self._read_frame(time.monotonic() + timeout_s)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._closer()
