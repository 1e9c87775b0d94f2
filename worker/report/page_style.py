"""The report page's stylesheet: system fonts, light and dark, phone-sized, and print-ready.

No web font, no image, no url(): the page must read the same offline, attached to a ticket.
"""

from __future__ import annotations

STYLE = """
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa;
  --deleted: #1f6feb; --retries: #e3a008; --throttled: #cf222e; --latency: #8250df;
  --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff8c5;
  --bad: #cf222e; --bad-bg: #ffebe9; --other: #8c959f;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
    --deleted: #4493f8; --retries: #d29922; --throttled: #f85149; --latency: #a371f7;
    --ok: #3fb950; --ok-bg: #12261e; --warn: #d29922; --warn-bg: #272115;
    --bad: #f85149; --bad-bg: #25171c; --other: #656c76;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue",
    Arial, sans-serif;
  overflow-wrap: anywhere;
}
main { max-width: 76rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
h1 { font-size: clamp(1.6rem, 1.1rem + 2.4vw, 2.5rem); line-height: 1.15; margin: .25rem 0 .75rem;
  letter-spacing: -.015em; }
h2 { font-size: 1.3rem; margin: 0 0 .9rem; padding-bottom: .35rem;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .6rem; }
section { margin-top: 2.75rem; }
code { font: .9em ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono",
  monospace; }
.kicker { margin: 0; font-size: .8rem; font-weight: 700; letter-spacing: .09em;
  text-transform: uppercase; color: var(--muted); }
.flag { white-space: nowrap; }
.meta { color: var(--muted); margin: .4rem 0; }
.empty { color: var(--muted); font-style: italic; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap; }
.verdict { display: inline-block; margin: 0 0 .5rem; padding: .3rem .85rem; border-radius: 999px;
  font-weight: 600; border: 1px solid; }
.verdict.ok { color: var(--ok); background: var(--ok-bg); }
.verdict.warn { color: var(--warn); background: var(--warn-bg); }
.verdict.bad { color: var(--bad); background: var(--bad-bg); }
.verdict.none { color: var(--muted); background: var(--panel); }

.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10.5rem, 1fr)); gap: .75rem;
  margin: 0 0 1.25rem; }
.card { margin: 0; padding: .8rem 1rem .9rem; border: 1px solid var(--line);
  border-top: 4px solid var(--line); border-radius: .6rem; background: var(--panel); }
.card.ok { border-top-color: var(--ok); }
.card.warn { border-top-color: var(--warn); }
.card.bad { border-top-color: var(--bad); }
.card dt { font-size: .85rem; font-weight: 600; color: var(--muted); }
.card dd { margin: 0; }
.figure { display: block; font-size: 2rem; font-weight: 700; line-height: 1.2;
  font-variant-numeric: tabular-nums; }
.figure.small { font-size: 1.4rem; }
.note { display: block; font-size: .8rem; color: var(--muted); line-height: 1.35; }
.share { display: block; width: 100%; height: 1rem; border-radius: .25rem;
  background: var(--line); }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1.25rem; margin: .5rem 0; padding: 0;
  list-style: none; font-size: .9rem; }
.swatch { width: .8rem; height: .8rem; margin-right: .35rem; vertical-align: -.05rem; }
.stats { display: flex; flex-wrap: wrap; gap: .5rem 2.25rem; margin: 0 0 1rem; }
.stat dt { font-size: .85rem; color: var(--muted); }
.stat dd { margin: 0; }

figure { margin: 0; }
.chart-box { margin: 0 0 1.5rem; overflow-x: auto; }
.chart-box figcaption { margin-bottom: .25rem; }
.chart { display: block; width: 100%; height: auto; }
.chart text { font-family: inherit; }
.tick { font-size: 12px; fill: var(--muted); font-variant-numeric: tabular-nums; }
.bar-label { font-size: 12px; fill: var(--fg); font-variant-numeric: tabular-nums; }
.grid { stroke: var(--line); stroke-width: 1; }
.axis { stroke: var(--muted); stroke-width: 1; }
.mark { stroke: var(--fg); stroke-width: 1.25; stroke-dasharray: 4 3; }
.mark-label { font-size: 12px; font-weight: 600; fill: var(--fg); }
.c-deleted { fill: var(--deleted); }
.c-retries { fill: var(--retries); }
.c-throttled { fill: var(--throttled); }
.c-latency { fill: var(--latency); }
.c-bad { fill: var(--bad); }
.c-warn { fill: var(--retries); }
.c-other { fill: var(--other); }
.chart g:hover rect { opacity: .75; }

.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: .6rem; }
.scroll:focus-visible { outline: 2px solid var(--deleted); outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
table[data-table="runs"] { font-size: .85rem; }
table[data-table="runs"] :is(th, td) { padding: .5rem .45rem; }
th, td { padding: .5rem .75rem; text-align: left; vertical-align: top; white-space: nowrap;
  border-bottom: 1px solid var(--line); overflow-wrap: normal; }
tbody tr:last-child > * { border-bottom: 0; }
thead th { font-size: .9em; font-weight: 600; color: var(--muted); background: var(--panel); }
tbody th { position: sticky; left: 0; z-index: 1; background: var(--bg); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.message { white-space: normal; min-width: 14rem; max-width: 26rem; overflow-wrap: anywhere; }
td.examples { white-space: normal; min-width: 14rem; max-width: 24rem;
  overflow-wrap: anywhere; }
td.examples ul { margin: 0; padding: 0; list-style: none; font-size: .95em; }
.run-id { font: .95em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
th small, td small { font-size: .9em; font-weight: 400; color: var(--muted); }
.badge { display: inline-block; padding: 0 .45em; border-radius: 999px; font-size: .9em;
  font-weight: 600; background: var(--panel); border: 1px solid var(--line); }
.badge.ok { color: var(--ok); background: var(--ok-bg); border-color: transparent; }
.badge.warn { color: var(--warn); background: var(--warn-bg); border-color: transparent; }
footer { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--line);
  font-size: .85rem; }

@media (max-width: 40rem) {
  main { padding: 1.25rem .9rem 2rem; }
  .figure { font-size: 1.6rem; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .5rem; }
  .chart { min-width: 36rem; }
  .tick, .bar-label, .mark-label { font-size: 16px; }
}
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #444; --panel: #fff; --line: #bbb; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  figure, tr, .card, .stats { break-inside: avoid; }
  .cards { grid-template-columns: repeat(6, minmax(0, 1fr)); gap: .4rem; }
  .card { padding: .4rem .5rem; }
  .figure { font-size: 1.4rem; }
  h2, h3 { break-after: avoid; }
  .scroll, .chart-box { overflow: visible; border: 0; }
  table { font-size: 7.5pt; }
  th, td, table[data-table="runs"] :is(th, td) { padding: .2rem .3rem; }
  thead th { white-space: normal; }
  tbody th { white-space: normal; min-width: 10em; }
  td.message, td.examples { min-width: 8rem; }
  tbody th { position: static; }
  .chart { min-width: 0; max-width: 100%; }
}
"""
