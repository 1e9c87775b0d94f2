"""Reading the job input: CSV or JSON Lines in, jobs or invalid rows out (the public entry points).

Every record of the input becomes either a `Job` (delete these thumbnails of one person)
or an `InvalidRow` (why the record cannot be used). Both carry the 1-based physical line
number where the record starts. Problems that make the whole input unusable (a missing
file, bytes that are not in the input's encoding, a CSV header without the needed columns) raise
`InputError` instead; no other exception leaves `read_jobs`.

The input is read one line at a time, so inputs of any length can be processed. The stages
live beside this module: `lines` (bytes to text lines), `csv_reader` and `jsonl_reader` (one
per format), `fields` (which columns or keys are known) and `validation` (values to a job).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from worker.errors import InputError
from worker.input.csv_reader import read_csv
from worker.input.decoding import AUTO, check_encoding, text_lines
from worker.input.formats import (
    INPUT_FORMATS,
    Format,
    InputFormat,
    csv_delimiter,
    format_from_name,
)
from worker.input.jsonl_reader import read_jsonl
from worker.input.lines import MAX_LINE_BYTES, byte_lines, peek_head, split_lone_cr
from worker.input.validation import MAX_ID, InvalidRow, Job

__all__ = [
    "MAX_ID",
    "MAX_LINE_BYTES",
    "Format",
    "InputFormat",
    "InvalidRow",
    "Job",
    "detect_format",
    "open_input",
    "read_jobs",
]


def open_input(source: str) -> BinaryIO:
    """Open `source` for binary reading: "-" is standard input, anything else a file path."""
    if source == "-":
        stdin = sys.stdin
        if stdin is None or getattr(stdin, "buffer", None) is None:
            raise InputError("cannot read input '-': standard input is not available")
        return stdin.buffer
    try:
        return open(source, "rb")  # the caller closes it
    except OSError as exc:
        raise InputError(f"cannot read input {source!r}: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an embedded NUL character in the path
        raise InputError(f"cannot read input {source!r}: {exc}") from None


def detect_format(source: str, fmt: InputFormat, head: str | bytes = "") -> Format:
    """Decide how to parse the input.

    An explicit `fmt` wins, then the file extension; otherwise `head` (the first
    non-blank line of the input) is sniffed: a leading `{` means JSON Lines, else CSV.
    """
    by_name = format_from_name(source, fmt)
    if by_name is not None:
        return by_name
    if isinstance(head, bytes):
        head = head.decode("utf-8", "replace")
    return "jsonl" if head.removeprefix("\ufeff").lstrip().startswith("{") else "csv"


def read_jobs(
    source: str, fmt: InputFormat = "auto", delimiter: str = ",", encoding: str = AUTO
) -> Iterator[Job | InvalidRow]:
    """Yield a `Job` or an `InvalidRow` for every non-blank record of `source`, in order.

    `source` is a file path or "-" for standard input; `delimiter` (CSV only) is ",",
    ";" or a tab ("\\t", "tab"); `encoding` is "auto" (UTF-8, or UTF-16 by its byte-order
    mark) or a Python codec name. Being a generator, it does all its work lazily: even
    a missing file raises `InputError` only on the first `next()`.
    """
    csv_separator = csv_delimiter(delimiter)
    if fmt not in INPUT_FORMATS:
        raise InputError(f"unknown input format {fmt!r}: use auto, csv or jsonl")
    try:
        encoding = check_encoding(encoding)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    name = _display_name(source)
    stream = open_input(source)
    try:
        lines = text_lines(_refuse_empty(byte_lines(stream, name), name), name, encoding)
        resolved = format_from_name(source, fmt)
        if resolved is None:
            head, lines = peek_head(lines)
            resolved = detect_format(source, fmt, head)
        if resolved == "jsonl":
            yield from read_jsonl(lines)
        else:
            yield from read_csv(split_lone_cr(lines), csv_separator, name)
    finally:
        if source != "-":
            stream.close()


def _refuse_empty(raw_lines: Iterator[bytes], name: str) -> Iterator[bytes]:
    """The lines, but an input of 0 bytes is an error: it is what a failed producer leaves in a
    pipe (`psql ... | thumbsweep run -`), never a deliberate job. A header alone is one."""
    first = next(raw_lines, None)
    if first is None:
        raise InputError(
            f"input {name} is empty (0 bytes): nothing to do. If it came from a pipe, the "
            "command before thumbsweep probably failed; an empty job is a CSV header alone"
        )
    return chain((first,), raw_lines)  # not a generator: no Python frame per line


def _display_name(source: str) -> str:
    """How messages name the input."""
    return "<stdin>" if source == "-" else repr(source)
