"""Reading a report page in tests: parsed strictly (html5lib, and every element closed in
order), and its marked figures (`data-metric`, `data-table` rows of `data-field` cells, each with
its exact value in `data-value`) read back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

import html5lib

# fmt: off
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# fmt: on


class _TagBalance(HTMLParser):
    """Every element the page opens, it closes, in order (html5lib accepts omitted end tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Self-closed elements (SVG shapes) are balanced by construction."""

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def parse(page: str) -> ET.Element:
    """The page parsed by html5lib in strict mode: any HTML parse error fails the test."""
    balance = _TagBalance()
    balance.feed(page)
    balance.close()
    assert balance.errors == []
    assert balance.open == []
    root: ET.Element = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    return root


def local(tag: str) -> str:
    """An element's name without its namespace (html5lib puts SVG's in one)."""
    return tag.rsplit("}", 1)[-1]


def text(element: ET.Element) -> str:
    return "".join(element.itertext())


def value(element: ET.Element) -> Any:
    """A marked element's machine-readable value: its data-value attribute, as JSON."""
    raw = element.get("data-value")
    assert raw is not None, f"{local(element.tag)} {element.attrib} has no data-value"
    return json.loads(raw)


def metrics(root: ET.Element) -> dict[str, Any]:
    return {e.get("data-metric", ""): value(e) for e in root.iter() if e.get("data-metric")}


def rows(root: ET.Element, table: str) -> list[dict[str, Any]]:
    """The rows of one marked table, each as {field: value} from its marked cells."""
    found = [e for e in root.iter() if local(e.tag) == "table" and e.get("data-table") == table]
    assert len(found) == 1, f"expected one table {table!r}, found {len(found)}"
    return [
        {cell.get("data-field", ""): value(cell) for cell in row.iter() if cell.get("data-field")}
        for row in found[0].iter()
        if local(row.tag) == "tr" and row.get("data-row") is not None
    ]


def flat(run: Mapping[str, Any]) -> dict[str, Any]:
    """A run of the report with its ids by status flattened to ids.deleted, ids.failed, ..."""
    fields = {k: v for k, v in run.items() if k not in {"ids", "ledgers"}}
    fields.update({f"ids.{status}": n for status, n in run["ids"].items()})
    return fields
