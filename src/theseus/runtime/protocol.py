"""The wire between the supervisor and its workers: length-prefixed msgpack frames.

A frame is a 4-byte big-endian length followed by that many bytes of msgpack. Framing makes
message boundaries explicit (a pipe is a byte stream), and msgpack keeps JSON values compact
and fast to encode on both sides. The supervisor speaks it over asyncio streams; the worker,
which serves one call at a time, speaks it over plain blocking file descriptors.
"""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any

import msgpack

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class ProtocolError(Exception):
    """A frame was malformed or the peer closed the stream mid-frame."""


def encode(obj: Any) -> bytes:
    """One complete frame (header + payload) for ``obj``."""
    payload: bytes = msgpack.packb(obj, use_bin_type=True)
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME} byte limit")
    return HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> Any:
    """The object in one frame's payload."""
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise ProtocolError(f"undecodable frame: {exc}") from exc


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next object from ``reader``; EOFError when the peer closed cleanly between frames."""
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise EOFError("peer closed the stream") from None
        raise ProtocolError("stream closed inside a frame header") from None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_FRAME} byte limit")
    try:
        payload = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise ProtocolError("stream closed inside a frame") from None
    return decode(payload)


def _read_exactly(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            if remaining == size:
                raise EOFError("peer closed the stream")
            raise ProtocolError("stream closed inside a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame_fd(fd: int) -> Any:
    """Blocking read of the next object from a file descriptor (the worker side)."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size))
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_FRAME} byte limit")
    return decode(_read_exactly(fd, size)) if size else decode(b"")


def write_frame_fd(fd: int, obj: Any) -> None:
    """Blocking write of one whole frame to a file descriptor."""
    view = memoryview(encode(obj))
    while view:
        written = os.write(fd, view)
        view = view[written:]
