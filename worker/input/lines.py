"""Physical lines of the input: bounded byte lines, then UTF-8 text lines with their endings.

Reading one line at a time is what lets inputs of any length through in constant memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import BinaryIO

from worker.errors import InputError

MAX_LINE_BYTES = 1 << 20
"""A physical line longer than this (1 MiB) makes the input unusable."""

BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte-order mark some editors put at the start of a file."""

_AFTER_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def byte_lines(stream: BinaryIO, name: str) -> Iterator[bytes]:
    """Raw lines of the stream, each ending in b"\\n" except perhaps the last."""
    number = 0
    while True:
        number += 1
        try:
            raw = stream.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read input {name}: {exc.strerror or exc}") from None
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise InputError(f"line {number} of input {name} is longer than 1 MiB")
        yield raw


def peek_head(raw_lines: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """Read up to the first non-blank line; return it and an iterator over all lines."""
    seen: list[bytes] = []
    for raw in raw_lines:
        seen.append(raw)
        if raw.removeprefix(BOM).strip():
            return raw, chain(seen, raw_lines)
    return b"", iter(seen)


def text_lines(raw_lines: Iterable[bytes], name: str, *, split_lone_cr: bool) -> Iterator[str]:
    """Decode lines as UTF-8 (an initial BOM is dropped), keeping their line endings.

    With `split_lone_cr` a lone "\\r" also ends a line (old Mac files), as it does for
    the csv module. Splitting at b"\\n" never cuts a UTF-8 sequence, so lines decode alone.
    """
    number = 0
    encoding = "utf-8-sig"
    for raw in raw_lines:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise InputError(f"input {name} is not valid UTF-8 (line {number + 1})") from None
        encoding = "utf-8"
        pieces = _AFTER_LONE_CR.split(text) if split_lone_cr and "\r" in text else [text]
        for piece in pieces:
            if piece:
                number += 1
                yield piece
