"""The report's charts (``tasks.reports.charts``): inline SVG whose text, colours and shapes are
those of a tiny frame, and the helpers' known answers."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from schemas.outputs import CRITERIA_FIELDS
from tasks.reports.charts import (
    CRITERIA,
    LARGEST,
    OTHER,
    SELECTED,
    bubble_chart,
    criteria_chart,
    largest_label,
    largest_row,
    map_chart,
    shorten,
)
from tasks.reports.language import report_text

SVG = "{http://www.w3.org/2000/svg}"
PREFIX = "data:image/svg+xml;base64,"


@pytest.fixture(scope="module")
def t() -> dict:
    return report_text("en")


def svg(uri: str) -> ET.Element:
    """The inline image as an SVG document."""
    assert uri.startswith(PREFIX)
    root = ET.fromstring(base64.b64decode(uri.removeprefix(PREFIX)))
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text") if element.text]


def group(root: ET.Element, name: str) -> ET.Element:
    return next(g for g in root.iter(f"{SVG}g") if g.get("id") == name)


def fills(element: ET.Element) -> list[str]:
    """The fill colour of every path under ``element``, in drawing order."""
    return [path.get("style", "").split(";")[0].removeprefix("fill: ") for path in element.iter(f"{SVG}path")]


def candidates() -> pd.DataFrame:
    """Seven ranked sectors of a province: 28.93 selected, 10.61 the largest; 13.93 has no growth
    and 15.20 no LQ (both left off the bubble chart); 32.50 ranks seventh with no size rank."""
    return pd.DataFrame(
        {
            "sector_code": ["28.93", "10.61", "23.32", "25.99", "13.93", "15.20", "32.50"],
            "sector_name": [
                "Manufacture of machinery for food, beverage and tobacco processing",
                "Manufacture of grain mill products",
                "Manufacture of bricks",
                "Manufacture of other fabricated metal products n.e.c.",
                "Manufacture of carpets and rugs",
                "Manufacture of footwear",
                "Manufacture of medical instruments",
            ],
            "rank": [1, 2, 3, 4, 5, 6, 7],
            "selected": [True, False, False, False, False, False, False],
            "lq_employment": [3.0, 1.5, 2.0, 0.8, 1.1, 0.0, 1.3],
            "employment_cagr": [0.05, 0.01, -0.02, 0.03, np.nan, 0.02, 0.04],
            "employment": [2300, 2600, 2400, 500, 300, 100, 200],
            "size_rank": [3, 1, 2, 4, 5, 6, np.nan],
            "size_basis": "turnover_registry",
            "economic_impact": [80, 70, 60, 50, 40, 30, 20],
            "demand": [60, 50, 40, 30, 20, 10, np.nan],
            "networking": [50] * 7,
            "factor_conditions": [10] * 7,
        }
    )


# ---- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("Manufacture of footwear", "footwear"),
        (
            "Manufacture of machinery for food, beverage and tobacco processing",
            "machinery for food, beverage and toba…",
        ),
        ("Building of ships and floating structures", "Building of ships and floating struct…"),
        ("x" * 38, "x" * 38),  # exactly the length: kept whole
        ("x" * 39, "x" * 37 + "…"),
        ("Manufacture of ", ""),
        (None, ""),
        (np.nan, ""),
        (28.93, ""),  # not a name
    ],
)
def test_shorten_known_answers(name, short):
    assert shorten(name) == short
    assert len(shorten(name)) <= 38


def test_shorten_to_another_length():
    assert shorten("Manufacture of carpets and rugs", length=10) == "carpets a…"
    assert shorten("Manufacture of bricks", length=6) == "bricks"


def test_largest_row_is_size_rank_one_and_false_where_unknown():
    frame = pd.DataFrame({"size_rank": pd.array([1, 2, None, 1, 3], dtype="Int64")})
    assert largest_row(frame).tolist() == [True, False, False, True, False]
    assert largest_row(pd.DataFrame({"size_rank": [np.nan, 1.0]})).tolist() == [False, True]
    assert largest_row(frame).dtype == bool


def test_largest_label_names_the_basis_in_the_pages_language(t):
    assert largest_label("turnover_registry", t) == "largest sector by turnover (chamber registry)"
    assert largest_label("turnover_agency", t) == "largest sector by turnover (official statistics)"
    assert largest_label("employment", t) == "largest sector by employment (no turnover data)"
    for unknown in (None, np.nan, "something else"):  # no basis recorded: by employment
        assert largest_label(unknown, t) == t["largest"]["employment"]
    tr = report_text("tr")
    assert (
        largest_label("turnover_registry", tr)
        == tr["largest"]["turnover_registry"]
        != t["largest"]["turnover_registry"]
    )


def test_the_charts_criteria_are_the_published_criterion_columns():
    assert [field.name for field in CRITERIA_FIELDS] == CRITERIA


# ---- charts ------------------------------------------------------------------------------


def test_bubble_chart_labels_the_leaders_the_selection_and_the_largest(t):
    root = svg(bubble_chart(candidates(), 0.03, t))
    shown = texts(root)
    assert t["bubble_x"] in shown and t["bubble_y"] in shown and "LQ = 1" in shown
    assert f"{t['national_growth']} 3.0% " in shown
    labels = [text for text in shown if text[:2].isdigit() and "." in text[:3]]
    assert labels == [
        "28.93 machinery for food, beverage and toba…",
        "10.61 grain mill products (largest sector by turnover (chamber registry))",
        "23.32 bricks",
        "25.99 other fabricated metal products n.e.c.",
    ]  # 13.93 (no growth), 15.20 (LQ 0) and 32.50 (rank 7, neither selected nor largest) unlabelled


def test_bubble_chart_colours_the_selected_the_largest_and_the_others(t):
    root = svg(bubble_chart(candidates(), 0.03, t))
    # five sectors drawn (an LQ above 0 and a growth), by rank: 28.93 selected, 10.61 the largest
    assert fills(group(root, "PathCollection_1")) == [SELECTED, LARGEST, OTHER, OTHER, OTHER]


def test_bubble_chart_without_national_growth_draws_no_growth_line(t):
    for growth in (None, np.nan):
        shown = texts(svg(bubble_chart(candidates(), growth, t)))
        assert not [text for text in shown if text.startswith(t["national_growth"])]
        assert "LQ = 1" in shown


def test_bubble_chart_marks_the_largest_when_it_is_the_selection(t):
    frame = candidates().assign(size_rank=[1, 2, 3, 4, 5, 6, 7], size_basis="employment")
    labels = [text for text in texts(svg(bubble_chart(frame, None, t))) if text.startswith(("28.93", "10.61"))]
    assert labels == ["28.93 machinery for food, beverage and toba…", "10.61 grain mill products"]  # no "(largest …)"


def test_criteria_chart_bars_the_top_five_and_the_largest_with_a_legend_of_the_criteria(t):
    frame = candidates().assign(size_rank=[2, 3, 4, 5, 6, 7, 1])  # the largest ranks seventh
    shown = texts(svg(criteria_chart(frame, t)))
    ticks = [text for text in shown if text[:2].isdigit() and "." in text[:3]]
    assert ticks == [
        "28.93 machinery for food, beverage and toba…",
        "10.61 grain mill products",
        "23.32 bricks",
        "25.99 other fabricated metal products n.e.c.",
        "13.93 carpets and rugs",
        "32.50 medical instruments",
    ]  # by rank: the top five, then the largest; 15.20 (rank 6) left out
    assert [t[criterion] for criterion in CRITERIA] == [text for text in shown if text in {t[c] for c in CRITERIA}]
    assert t["networking"] == "Networking & Cooperation"  # escaped in the SVG, whole once parsed
    assert {"0", "100"} <= set(shown)  # the score axis runs 0-100


def test_criteria_chart_draws_four_bars_per_sector():
    frame = candidates().head(3).assign(size_rank=[1, 2, 3])
    root = svg(criteria_chart(frame, report_text("tr")))
    colours = fills(root)
    # one colour per criterion: a bar for each of the 3 sectors and the legend's swatch
    assert [colours.count(c) for c in ("#1f6f8b", "#e59c3a", "#6a4c93", "#3a9e6f")] == [4, 4, 4, 4]
    assert "Ekonomik Etki" in texts(root)


def square(x: float, y: float) -> list:
    return [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]


GEOJSON = {
    "features": [
        {"properties": {"plate_code": "19"}, "geometry": {"type": "Polygon", "coordinates": square(34, 40)}},
        {
            "properties": {"plate_code": 55},
            "geometry": {"type": "MultiPolygon", "coordinates": [square(35, 41), square(37, 41)]},
        },
        {"properties": {"plate_code": 6}, "geometry": {"type": "Polygon", "coordinates": square(32, 39)}},
    ]
}


def test_map_chart_colours_the_provinces_greys_the_unscored_and_outlines_the_pilots():
    root = svg(map_chart(GEOJSON, pd.Series({19: 70.0, 55: 40.0}), {19: "Çorum: 28.93", 55: "Samsun & co"}, "Score"))
    shown = texts(root)
    assert shown[:2] == ["Çorum: 28.93", "Samsun & co"] and shown[-1] == "Score"
    # one shape per polygon: Çorum, Samsun's two parts, Ankara; Ankara has no value: grey
    assert fills(group(root, "PolyCollection_1")) == ["#081d58", "#ffffd9", "#ffffd9", "#e3e3e3"]
    outlines = group(root, "PolyCollection_2").findall(f"{SVG}path")
    assert len(outlines) == 3 and all("stroke: #c0392b" in path.get("style") for path in outlines)


def test_map_chart_without_pilots_has_no_outlines_and_no_labels():
    root = svg(map_chart(GEOJSON, pd.Series({6: 1.0, 19: 2.0, 55: 3.0}), {81: "Düzce: no shape"}, "LQ"))
    assert not group(root, "PolyCollection_2").findall(f"{SVG}path")
    assert "Düzce: no shape" not in texts(root) and texts(root)[-1] == "LQ"
    assert "#e3e3e3" not in fills(group(root, "PolyCollection_1"))
