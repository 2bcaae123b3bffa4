"""The dashboard's column charts: legend entries never run into each other (issue 12, glitches:
"the chart legend overlaps")."""

import re

from kyc.backoffice.dashboard import column_chart

CHAR_W = 6.5  # the widest a character of the 11 px label is, about

LONG = [
    ("Provider (submitted → decided)", "provider", [1, 2]),
    ("Staff (provider result → final)", "staff", [0, 1]),
]


def legend(svg: str) -> list[tuple[float, float, str]]:
    """(x, y, label) of each legend entry: the text just after a 10×10 swatch."""
    return [
        (float(x), float(y), label)
        for x, y, label in re.findall(
            r'<rect x="[\d.]+" y="[\d.]+" width="10" height="10"[^>]*></rect>'
            r'<text x="([\d.]+)" y="([\d.]+)" class="bo-chart-label">([^<]*)</text>',
            str(svg),
        )
    ]


def test_long_legend_labels_do_not_overlap():
    entries = legend(column_chart(["a", "b"], LONG, title="t"))
    assert len(entries) == 2
    (x1, y1, first), (x2, y2, _) = entries
    assert y1 != y2 or x2 >= x1 + len(first) * CHAR_W  # the next entry starts after the first's text


def test_the_legend_stays_inside_the_chart():
    series = [(f"A rather long series name number {n}", "provider", [1]) for n in range(4)]
    svg = str(column_chart(["a"], series, title="t"))
    width, height = (int(v) for v in re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    for x, y, label in legend(svg):
        assert x + len(label) * CHAR_W <= width and y <= height
