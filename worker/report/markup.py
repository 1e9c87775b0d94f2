"""Ledger text and figures made safe for the HTML report: cleaned, cut, escaped, and marked.

Everything in a report that came from a ledger (workspaces, messages, run ids, file names) is
text an attacker may have written into an input file or an API reply. It is cut to a bounded
length, stripped of what could break or disguise the page (control characters, lone
surrogates, noncharacters, bidi overrides that reorder what follows), then HTML-escaped.
Figures carry their exact value as JSON in a `data-value` attribute beside the text people
read, so tests (and scripts) can read the page's numbers back.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from worker.clock import REPORT_MOMENT

ABSENT = "\u2014"  # an em dash: unknown, null, or not applicable
TEXT_LIMIT = 300  # characters of a message shown; the rest is cut (a ledger line can be huge)
NAME_LIMIT = 120  # characters of a name: workspace, run id, host, ledger file

_NONCHARACTERS = "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
# C0 controls but tab and newline, DEL and C1, bidi embeddings/overrides/isolates and marks,
# lone surrogates and noncharacters: each becomes U+FFFD, visibly.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufdd0-\ufdef" + re.escape(_NONCHARACTERS) + "]"
)


def clean(value: object, limit: int = TEXT_LIMIT) -> str:
    """Ledger text as safe plain text: at most `limit` characters (cut with an ellipsis),
    every unsafe character replaced by U+FFFD. Not yet escaped."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return _UNSAFE.sub("\ufffd", text)


def escape(text: str) -> str:
    """Text escaped for HTML content and quoted attribute values."""
    return html.escape(text, quote=True)


def ledger_text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Ledger text, cleaned and escaped, isolated in <bdi> so a right-to-left name cannot
    reorder the text around it; an em dash when absent."""
    if value is None or value == "":
        return ABSENT
    return f"<bdi>{escape(clean(value, limit))}</bdi>"


def mapping(value: object) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one: a malformed report renders."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: object) -> Sequence[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list | tuple) else ()


def number(value: object) -> int | float | None:
    """A finite JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return value  # finite, however large (math.isfinite would convert it to a float)
    return value if math.isfinite(value) else None


def count(value: object) -> int:
    """A count: a non-negative integer, 0 when absent or malformed."""
    n = number(value)
    return int(n) if n is not None and n > 0 else 0


def thousands(value: object, digits: int = 0) -> str:
    """A figure as people read it: 1,100 or 72.5; an em dash when unknown."""
    n = number(value)
    if n is None:
        return ABSENT
    if isinstance(n, int) or digits == 0:
        return f"{round(n):,}"
    return f"{n:,.{digits}f}"


def milliseconds(value: object) -> str:
    """A latency: 38.5 ms, 310 ms, 2,210 ms."""
    n = number(value)
    if n is None:
        return ABSENT
    return f"{n:,.1f} ms" if n < 100 else f"{n:,.0f} ms"


def duration(value: object) -> str:
    """A run's length: 12.5 s, 11 min 42 s, 2 h 05 min."""
    seconds = number(value)
    if seconds is None or seconds < 0:
        return ABSENT
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def moment(value: object) -> datetime | None:
    """An ISO 8601 timestamp from the report, in UTC; None when absent or unreadable."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def when(value: object, pattern: str = REPORT_MOMENT) -> str:
    """A timestamp as a <time> element in UTC; the raw text (escaped) if unreadable."""
    parsed = moment(value)
    if parsed is None:
        return ledger_text(value, NAME_LIMIT)
    return f'<time datetime="{escape(clean(value, NAME_LIMIT))}">{parsed.strftime(pattern)}</time>'


def json_value(value: object) -> object:
    """What a marker records: numbers, booleans and null as they are, text cleaned and cut."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return number(value)
    return clean(value, TEXT_LIMIT)


def marker(kind: str, name: str, value: object) -> str:
    """The attributes that mark a figure: `data-metric="headline.ids" data-value="1200"`."""
    data = json.dumps(json_value(value), ensure_ascii=False)
    return f'data-{kind}="{escape(name)}" data-value="{escape(data)}"'
