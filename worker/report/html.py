"""Placeholder for the HTML report (the HTML helper's branch replaces this file): the JSON
report in a <pre>, so `--format html` works until then."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained HTML page showing `report` (the JSON report's dict)."""
    body = html.escape(json.dumps(report, indent=2, ensure_ascii=False))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>thumbsweep report</title></head>\n"
        f"<body><pre>{body}</pre></body></html>\n"
    )
