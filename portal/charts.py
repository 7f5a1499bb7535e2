"""Bar charts as SVG drawn on the server (no client-side chart library): one page, the PDF and the email share them.

Readable without colour: this period's bars are solid, the previous period's outlined and hatched, and every bar
carries its value in words. The chart is an image named by its title and summary; the data table beside it is
what a screen reader reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from portal.reports import Report

WIDTH = 640
LABEL_HEIGHT = 18
BAR_HEIGHT = 14
BAR_LEFT = 4
BAR_SPACE = 470  # the longest bar; the value is written after it


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    previous: float | None = None
    text: str = ""  # how the value is written (e.g. "40%"); the number when empty
    previous_text: str = ""


def _written(value: float, text: str) -> str:
    return text or (f"{value:g}")


def bar_chart(chart_id: str, title: str, summary: str, bars: list[Bar]) -> Markup:
    """An SVG image: each label above its bar(s), the value after each bar."""
    compare = any(bar.previous is not None for bar in bars)
    row = LABEL_HEIGHT + BAR_HEIGHT + (BAR_HEIGHT + 2 if compare else 0) + 10
    top = 24 if compare else 4
    height = top + row * max(len(bars), 1)
    biggest = max([bar.value for bar in bars] + [bar.previous or 0 for bar in bars] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="portal-chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="arial, sans-serif" font-size="14">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
        f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#0b0c0c" stroke-width="2"/>'
        "</pattern></defs>",
    ]
    if compare:
        parts.append(
            '<text x="4" y="14" fill="#0b0c0c">Solid bars: this period. Hatched bars: the previous period.</text>'
        )
    if not bars:
        parts.append(f'<text x="4" y="{top + 14}" fill="#0b0c0c">Nothing to show for this period.</text>')
    for number, bar in enumerate(bars):
        y = top + number * row
        parts.append(f'<text x="{BAR_LEFT}" y="{y + 13}" fill="#0b0c0c">{escape(bar.label)}</text>')
        y += LABEL_HEIGHT
        length = BAR_SPACE * bar.value / biggest
        parts.append(
            f'<rect x="{BAR_LEFT}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="#1d70b8" '
            'stroke="#0b0c0c" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{BAR_LEFT + length + 6:.1f}" y="{y + 12}" fill="#0b0c0c">'
            f"{escape(_written(bar.value, bar.text))}</text>"
        )
        if compare:
            y += BAR_HEIGHT + 2
            before = bar.previous or 0
            length = BAR_SPACE * before / biggest
            parts.append(
                f'<rect x="{BAR_LEFT}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
                f'fill="url(#{chart_id}-hatch)" stroke="#0b0c0c" stroke-width="1"/>'
            )
            written = "no figure" if bar.previous is None else _written(before, bar.previous_text)
            parts.append(
                f'<text x="{BAR_LEFT + length + 6:.1f}" y="{y + 12}" fill="#0b0c0c">{escape(written)} (previous)</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it was escaped above; numbers are ours)


def report_charts(report: Report) -> list[dict]:
    """The report's charts, each with its title, its summary in words and the table rows it draws."""
    stages = report.stages()
    ended = [Bar(s["name"], s["ended"][0], s["ended"][1]) for s in stages]
    overdue = [
        Bar(
            s["name"],
            round(100 * (s["overdue_rate"][0] or 0)),
            None if s["overdue_rate"][1] is None else round(100 * s["overdue_rate"][1]),
            s["overdue"][0],
            s["overdue"][1],
        )
        for s in stages
    ]
    days = [
        Bar(s["name"], s["median_value"][0] or 0, s["median_value"][1], s["median"][0], s["median"][1]) for s in stages
    ]
    categories = [Bar(name, cur, prev) for name, cur, prev in report.categories()]
    busiest = max(stages, key=lambda s: s["ended"][0]) if stages else None
    worst = max(stages, key=lambda s: s["overdue_rate"][0] or 0) if stages else None
    charts = [
        (
            "ended",
            "Escalations resolved or decided, by stage",
            f"{report.current.resolved} ended with an agreed outcome or decision, against {report.previous.resolved} "
            f"in the previous period; most at {busiest['name']} ({busiest['ended'][0]})."
            if busiest and report.current.resolved
            else f"None ended with an agreed outcome or decision; {report.previous.resolved} in the previous period.",
            ended,
        ),
        (
            "overdue",
            "Deadlines missed, by stage",
            f"The highest share of deadlines missed was at {worst['name']}: {worst['overdue'][0]}."
            if worst and worst["overdue_rate"][0]
            else "No stage deadline that fell in this period was missed.",
            overdue,
        ),
        (
            "days",
            "Median working days to resolution, by the stage it ended at",
            f"Overall median {report.summary()[4][1]} working days (previous period {report.summary()[4][2]}); "
            f"90th percentile {report.summary()[5][1]} (previous {report.summary()[5][2]}).",
            days,
        ),
        (
            "categories",
            "Categories of disagreement",
            f"Most often about {categories[0].label.lower()} ({categories[0].value:g} cases)."
            if categories and categories[0].value
            else "No escalations were raised in this period.",
            categories,
        ),
    ]
    return [
        {
            "id": f"chart-{key}",
            "title": title,
            "summary": summary,
            "svg": bar_chart(f"chart-{key}", title, summary, bars),
            "bars": bars,
            "axis": "Category" if key == "categories" else "Stage",
        }
        for key, title, summary, bars in charts
    ]
