"""Just enough of PNG to judge a screenshot: its size and how many pixel rows hold something.

A row of one colour, once PNG-filtered, is a constant run of bytes whatever filter the encoder
chose (None repeats the colour; Sub, Up, Average and Paeth leave zeros after the first pixel
when the row above is the same colour). So a filtered row whose bytes after its first pixel are
not all equal has detail: text, a border, a chart. This needs zlib only, not an imaging library,
and no per-pixel Python loop over a large screenshot.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BYTES_PER_PIXEL = {0: 1, 2: 3, 4: 2, 6: 4}  # 8-bit grey, RGB, grey+alpha, RGBA


@dataclass(frozen=True)
class Screenshot:
    """A PNG's size and, per pixel row, whether it holds more than one colour."""

    width: int
    height: int
    detailed_rows: list[bool]

    @property
    def detail(self) -> float:
        """The share of rows that hold more than one colour."""
        return sum(self.detailed_rows) / max(1, self.height)


def read_png(path: Path) -> Screenshot:
    """Reads an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    offset, idat, header = len(SIGNATURE), bytearray(), b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IHDR":
            header = data[offset + 8 : offset + 8 + length]
        elif kind == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in BYTES_PER_PIXEL or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    pixel = BYTES_PER_PIXEL[colour]
    stride = width * pixel + 1  # each row starts with its filter type
    raw = zlib.decompress(bytes(idat))
    if len(raw) != stride * height:
        raise ValueError(f"{path}: {len(raw)} bytes of pixels, expected {stride * height}")
    rows = [raw[y * stride + 1 + pixel : (y + 1) * stride] for y in range(height)]
    return Screenshot(width, height, [len(set(row)) > 1 for row in rows])
