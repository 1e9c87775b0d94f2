"""The HTML report page (issue 13): well formed, self-contained, escaped, and its numbers are the
report's; rendered by headless Chromium when it is installed."""

from __future__ import annotations

import html
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import html5lib
import pytest

from tests.png import read_png
from tests.report_page import flat, local, metrics, parse, rows, text, value
from tests.report_samples import (
    BIDI,
    QUOTES,
    SCRIPT,
    SURROGATE,
    empty_report,
    hostile_report,
    realistic_report,
)
from worker.report.html import render_html

# fmt: off
# Elements that load something or run something: none belongs in a self-contained report.
FORBIDDEN = {"script", "iframe", "img", "object", "embed", "link", "base", "form", "audio",
             "video", "source", "frame", "frameset", "image", "use", "foreignObject"}
LOADING_ATTRIBUTES = {"src", "srcset", "action", "formaction", "poster", "background", "data",
                      "xlink:href", "ping", "manifest"}
# fmt: on
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_realistic_page_is_well_formed_html() -> None:
    """The page parses without a single HTML parse error, every element closed."""
    root = parse(render_html(realistic_report()))
    assert root.get("lang") == "en"
    assert root.find("head/meta[@charset='utf-8']") is not None
    assert root.find("head/meta[@name='viewport']") is not None
    title = root.find("head/title")
    assert title is not None
    assert text(title).startswith("thumbsweep report")


@pytest.mark.parametrize("build", [realistic_report, empty_report, hostile_report])
def test_page_loads_and_runs_nothing(build: Any) -> None:
    """No script, no external resource: no src/href to anywhere, no @import, no url()."""
    root = parse(render_html(build()))
    for element in root.iter():
        assert local(element.tag) not in FORBIDDEN
        for name, attribute in element.attrib.items():
            name = local(name)
            assert not name.startswith("on"), f"event handler {name} on {element.tag}"
            assert name not in LOADING_ATTRIBUTES
            if name == "href":
                assert attribute.startswith("#"), f"link out of the page: {attribute}"
            if name == "style":
                assert "url(" not in attribute
        if local(element.tag) == "style":
            assert "url(" not in text(element)
            assert "@import" not in text(element)


def test_headline_numbers_are_the_reports() -> None:
    """Each headline number, final status and latency figure in the page equals the dict's."""
    report = realistic_report()
    shown = metrics(parse(render_html(report)))
    for key, expected in report["headline"].items():
        assert shown[f"headline.{key}"] == expected, key
    for status, expected in report["final_status"].items():
        assert shown[f"final.{status}"] == expected, status
    for key in ("count", "p50", "p95", "p99", "max"):
        assert shown[f"latency.{key}"] == report["latency_ms"][key], key


def test_headline_is_written_for_people() -> None:
    """The numbers are shown grouped by thousands, with what they count."""
    report = realistic_report()
    root = parse(render_html(report))
    marked = {e.get("data-metric"): text(e) for e in root.iter() if e.get("data-metric")}
    assert marked["headline.deleted"] == f"{report['headline']['deleted']:,}"
    assert marked["headline.ids"] == f"{report['headline']['ids']:,}"
    page_text = text(root)
    assert "Need a person" in page_text
    assert "Left for --resume" in page_text


def test_shares_never_round_to_none_or_all() -> None:
    """One id left of 100,000 reads "> 99.9 %" deleted, not "100 %"; a share of one in 100,000
    reads "< 0.1 %", not "0 %"."""
    report = empty_report()
    report["headline"].update(ids=100_000, deleted=99_999, needs_person=1)
    page_text = " ".join(text(parse(render_html(report))).split())
    assert "> 99.9 % of the ids" in page_text
    assert "need a person < 0.1 %" in page_text
    assert "100 %" not in page_text


def test_each_run_row_is_the_reports() -> None:
    """The runs table has one row per run, in order, each field equal to the dict's."""
    report = realistic_report()
    shown = rows(parse(render_html(report)), "runs")
    assert shown == [flat(run) for run in report["runs"]]


def test_left_tables_list_every_reason_with_count_and_examples() -> None:
    """What is left: one row per reason, biggest first, with the dict's counts and examples."""
    report = realistic_report()
    root = parse(render_html(report))
    for kind in ("needs_person", "resumable"):
        shown = rows(root, f"left.{kind}")
        groups = report["left"][kind]
        assert [r["count"] for r in shown] == [g["count"] for g in groups]
        assert [r["http_status"] for r in shown] == [g["http_status"] for g in groups]
        assert [r["code"] for r in shown] == [g["code"] for g in groups]
        assert [r["message"] for r in shown] == [g["message"] for g in groups]
    table_text = text(next(e for e in root.iter() if e.get("data-table") == "left.needs_person"))
    assert "faces-kr/7001" in table_text
    assert "70010" in table_text
    assert "nightly.jsonl line 4410" in table_text


