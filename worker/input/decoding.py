"""Text lines from the input's byte lines, in the encoding asked for (`--encoding`).

`auto` reads UTF-8 unless the input starts with a UTF-16 byte-order mark (Excel's "Unicode
text"). UTF-8 decodes line by line (fast, and a bad byte names its line); other codecs go
through one incremental decoder, because UTF-16 splits its characters across b"\\n" bytes.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from itertools import chain

from worker.errors import InputError
from worker.input.lines import MAX_LINE_BYTES, LineTooLongError

AUTO = "auto"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})
# Excel in Korea saves "CSV" as CP949; it is the likeliest cause of bytes that are not UTF-8.
_NOT_UTF8_HINT = (
    "if it was saved by Excel in Korea, use --encoding cp949 (or name the file's encoding "
    "with --encoding)"
)


def check_encoding(name: str) -> str:
    """`auto` or a codec Python knows (as given, trimmed); ValueError naming it otherwise."""
    name = name.strip()
    if name.lower() == AUTO:
        return AUTO
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}: use auto, utf-8, cp949, utf-16 or "
                         "another Python codec name") from None  # fmt: skip
    return name


def text_lines(raw_lines: Iterable[bytes], name: str, encoding: str) -> Iterator[str]:
    """Decode byte lines into text lines that keep their endings; an initial BOM is dropped.

    It reads the first line at once (to see a byte-order mark) and returns the decoding
    generator itself rather than a generator around it: one Python frame less per line.
    """
    raw = iter(raw_lines)
    first = next(raw, b"")
    if not first:
        return iter(())
    lines = chain((first,), raw)
    auto = encoding == AUTO
    if auto:
        encoding = "utf-16" if first.startswith(_UTF16_BOMS) else "utf-8"
    if codecs.lookup(encoding).name in _UTF8_NAMES:
        return _utf8_lines(lines, name, hint=auto)
    return _decoded_lines(lines, name, encoding)


def _utf8_lines(raw_lines: Iterable[bytes], name: str, *, hint: bool) -> Iterator[str]:
    """UTF-8 line by line: splitting at b"\\n" never cuts a UTF-8 sequence."""
    encoding = "utf-8-sig"
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            message = f"input {name} is not valid UTF-8 (line {number})"
            raise InputError(f"{message}: {_NOT_UTF8_HINT}" if hint else message) from None
        encoding = "utf-8"
        yield text


def _decoded_lines(raw_lines: Iterable[bytes], name: str, encoding: str) -> Iterator[str]:
    """Any codec through one incremental decoder, re-split at "\\n" with the 1 MiB rule."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    number = 0  # complete text lines yielded so far
    pending = ""  # the text of the line being read
    at_start = True
    try:
        for raw in raw_lines:
            state = decoder.getstate()
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as exc:
                decoder.setstate(state)  # re-decode the good part, to count its line breaks
                before = pending + decoder.decode(raw[: exc.start])
                raise _not_valid(name, encoding, number + 1 + before.count("\n")) from None
            if at_start and text:
                text, at_start = text.removeprefix("\ufeff"), False
            pending += text
            if "\n" in pending:
                *complete, pending = pending.split("\n")
                for line in complete:
                    number += 1
                    yield line + "\n"
            if len(pending) > MAX_LINE_BYTES:
                raise LineTooLongError(number + 1, name)
    except LineTooLongError:
        # The byte lines of UTF-16 are not its text lines: name the text line instead.
        raise LineTooLongError(number + 1, name) from None
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # the input ends inside a character
        raise _not_valid(name, encoding, number + 1 + pending.count("\n")) from None
    if pending:
        yield pending


def _not_valid(name: str, encoding: str, line: int) -> InputError:
    """The error for bytes the chosen codec cannot decode."""
    return InputError(
        f"input {name} is not valid {encoding} (line {line}): check --encoding "
        "(utf-8, cp949, utf-16, ...)"
    )
