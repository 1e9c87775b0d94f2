"""The input formats and CSV delimiters: the one definition the reader and the settings share."""

from __future__ import annotations

from typing import Literal, get_args

from worker.errors import InputError
from worker.input.display import show

InputFormat = Literal["auto", "csv", "jsonl"]
"""What `--format` accepts: a format, or "auto" to decide by file extension, then by content."""

INPUT_FORMATS: tuple[InputFormat, ...] = get_args(InputFormat)

Format = Literal["csv", "jsonl"]
"""A format the input is actually parsed as."""

DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "\\t": "\t"}
"""Each accepted spelling of a CSV delimiter, and the character it stands for."""


def format_from_name(source: str, fmt: InputFormat) -> Format | None:
    """The format fixed by `fmt` or by the file extension, or None when sniffing is needed."""
    if fmt != "auto":
        return fmt
    lowered = source.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return None


def csv_delimiter(delimiter: str) -> str:
    """Map the accepted spellings of a delimiter to the character itself."""
    found = DELIMITERS.get(delimiter) or DELIMITERS.get(delimiter.lower())
    if found is None:
        raise InputError(f"unsupported CSV delimiter {show(delimiter)}: use ',', ';' or tab")
    return found