def test_left_tables_list_the_biggest_fifty_reasons_and_count_the_rest() -> None:
    """Thousands of distinct messages do not make a page nobody can read: the 50 biggest
    reasons are listed, and the page says how many reasons and ids it left out."""
    report = realistic_report()
    report["left"]["needs_person"] = [
        {"status": "failed", "http_status": 400, "code": "3003", "message": f"reason {i}",
         "count": 100 - i, "examples": []}
        for i in range(60)
    ]  # fmt: skip
    root = parse(render_html(report))
    shown = rows(root, "left.needs_person")
    assert [r["message"] for r in shown] == [f"reason {i}" for i in range(50)]
    assert "10 more reasons, 455 ids, are not listed here" in " ".join(text(root).split())


def charts(root: ET.Element, kind: str) -> list[ET.Element]:
    return [e for e in root.iter() if local(e.tag) == "svg" and e.get("data-chart") == kind]


def test_timeline_draws_each_runs_deletions_retries_and_429s() -> None:
    """One labelled SVG chart per run with points; its bars add up to the run's points."""
    report = realistic_report()
    root = parse(render_html(report))
    drawn = charts(root, "timeline")
    series = [s for s in report["timeline"]["series"] if s["points"]]
    assert len(drawn) == len(series)
    for svg, run in zip(drawn, series, strict=True):
        assert svg.get("role") == "img"
        title = next(e for e in svg if local(e.tag) == "title")
        assert run["run_id"] in text(title)
        assert svg.get("aria-labelledby", "").split()[0] == title.get("id")
        for field in ("deleted", "retries", "throttled"):
            bars = [value(e) for e in svg.iter() if e.get("data-field") == field]
            assert sum(bars) == sum(p[field] for p in run["points"]), field
    captions = [text(e) for e in root.iter() if local(e.tag) == "figcaption"]
    assert all("bars per minute" in caption for caption in captions)


def test_latency_histogram_has_a_bar_per_bucket() -> None:
    """The latency chart shows each histogram bucket's count, the last one open-ended."""
    report = realistic_report()
    root = parse(render_html(report))
    (svg,) = charts(root, "latency")
    bars = [value(e) for e in svg.iter() if e.get("data-field") == "count"]
    assert bars == [bucket["count"] for bucket in report["latency_ms"]["histogram"]]
    assert "> 1,000 ms" in text(svg)


def test_empty_report_renders() -> None:
    """No runs, zero ids, no latencies: the page still renders, says so, and shows zeros."""
    report = empty_report()
    root = parse(render_html(report))
    shown = metrics(root)
    assert shown["headline.ids"] == 0
    assert shown["headline.runs"] == 0
    assert shown["latency.p50"] is None
    assert not [e for e in root.iter() if e.get("data-table") == "runs"]
    assert charts(root, "timeline") == []
    page_text = text(root)
    assert "No runs" in page_text
    assert "No request latencies" in page_text
    assert "Nothing needs a person" in page_text


def test_a_report_with_missing_parts_still_renders() -> None:
    """A dict without its sections (or with the wrong types in them) renders, not a traceback."""
    broken: list[dict[str, Any]] = [
        {},
        {"headline": None, "runs": [None, 3], "timeline": {"series": [{}]}},
        {"latency_ms": {"histogram": [{"le": "x", "count": "y"}]}, "left": []},
        {"timeline": {"bucket_seconds": "x", "series": [{"points": [{"t": "nope"}, None]}]}},
        {
            "timeline": {
                "series": [
                    {
                        "points": [
                            {"t": "0001-01-01T00:00:00Z", "deleted": 1},
                            {"t": "9999-12-31T23:59:00Z", "deleted": 2},
                        ]
                    }
                ]
            }
        },
    ]
    huge = realistic_report()
    huge["headline"]["ids"] = 10**400
    huge["runs"][0]["requests"] = float("nan")
    huge["latency_ms"]["p50"] = float("inf")
    huge["timeline"]["series"][0]["points"][0]["deleted"] = 10**30
    broken.append(huge)
    for report in broken:
        parse(render_html(report))


def test_ledger_text_is_escaped() -> None:
    """Markup, quotes and entities from the ledger come out as the text they were, not as HTML."""
    report = hostile_report()
    page = render_html(report)
    root = parse(page)
    assert [e for e in root.iter() if local(e.tag) in {"script", "img"}] == []
    (first_run, *_) = rows(root, "runs")
    assert first_run["run_id"] == report["runs"][0]["run_id"]
    assert first_run["host"] == QUOTES
    assert SCRIPT in text(root)
    assert "&lt;script&gt;" in page


