"""Charts and tables for the conversation report (bot/staff/report.py): inline SVG drawn with
matplotlib, and plain HTML tables, every piece of text escaped."""

from __future__ import annotations

import html
import io
import itertools
import re
from typing import Any, Dict, List, Optional, Sequence

WIDTH = 8.0  # inches: fits a laptop screen without scrolling sideways
# Okabe-Ito colours: told apart by people with the common kinds of colour blindness.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_chart_numbers = itertools.count(1)


def _svg(figure: Any, label: str) -> str:
    """The figure as an <svg> element to put in the page, described for screen readers."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, selectable
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE: not allowed inside HTML
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)  # the drawing tool's RDF record
    # Several charts share one page: give each its own ids, or one chart's clip paths and tick
    # marks could be drawn with another's.
    prefix = f"c{next(_chart_numbers)}-"
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', svg)
    svg = re.sub(r'(url\(#|href="#)([^")]+)', rf"\1{prefix}\2", svg)
    return svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(label)}"', 1)


def _figure(height: float) -> Any:
    # The object API, not pyplot: it draws with no display and shares no state between calls.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    figure.set_facecolor("white")
    return figure


def _tidy(axes: Any) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="both", alpha=0.3)
    axes.set_axisbelow(True)


def stacked_bars(labels: Sequence[str], series: Dict[str, Sequence[int]], ylabel: str, label: str) -> str:
    """Stacked bars, one per label (a week), one colour per series; as inline SVG."""
    figure = _figure(3.6)
    axes = figure.subplots()
    bottom = [0] * len(labels)
    for (name, values), colour in zip(series.items(), itertools.cycle(COLOURS)):
        axes.bar(labels, values, bottom=bottom, label=name, color=colour)
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.set_ylabel(ylabel)
    axes.set_xlabel("Week beginning")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0)
    if series:
        axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    _tidy(axes)
    axes.grid(axis="x", visible=False)
    return _svg(figure, label)


def horizontal_bars(labels: Sequence[str], values: Sequence[int], xlabel: str, label: str) -> str:
    """Horizontal bars, largest at the top; as inline SVG."""
    figure = _figure(0.6 + 0.28 * max(len(labels), 3))
    axes = figure.subplots()
    axes.barh(list(labels)[::-1], list(values)[::-1], color=COLOURS[0])
    axes.set_xlabel(xlabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    _tidy(axes)
    axes.grid(axis="y", visible=False)
    return _svg(figure, label)


def line_chart(labels: Sequence[str], values: Sequence[Optional[float]], ylabel: str, label: str) -> str:
    """A line with a dot per label (None leaves a gap); as inline SVG."""
    figure = _figure(3.2)
    axes = figure.subplots()
    points = [float("nan") if v is None else v for v in values]
    axes.plot(labels, points, marker="o", color=COLOURS[5])
    axes.set_ylabel(ylabel)
    axes.set_xlabel("Week beginning")
    axes.set_ylim(bottom=0, top=max([v for v in values if v is not None] + [1.0]) * 1.2)
    axes.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0)
    _tidy(axes)
    return _svg(figure, label)


def table(table_id: str, caption: str, headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    """An HTML table; the first cell of each row heads the row. Numbers are right-aligned."""
    head = "".join(f'<th scope="col">{html.escape(str(h))}</th>' for h in headers)
    body = []
    for row in rows:
        first, *rest = row
        cells = "".join(
            f'<td class="n">{_number(c)}</td>' if isinstance(c, int) else f"<td>{html.escape(str(c))}</td>"
            for c in rest)
        body.append(f'<tr><th scope="row">{html.escape(str(first))}</th>{cells}</tr>')
    return (f'<table id="{html.escape(table_id)}"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _number(value: int) -> str:
    return f"{value:,}"


def section(title: str, summary: str, *parts: str) -> str:
    """A part of the page: a heading, a sentence that says what it shows, then its charts and tables."""
    return f"<section><h2>{html.escape(title)}</h2><p>{html.escape(summary)}</p>{''.join(parts)}</section>"


def page(title: str, notes: Sequence[str], sections: Sequence[str]) -> str:
    """The whole page: inline CSS, no scripts, nothing fetched from elsewhere."""
    return PAGE.format(title=html.escape(title), notes="".join(f"<p>{html.escape(n)}</p>" for n in notes),
                       body="\n".join(sections))


PAGE = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; max-width: 62rem; margin: 1rem auto; padding: 0 1rem;
  color: #1b1b1b; line-height: 1.45; }}
h1 {{ font-size: 1.7rem; }} h2 {{ font-size: 1.3rem; margin-top: 2.2rem; border-top: 2px solid #0b0c0c;
  padding-top: .8rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; display: block; max-width: 100%; overflow-x: auto; }}
caption {{ text-align: left; font-weight: bold; }} th[scope="row"] {{ white-space: nowrap; }}
th, td {{ border: 1px solid #b1b4b6; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
thead th {{ background: #f3f2f1; }} td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
svg {{ max-width: 100%; height: auto; display: block; }}
</style></head>
<body><main>
<h1>{title}</h1>
{notes}
{body}
</main></body></html>
"""
