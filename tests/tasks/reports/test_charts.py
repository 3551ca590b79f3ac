"""The report's charts (``tasks.reports.charts``): inline SVG whose text, colours and shapes are
those of a tiny frame, laid out where matplotlib laid them out, the sector space's tree and extra
links, and the helpers' known answers."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from schemas.outputs import CRITERIA_FIELDS
from tasks.reports import charts
from tasks.reports.charts import (
    CRITERIA,
    DIVISION_COLOURS,
    LARGEST,
    OTHER,
    SELECTED,
    bubble_chart,
    criteria_chart,
    largest_label,
    largest_row,
    map_chart,
    sector_space,
    sector_space_chart,
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
    """The fill colour of every path, rectangle and circle under ``element``, in drawing order
    (a fill attribute, or matplotlib's style)."""
    shapes = [shape for shape in element.iter() if shape.tag in (f"{SVG}path", f"{SVG}rect", f"{SVG}circle")]
    return [shape.get("fill") or shape.get("style", "").split(";")[0].removeprefix("fill: ") for shape in shapes]


def placed_texts(root: ET.Element) -> dict[str, tuple[float, float]]:
    """Each text of a chart drawn directly (``_Figure``) -> where it is anchored in the image
    (points, from the top left), the translations of its groups applied; a math text (a log
    axis' label) by its glyphs, anchored at its first."""
    placed = {}

    def visit(element: ET.Element, dx: float, dy: float) -> None:
        if move := re.match(r"translate\(([-\d.]+) ([-\d.]+)\)", element.get("transform", "")):
            dx, dy = dx + float(move.group(1)), dy + float(move.group(2))
        if element.tag == f"{SVG}text":
            spans = list(element.iter(f"{SVG}tspan")) or [element]
            text = "".join(span.text for span in spans)
            placed[text] = (float(spans[0].get("x")) + dx, float(spans[0].get("y")) + dy)
        for child in element:
            visit(child, dx, dy)

    visit(root, 0.0, 0.0)
    return placed


def image_size(root: ET.Element) -> tuple[float, float]:
    return tuple(float(root.get(side).removesuffix("pt")) for side in ("width", "height"))


def near(point: tuple[float, float]) -> object:
    """A position as matplotlib's SVG gives it, to a hundredth of a point."""
    return pytest.approx(point, abs=0.01)


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
    assert fills(group(root, "bubble-sectors")) == [SELECTED, LARGEST, OTHER, OTHER, OTHER]


def test_bubble_chart_is_laid_out_where_matplotlib_laid_it_out(t):
    # matplotlib 3.11's scatter of this frame: its image size and where it anchored the texts
    # (points): the log axis' ticks 10^0, 2x10^0 and 3x10^0 (minor ticks labelled: the axis
    # spans less than a decade), the minus signs of the growth axis, the labels 6 points off
    root = svg(bubble_chart(candidates(), None, t))
    assert image_size(root) == near((748.44, 357.67))
    placed = placed_texts(root)
    assert placed["100"] == near((134.05, 333.39)) and placed["2×100"] == near((364.16, 331.79))
    assert placed["3×100"] == near((504.22, 331.79))
    assert placed["−2"] == near((35.94, 307.35)) and placed["5"] == near((35.94, 25.11))
    assert placed["28.93 machinery for food, beverage and toba…"] == near((528.32, 15.31))
    assert placed["10.61 grain mill products (largest sector by turnover (chamber registry))"] == near((288.9, 176.59))
    assert placed["LQ = 1"] == near((149.69, 311.45))
    assert placed[t["bubble_x"]] == near((294.04, 348.06)) and placed[t["bubble_y"]] == near((14.8, 162.43))


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


def test_criteria_chart_is_laid_out_where_matplotlib_laid_it_out(t):
    # matplotlib 3.11's barh of six sectors with its legend: the image size, the tick labels and
    # the legend's labels where it anchored them (points)
    root = svg(criteria_chart(candidates().assign(size_rank=[2, 3, 4, 5, 6, 7, 1]), t))
    assert image_size(root) == near((723.85, 463.83))
    placed = placed_texts(root)
    assert placed["28.93 machinery for food, beverage and toba…"] == near((197.9, 57.01))
    assert placed["32.50 medical instruments"] == near((197.9, 395.9))
    assert placed["0"] == near((204.9, 454.23)) and placed["100"] == near((707.1, 454.23))
    assert placed[t["economic_impact"]] == near((486.57, 418.51)) and placed[t["factor_conditions"]] == near(
        (593.91, 430.51)
    )


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


# ---- the sector space (§6.8) ----------------------------------------------------------------


def pairs(links: dict[tuple[str, str], float], year: int = 2022) -> pd.DataFrame:
    """A relatedness frame of one year: every link in both directions, as published."""
    rows = [(a, b, phi) for (a, b), phi in links.items()] + [(b, a, phi) for (a, b), phi in links.items()]
    frame = pd.DataFrame(rows, columns=["sector_code", "related_sector_code", "proximity"])
    return frame.assign(year=year, window_years=3, co_occurrence=1)


# Six classes of three divisions. The tree, strongest first: 10.11-10.12 (0.9), 13.10-13.20
# (0.8), 25.11-25.12 (0.7); of the three links of 0.5 (tied: lower codes first) 10.11-13.10
# joins the first two groups, 10.12-13.10 closes a cycle, 13.20-25.11 joins the third.
SIX = {
    ("10.11", "10.12"): 0.9,
    ("13.10", "13.20"): 0.8,
    ("25.11", "25.12"): 0.7,
    ("13.10", "10.12"): 0.5,  # either order: the link is one
    ("10.11", "13.10"): 0.5,
    ("13.20", "25.11"): 0.5,
    ("13.10", "25.12"): 0.3,
    ("10.12", "25.11"): 0.3,
    ("10.11", "25.12"): 0.1,
}
TREE = [("10.11", "10.12"), ("13.10", "13.20"), ("25.11", "25.12"), ("10.11", "13.10"), ("13.20", "25.11")]
EMPLOYMENT = pd.Series({"10.11": 5000.0, "10.12": 800.0, "13.10": 300.0, "13.20": 2000.0, "25.11": 100.0})


def drawn(space, tree: bool) -> list[tuple[str, str]]:
    links = space.links[space.links.tree == tree]
    return list(zip(links.sector_code, links.related_sector_code, strict=True))


def test_sector_space_tree_is_the_maximum_spanning_tree_ties_to_the_lower_codes():
    space = sector_space(pairs(SIX), EMPLOYMENT, ["13.20"])
    assert space.nodes.sector_code.tolist() == ["10.11", "10.12", "13.10", "13.20", "25.11", "25.12"]
    assert drawn(space, tree=True) == TREE  # nodes - 1 links, strongest first
    # the 90th percentile of the nine links is 0.82: no link outside the tree reaches it
    assert space.threshold == pytest.approx(0.82) and drawn(space, tree=False) == []
    assert space.nodes.division.tolist() == ["10", "10", "13", "13", "25", "25"]
    assert space.nodes.employment.tolist() == [5000, 800, 300, 2000, 100, 0]  # 25.12 has none: 0
    assert space.nodes.selected.tolist() == [False, False, False, True, False, False]


def test_sector_space_extras_are_the_strongest_links_outside_the_tree_capped_ties_left_out(monkeypatch):
    monkeypatch.setattr(charts, "EXTRA_PERCENTILE", 0)  # every link is strong enough: the cap decides
    outside = [("10.12", "13.10"), ("10.12", "25.11"), ("13.10", "25.12"), ("10.11", "25.12")]  # 0.5 0.3 0.3 0.1
    assert drawn(sector_space(pairs(SIX), EMPLOYMENT, []), tree=False) == outside  # cap 6: all four
    monkeypatch.setattr(charts, "EXTRA_PER_NODE", 0.5)  # cap 3: 0.1 is left out
    assert drawn(sector_space(pairs(SIX), EMPLOYMENT, []), tree=False) == outside[:3]
    monkeypatch.setattr(charts, "EXTRA_PER_NODE", 1 / 3)  # cap 2 falls between the two links of 0.3: both out
    assert drawn(sector_space(pairs(SIX), EMPLOYMENT, []), tree=False) == outside[:1]


def test_sector_space_on_a_larger_network_keeps_its_rules():
    rng = np.random.default_rng(6)
    codes = [f"{division}.{n}0" for division in (10, 13, 20, 25, 28) for n in range(1, 9)]
    links = {
        (a, b): round(float(rng.uniform(0.05, 0.9)), 2)  # two decimals: many ties
        for number, a in enumerate(codes)
        for b in codes[number + 1 :]
        if rng.uniform() < 0.6
    }
    links[("10.10", "99.90")] = 0.0  # a proximity of 0 is no link: 99.90 is no node
    space = sector_space(pairs(links), pd.Series(dtype=float), [])
    nodes, tree, extras = len(space.nodes), space.links[space.links.tree], space.links[~space.links.tree]
    assert nodes == 40 and len(tree) == nodes - 1
    graph = nx.Graph()
    graph.add_weighted_edges_from((a, b, phi) for (a, b), phi in links.items() if phi > 0)
    assert nx.is_connected(graph) and nx.is_tree(nx.Graph(drawn(space, tree=True)))
    best = nx.maximum_spanning_tree(graph).size(weight="weight")
    assert tree.proximity.sum() == pytest.approx(best)  # a maximum spanning tree
    strong = [phi for phi in links.values() if phi > 0]
    assert space.threshold == pytest.approx(np.percentile(strong, 90))
    assert 0 < len(extras) <= nodes and extras.proximity.ge(space.threshold).all()
    left = sorted(
        (
            phi
            for (a, b), phi in links.items()
            if phi > 0 and (a, b) not in set(drawn(space, True) + drawn(space, False))
        ),
        reverse=True,
    )
    assert extras.proximity.min() > left[0]  # the strongest first, none tied with a link left out


def test_sector_space_without_links_has_no_nodes():
    space = sector_space(pairs({}), EMPLOYMENT, ["10.11"])
    assert space.nodes.empty and space.links.empty and np.isnan(space.threshold)


def test_sector_space_chart_draws_the_tree_the_extras_the_dots_and_rings_the_selected(t, monkeypatch):
    monkeypatch.setattr(charts, "EXTRA_PERCENTILE", 0)
    space = sector_space(pairs(SIX), EMPLOYMENT, ["13.20", "25.11", "33.11"])  # 33.11: no node, no ring
    root = svg(sector_space_chart(space, t))
    assert len(group(root, "space-tree").findall(f".//{SVG}path")) == 5  # nodes - 1
    assert len(group(root, "space-extra").findall(f".//{SVG}path")) == 4
    assert len(group(root, "space-nodes").findall(f".//{SVG}path")) == 6  # one dot per class
    assert len(group(root, "space-selected").findall(f".//{SVG}path")) == 2
    shown = texts(root)
    assert [text for text in shown if text[:2].isdigit() and "." in text[:3]] == ["13.20", "25.11"]  # the labels
    assert {"10 Food products", "13 Textiles", "25 Fabricated metal products", t["space_selected"]} <= set(shown)
    assert "1,000 employees" not in shown and "5,000 employees" in shown  # a round number of the largest
    assert "28 Machinery n.e.c." not in shown  # divisions with no class drawn are not in the legend
    colours = fills(group(root, "space-nodes"))
    assert colours[0] == DIVISION_COLOURS["10"] and colours[-1] == DIVISION_COLOURS["25"]
    turkish = texts(svg(sector_space_chart(space, report_text("tr"))))
    assert {"10 Gıda ürünleri", "13 Tekstil", "bir ilde seçilen", "5,000 çalışan"} <= set(turkish)


def test_sector_space_chart_is_the_same_byte_for_byte_whatever_the_row_order(t):
    frame = pairs(SIX)
    first = sector_space_chart(sector_space(frame, EMPLOYMENT, ["13.20"]), t)
    shuffled = frame.sample(frac=1, random_state=3).reset_index(drop=True)
    assert sector_space_chart(sector_space(shuffled, EMPLOYMENT, ["13.20"]), t) == first


def test_every_division_has_a_colour_and_a_name_in_every_language():
    divisions = {code for code in DIVISION_COLOURS}
    assert divisions == {str(number) for number in range(10, 34)}  # NACE section C
    assert len(set(DIVISION_COLOURS.values())) == len(divisions)
    for language in ("tr", "en"):
        assert set(report_text(language)["divisions"]) == divisions


def test_label_offsets_move_a_label_off_its_neighbours():
    # three points close together: up right, then up left, then down right
    assert charts._label_offsets(np.array([[0, 0], [2, 0], [0, -2]]), 25, 8) == [(4, 4), (-4, 4), (4, -4)]
    assert charts._label_offsets(np.array([[0, 0], [100, 100]]), 25, 8) == [(4, 4), (4, 4)]  # far apart


# ---- the top three over the years (§8) -------------------------------------------------------


def history(plan: dict[int, list[str]], snapshot_year: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "year": year,
                "rank": rank,
                "sector_code": code,
                "sector_name": f"class <{code}>",
                "total_score": 70.0 - rank,
                "snapshot_inputs": year == snapshot_year,
            }
            for year, codes in plan.items()
            for rank, code in enumerate(codes, start=1)
        ]
    )


