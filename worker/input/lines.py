"""Physical lines of the input: bounded byte lines, then text lines with their endings.

Reading one line at a time is what lets inputs of any length through in constant memory.
How the bytes become text (UTF-8, CP949, UTF-16, ...) is `decoding`'s business.
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


class LineTooLongError(InputError):
    """A line of the input is longer than 1 MiB."""

    def __init__(self, line: int, name: str) -> None:
        super().__init__(f"line {line} of input {name} is longer than 1 MiB")


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
            raise LineTooLongError(number, name)
        yield raw


def peek_head(lines: Iterator[str]) -> tuple[str, Iterator[str]]:
    """Read up to the first non-blank text line; return it and an iterator over all lines."""
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.strip():
            return line, chain(seen, lines)
    return "", iter(seen)


def split_lone_cr(lines: Iterable[str]) -> Iterator[str]:
    """Let a lone "\\r" end a line too (old Mac files), as it does for the csv module."""
    for text in lines:
        if "\r" not in text:
            yield text
            continue
        for piece in _AFTER_LONE_CR.split(text):
            if piece:
                yield piece