def test_hostile_text_cannot_break_the_page() -> None:
    """Lone surrogates and control characters are replaced, bidi controls cannot reorder the
    page, and a megabyte-long message is cut."""
    page = render_html(hostile_report())
    page.encode("utf-8")  # a lone surrogate would raise here
    assert not BIDI_CONTROLS & set(page)
    assert "\x00" not in page
    assert "\x1b" not in page
    assert len(page) < 200_000
    root = parse(page)
    (reason, *_) = rows(root, "left.needs_person")
    assert reason["message"].startswith(SCRIPT + "AAAA")
    assert reason["message"].endswith("…")
    assert len(reason["message"]) < 1000
    page_text = text(root)
    assert SURROGATE.replace("\ud800", "\ufffd") in page_text
    assert "evil" in page_text


def test_ledger_text_is_isolated_from_the_pages_direction() -> None:
    """Text from the ledger sits in <bdi>, so right-to-left names cannot reorder what follows."""
    root = parse(render_html(hostile_report()))
    isolated = [text(e) for e in root.iter() if local(e.tag) == "bdi"]
    assert any(BIDI.startswith(t[:4]) and "gpj.exe" in t for t in isolated)


# Headless Chromium: a screenshot and the DOM after layout, at a desktop and a phone width.

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium); "
    "the page is still parsed and checked by the tests above",
)
# The page needs no JavaScript; these probes, in test copies only, report the layout's width.
PROBE = (
    "<script>document.body.dataset.scrollWidth = document.documentElement.scrollWidth;"
    "</script></body>"
)
PHONE = 390
# Headless Chromium lays a page out at least 500 px wide whatever --window-size says, so the phone
# width is an iframe's: its viewport is what the page's media queries and layout see.
PHONE_FRAME = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>phone</title>'
    "<style>body{{margin:0}}iframe{{border:0;display:block}}</style></head><body>"
    '<iframe width="{width}" height="2000" srcdoc="{page}" onload="'
    "document.body.dataset.scrollWidth = this.contentDocument.documentElement.scrollWidth;"
    'document.body.dataset.innerWidth = this.contentWindow.innerWidth"></iframe></body></html>'
)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The realistic report's page written to a file, and a copy with the layout probe."""
    report = realistic_report()
    folder = tmp_path_factory.mktemp("report")
    page = render_html(report)
    (folder / "report.html").write_text(page, encoding="utf-8")
    (folder / "probed.html").write_text(page.replace("</body>", PROBE), encoding="utf-8")
    phone = PHONE_FRAME.format(width=PHONE, page=html.escape(page, quote=True))
    (folder / "phone.html").write_text(phone, encoding="utf-8")
    return report, folder


@needs_chromium
@pytest.mark.parametrize(("width", "page"), [(1200, "report.html"), (PHONE, "phone.html")])
def test_chromium_screenshot_shows_the_page(
    rendered: tuple[dict[str, Any], Path], width: int, page: str
) -> None:
    """Chromium renders the page, at a desktop and a phone width, to a PNG of the window's size
    with content all the way down."""
    _, folder = rendered
    shot = folder / f"report-{width}.png"
    chromium(f"--screenshot={shot}", f"--window-size={width},2000", (folder / page).as_uri())
    image = read_png(shot)
    assert (image.width, image.height) == (width, 2000)
    assert image.detail > 0.3, f"only {image.detail:.0%} of the rows hold anything"
    for band in range(0, 2000, 500):  # headline, charts, tables: no stretch of 500 rows is blank
        assert any(image.detailed_rows[band : band + 500])
    assert shot.stat().st_size > 30_000


def dump_dom(page: Path, width: int) -> ET.Element:
    """The DOM Chromium built and laid out (no script of the page's own ran: it has none)."""
    dom = chromium("--dump-dom", f"--window-size={width},2000", page.as_uri())
    root: ET.Element = html5lib.parse(dom.stdout, namespaceHTMLElements=False)
    return root


@needs_chromium
def test_chromium_layout_keeps_the_numbers_and_fits_a_desktop(
    rendered: tuple[dict[str, Any], Path],
) -> None:
    """In the DOM Chromium laid out, the headline, latency and runs are the report's, and the
    page is no wider than the window."""
    report, folder = rendered
    root = dump_dom(folder / "probed.html", 1200)
    body = root.find("body")
    assert body is not None
    assert int(body.get("data-scroll-width", "0")) <= 1200
    shown = metrics(root)
    for key, expected in report["headline"].items():
        assert shown[f"headline.{key}"] == expected, key
    assert math.isclose(shown["latency.p99"], report["latency_ms"]["p99"])
    assert rows(root, "runs") == [flat(run) for run in report["runs"]]


@needs_chromium
def test_chromium_layout_fits_a_phone(rendered: tuple[dict[str, Any], Path]) -> None:
    """On a 390 px wide phone the page does not scroll sideways: wide tables and charts scroll
    inside their own boxes."""
    _, folder = rendered
    body = dump_dom(folder / "phone.html", 500).find("body")
    assert body is not None
    assert body.get("data-inner-width") == str(PHONE)
    assert int(body.get("data-scroll-width", "0")) <= PHONE