def test_selection_timeline_joins_a_sector_only_across_neighbouring_years_of_the_history(t):
    # 10.61 is third in 2018 and 2021 but not in 2019: no line; 2019 -> 2021 are neighbours (no 2020)
    frame = history(
        {2018: ["28.93", "32.50", "10.61"], 2019: ["28.93", "32.50"], 2021: ["32.50", "28.93", "10.61"]}, 2021
    )
    root = svg(charts.selection_timeline(frame, t))
    lines = group(root, "timeline-lines").findall(f"{SVG}path")
    assert len(lines) == 4  # 28.93 and 32.50, each 2018-2019 and 2019-2021
    assert len(group(root, "timeline-panels").findall(f"{SVG}circle")) == 5
    assert len(group(root, "timeline-snapshot").findall(f"{SVG}circle")) == 3
    xs = sorted({float(c.get("cx")) for c in root.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None})
    assert np.isclose(xs[2] - xs[1], 2 * (xs[1] - xs[0]))  # the x axis is the year: a gap shows
    years = [e.text for e in group(root, "timeline-ticks").iter(f"{SVG}text")]
    assert years == ["1st", "2nd", "3rd", "2018", "2019", "2021"]
    # names are escaped in the titles (the SVG parses) and said in full
    titles = [c.find(f"{SVG}title").text for c in group(root, "timeline-snapshot").findall(f"{SVG}circle")]
    assert titles[0] == "2021, 1st: 32.50 class <32.50> (69.0)"


def test_selection_timeline_colours_the_latest_first_green_repeated_sectors_apart_and_is_deterministic(t):
    frame = history({2020: ["13.10", "28.93", "10.61"], 2021: ["28.93", "13.10", "20.10"]}, 2021)
    assert charts.timeline_colours(frame) == {
        "28.93": SELECTED,  # the latest year's first
        "13.10": charts.TIMELINE_COLOURS[0],  # ranked in both years
        "10.61": OTHER,  # once only
        "20.10": OTHER,
    }
    shuffled = frame.sample(frac=1, random_state=3)
    assert charts.selection_timeline(shuffled, t) == charts.selection_timeline(frame, t)
    assert charts.selection_timeline(frame, report_text("tr")) != charts.selection_timeline(frame, t)
