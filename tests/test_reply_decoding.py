"""Replies are decoded by msgspec for speed; whatever it accepts must read exactly as `json`
reads it (values and types: a huge integer stays an int, never a float), and what it refuses
goes to `json`, so no reply is read differently from before."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from worker.api.replies import _decode


def _as_json_reads_it(body: bytes) -> Any:
    """The reference: the standard library's reading (a byte-order mark tolerated)."""
    if not body:
        return None
    try:
        return json.loads(body.decode().removeprefix("\ufeff"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _same(body: bytes) -> None:
    # repr tells 1 from 1.0 and True from 1, and shows NaN and key order
    assert repr(_decode(body)) == repr(_as_json_reads_it(body))


_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2),
    st.floats(allow_nan=True, allow_infinity=True),
)
_texts = st.text(st.characters(codec=None))  # lone surrogates included
_values = st.recursive(
    st.none() | st.booleans() | _numbers | _texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400)
@given(_values, st.booleans(), st.booleans())
@example({"code": "0", "result": {"thumbnailList": [{"id": 2**64, "isPrimaryThumbnail": True}]}},
         False, False)  # fmt: skip
@example({"code": 18446744073709551616, "message": float("nan")}, True, False)
@example({"message": "\ud800"}, False, False)
def test_any_json_reply_reads_as_json_reads_it(value: Any, ascii_only: bool, bom: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    body = text.encode("utf-8", "surrogatepass")
    _same(("\ufeff".encode() if bom else b"") + body)


@settings(max_examples=400)
@given(st.binary(max_size=64))
@example(b'{"a":1,"a":2}')
@example(b"1e400")
@example(b"[" * 1000 + b"]" * 1000)  # as deep as json's recursion limit allows, and one more
@example(b"[" * 999 + b"]" * 999)
@example(b'"\xed\xa0\x80"')
def test_any_bytes_read_as_json_reads_them(body: bytes) -> None:
    _same(body)
