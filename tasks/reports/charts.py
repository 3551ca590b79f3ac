"""The report's charts as inline SVG (matplotlib): the bubble chart, the criteria bars, the map,
the sector space."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import minimum_spanning_tree

SELECTED, LARGEST, OTHER = "#2e8b57", "#c0392b", "#7f99b2"


def _svg(figure: Figure) -> str:
    """The figure as an inline SVG image; text stays text (half the size of glyph paths); the
    same figure gives the same bytes (a fixed salt for the ids of clip paths, no date)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans", "svg.hashsalt": "kume"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue().encode()).decode()
    return f"data:image/svg+xml;base64,{data}"


def bubble_chart(candidates: pd.DataFrame, national_growth: float | None, t: dict) -> str:
    """x = employment LQ (log), y = employment CAGR, bubble = employment; LQ = 1 and the national
    growth drawn; the selected sector highlighted, the largest (on the size basis) marked."""
    data = candidates[candidates.lq_employment.gt(0) & candidates.employment_cagr.notna()]
    shown = data.nsmallest(40, "rank")  # the 40 best ranked keep the chart legible
    figure = Figure(figsize=(9, 5.6))
    axis = figure.subplots()
    sizes = 2500 * np.sqrt(shown.employment / max(shown.employment.max(), 1))
    largest = largest_row(shown)
    colours = [SELECTED if s else LARGEST if big else OTHER for s, big in zip(shown.selected, largest, strict=True)]
    axis.scatter(
        shown.lq_employment,
        shown.employment_cagr * 100,
        s=sizes,
        c=colours,
        alpha=0.55,
        edgecolors="#1d2733",
        linewidths=0.6,
    )
    axis.set_xscale("log")
    axis.axvline(1, color="#1d2733", linestyle="--", linewidth=1)
    axis.text(1.02, 0.02, "LQ = 1", transform=axis.get_xaxis_transform(), fontsize=8)
    if national_growth is not None and np.isfinite(national_growth):
        axis.axhline(national_growth * 100, color="#1f6f8b", linestyle=":", linewidth=1.2)
        axis.text(
            0.99,
            national_growth * 100,
            f"{t['national_growth']} {national_growth:.1%} ",
            transform=axis.get_yaxis_transform(),
            fontsize=8,
            va="bottom",
            ha="right",
            color="#1f6f8b",
        )
    labelled = shown[(shown["rank"] <= 5) | shown.selected | largest]
    for row, big in zip(labelled.itertuples(), largest_row(labelled), strict=True):
        label = f"{row.sector_code} {shorten(row.sector_name)}"
        if big and not row.selected:
            label += f" ({largest_label(row.size_basis, t)})"
        axis.annotate(
            label,
            (row.lq_employment, row.employment_cagr * 100),
            fontsize=8,
            xytext=(6, 6),
            textcoords="offset points",
            weight="bold" if row.selected else "normal",
        )
    axis.set_xlabel(t["bubble_x"])
    axis.set_ylabel(t["bubble_y"])
    axis.grid(alpha=0.25)
    return _svg(figure)


def criteria_chart(candidates: pd.DataFrame, t: dict) -> str:
    """Grouped bars of the four criterion scores of the top five and the largest sector."""
    rows = candidates[(candidates["rank"] <= 5) | largest_row(candidates)].sort_values("rank")
    figure = Figure(figsize=(9, 0.55 * len(rows) * 2 + 1.2))
    axis = figure.subplots()
    positions = np.arange(len(rows))
    colours = ["#1f6f8b", "#e59c3a", "#6a4c93", "#3a9e6f"]
    for number, criterion in enumerate(CRITERIA):
        axis.barh(
            positions + number * 0.2 - 0.3,
            rows[criterion].fillna(0),
            height=0.2,
            color=colours[number],
            label=t[criterion],
        )
    axis.set_yticks(positions, [f"{r.sector_code} {shorten(r.sector_name)}" for r in rows.itertuples()], fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, 100)
    axis.legend(fontsize=8, loc="lower right", ncols=2)
    axis.grid(axis="x", alpha=0.25)
    return _svg(figure)


def map_chart(geojson: dict, values: pd.Series, pilots: dict[int, str], label: str) -> str:
    """Provinces coloured by ``values`` (plate code -> number); pilots outlined and labelled."""
    polygons, plates = [], []
    for feature in geojson["features"]:
        plate = int(feature["properties"]["plate_code"])
        geometry = feature["geometry"]
        parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for part in parts:
            polygons.append(np.asarray(part[0]))
            plates.append(plate)
    figure = Figure(figsize=(11, 5.2))
    axis = figure.subplots()
    data = np.array([values.get(p, np.nan) for p in plates], dtype=float)
    colours = matplotlib.colormaps["YlGnBu"].with_extremes(bad="#e3e3e3")  # grey: not scored
    collection = PolyCollection(
        polygons, array=np.ma.masked_invalid(data), cmap=colours, edgecolors="#ffffff", linewidths=0.4
    )
    axis.add_collection(collection)
    outlines = [poly for poly, plate in zip(polygons, plates, strict=True) if plate in pilots]
    axis.add_collection(PolyCollection(outlines, facecolors="none", edgecolors="#c0392b", linewidths=2.0))
    for number, (plate, text) in enumerate(sorted(pilots.items())):
        shapes = [poly for poly, p in zip(polygons, plates, strict=True) if p == plate]
        if shapes:
            centre = max(shapes, key=len).mean(axis=0)
            lift = 16 if number % 2 else -22  # alternate above and below: neighbours do not overlap
            axis.annotate(
                text,
                centre,
                fontsize=8,
                weight="bold",
                ha="center",
                xytext=(0, lift),
                textcoords="offset points",
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85},
            )
    axis.autoscale_view()
    axis.set_aspect(1 / np.cos(np.radians(39)))
    axis.axis("off")
    colourbar = figure.colorbar(collection, ax=axis, shrink=0.7, pad=0.01)
    colourbar.set_label(label)
    return _svg(figure)


CRITERIA = ["economic_impact", "demand", "networking", "factor_conditions"]


def largest_row(frame: pd.DataFrame) -> pd.Series:
    """The province's largest sector on its size basis (false where its size is unknown)."""
    return frame.size_rank.eq(1).fillna(False).astype(bool)


def shorten(name: object, length: int = 38) -> str:
    text = str(name) if isinstance(name, str) else ""
    text = text.removeprefix("Manufacture of ")
    return text if len(text) <= length else text[: length - 1] + "…"


def largest_label(basis: object, t: dict) -> str:
    """'largest sector by employment (no turnover data)', in the page's language."""
    return t["largest"].get(basis, t["largest"]["employment"])


# ---- the sector space (§6.8) ------------------------------------------------------------------

EXTRA_PERCENTILE = 90  # extra links are drawn from the strongest tenth of all links...
EXTRA_PER_NODE = 1.0  # ...at most one per class: about two links per node in all, as in Hidalgo et al. (2007)
LAYOUT_SEED = 15  # the layout is the same on every run
SPACE_DOT = 600  # the dot of the largest class, in points squared (area: employment)
LABEL_WIDTH = 25  # points: a class code ("28.93") in 8 pt bold
DIVISION_COLOURS = {  # NACE divisions, related divisions in related hues
    "10": "#1b7837", "11": "#5aae61", "12": "#a6dba0",  # food, beverages, tobacco: greens
    "13": "#762a83", "14": "#9970ab", "15": "#c2a5cf",  # textiles, apparel, leather: purples
    "16": "#8c510a", "17": "#bf812d", "18": "#dfc27d",  # wood, paper, printing: browns
    "19": "#252525", "20": "#e66101", "21": "#fdb863", "22": "#ffd92f",  # fuels, chemicals, plastics
    "23": "#969696", "24": "#525252", "25": "#de77ae",  # minerals, metals, metal products
    "26": "#08519c", "27": "#3182bd", "28": "#9ecae1",  # electronics, electrical, machinery: blues
    "29": "#cb181d", "30": "#fc9272",  # vehicles, other transport: reds
    "31": "#01665e", "32": "#35978f", "33": "#80cdc1",  # furniture, other, repair: teals
}  # fmt: skip


@dataclass(frozen=True)
class SectorSpace:
    """The sector space of one year: its nodes (``sector_code``, ``division``, ``employment``,
    ``selected``, layout ``x``, ``y``) and the links drawn (``sector_code``,
    ``related_sector_code``, ``proximity``, ``tree``: in the maximum spanning tree or an extra)."""

    nodes: pd.DataFrame
    links: pd.DataFrame
    threshold: float  # the least phi of an extra link (the 90th percentile of all links)


def sector_space(relatedness: pd.DataFrame, employment: pd.Series, selected: Iterable[str]) -> SectorSpace:
    """The network of the classes linked by proximity phi in ``relatedness`` (one year's pairs,
    either direction) drawn as the product space is (Hidalgo et al. 2007; §6.8): the maximum spanning
    tree, which joins every class through its strongest links, plus the strongest other links.
    Extras are links outside the tree with phi at or above the 90th percentile of all links,
    strongest first, at most one per class; links tied at that cap are all left out, so no link
    is drawn while an equally strong one is not. Ties elsewhere go to the lower sector codes. The
    classes are placed by a spring layout of the tree (weighted by phi, seed fixed), which unfolds
    its branches; the extras are drawn over it. Tree and layout are the same on every run.
    Classes with no link (present in no province) are not nodes. ``employment`` (sector_code ->
    national employment) sizes the nodes; ``selected`` codes are highlighted."""
    pairs = relatedness[relatedness.proximity.gt(0)]
    one = pairs.sector_code.to_numpy(dtype=object)
    other = pairs.related_sector_code.to_numpy(dtype=object)
    lower = one < other
    links = (
        pd.DataFrame(
            {
                "sector_code": np.where(lower, one, other),
                "related_sector_code": np.where(lower, other, one),
                "proximity": pairs.proximity.to_numpy(dtype="float64"),
            }
        )
        .drop_duplicates(["sector_code", "related_sector_code"])
        .sort_values(["proximity", "sector_code", "related_sector_code"], ascending=[False, True, True])
        .reset_index(drop=True)
    )
    codes = np.array(sorted(set(links.sector_code) | set(links.related_sector_code)), dtype=object)
    position = {code: number for number, code in enumerate(codes)}
    i = links.sector_code.map(position).to_numpy()
    j = links.related_sector_code.map(position).to_numpy()
    # Kruskal needs only the order of the links: weight = place in the strongest-first order
    order = csr_matrix((np.arange(1, len(links) + 1, dtype="float64"), (i, j)), shape=(len(codes), len(codes)))
    tree = np.zeros(len(links), dtype=bool)
    tree[minimum_spanning_tree(order).data.astype(int) - 1] = True
    links["tree"] = tree
    others = links[~tree]
    threshold = float(np.percentile(links.proximity, EXTRA_PERCENTILE)) if len(links) else np.nan
    extras = others[others.proximity.ge(threshold)]
    cap = int(EXTRA_PER_NODE * len(codes))
    if len(extras) > cap:
        extras = extras[extras.proximity.gt(extras.proximity.iloc[cap])]
    drawn = links[tree | links.index.isin(extras.index)].reset_index(drop=True)
    tree_graph = nx.Graph()
    tree_graph.add_nodes_from(codes)
    tree_links = drawn[drawn.tree]
    tree_graph.add_weighted_edges_from(tree_links[["sector_code", "related_sector_code", "proximity"]].to_numpy())
    spacing = 1.6 / np.sqrt(max(len(codes), 1))  # a little wider than networkx's default: branches unfold
    layout = nx.spring_layout(tree_graph, k=spacing, iterations=100, seed=LAYOUT_SEED) if len(codes) else {}
    chosen = set(selected)
    nodes = pd.DataFrame(
        {
            "sector_code": codes,
            "division": [code[:2] for code in codes],
            "employment": pd.Series(employment).reindex(codes).fillna(0.0).to_numpy(dtype="float64"),
            "selected": [code in chosen for code in codes],
            "x": [layout[code][0] for code in codes],
            "y": [layout[code][1] for code in codes],
        }
    )
    return SectorSpace(nodes, drawn, threshold)


def sector_space_chart(space: SectorSpace, t: dict) -> str:
    """The sector space: links (tree darker than extras), classes as dots coloured by NACE
    division and sized by national employment (area), the selected ringed and labelled with
    their code; a legend of the divisions present, the ring and a dot of a round employment.
    SVG groups ``space-tree``, ``space-extra``, ``space-nodes``, ``space-selected`` hold the
    links, the dots and the rings. 8 inches wide: its text stays about 8 pt printed on A4."""
    nodes = space.nodes.set_index("sector_code")
    figure = Figure(figsize=(8, 10.2))
    axis = figure.add_axes((0, 0.2, 1, 0.8))
    for gid, tree, colour, width in (("space-extra", False, "#c3ccd5", 0.5), ("space-tree", True, "#6b7785", 0.9)):
        links = space.links[space.links.tree == tree]
        segments = [
            [(nodes.x[a], nodes.y[a]), (nodes.x[b], nodes.y[b])]
            for a, b in zip(links.sector_code, links.related_sector_code, strict=True)
        ]
        collection = LineCollection(segments, colors=colour, linewidths=width, zorder=1)
        collection.set_gid(gid)
        axis.add_collection(collection)
    largest = max(nodes.employment.max(), 1.0)
    sizes = 10 + SPACE_DOT * nodes.employment / largest
    colours = [DIVISION_COLOURS.get(division, OTHER) for division in nodes.division]
    dots = axis.scatter(nodes.x, nodes.y, s=sizes, c=colours, edgecolors="white", linewidths=0.4, zorder=2)
    dots.set_gid("space-nodes")
    chosen = nodes[nodes.selected]
    ring = dict(facecolors="none", edgecolors="#1d2733", linewidths=1.3)
    rings = axis.scatter(chosen.x, chosen.y, s=sizes[nodes.selected] + 50, zorder=3, **ring)
    rings.set_gid("space-selected")
    for values, limits in ((nodes.x, axis.set_xlim), (nodes.y, axis.set_ylim)):
        pad = 0.03 * (values.max() - values.min()) or 1.0
        limits(values.min() - pad, values.max() + pad)
    axis.axis("off")
    points = axis.transData.transform(chosen[["x", "y"]].to_numpy()) * 72 / figure.dpi if len(chosen) else []
    for code, (dx, dy) in zip(chosen.index, _label_offsets(points, LABEL_WIDTH, 8), strict=True):
        axis.annotate(
            code,
            (nodes.x[code], nodes.y[code]),
            fontsize=8,
            weight="bold",
            xytext=(dx, dy),
            textcoords="offset points",
            ha="left" if dx > 0 else "right",
            va="bottom" if dy > 0 else "top",
        )
    dot = dict(marker="o", linestyle="", markeredgecolor="white")
    names = t["divisions"]
    handles = [
        Line2D([], [], markersize=8, color=DIVISION_COLOURS.get(d, OTHER), label=f"{d} {names.get(d, d)}", **dot)
        for d in sorted(set(nodes.division))
    ]
    round_number = 10 ** np.floor(np.log10(largest))
    round_number *= 5 if largest >= 5 * round_number else 2 if largest >= 2 * round_number else 1
    handles += [
        Line2D(
            [],
            [],
            markersize=10,
            markerfacecolor="none",
            markeredgecolor="#1d2733",
            markeredgewidth=1.3,
            marker="o",
            linestyle="",
            label=t["space_selected"],
        ),
        Line2D(
            [],
            [],
            markersize=np.sqrt(10 + SPACE_DOT * round_number / largest),
            color=OTHER,
            label=t["space_size"].format(employment=f"{round_number:,.0f}"),
            **dot,
        ),
    ]
    figure.legend(handles=handles, loc="lower center", ncols=3, fontsize=8.5, frameon=False, bbox_to_anchor=(0.5, 0))
    return _svg(figure)


def _label_offsets(points: np.ndarray, width: float, height: float) -> list[tuple[int, int]]:
    """An offset (points) for the label of each point (points, in order): of up right, up left,
    down right and down left, the first whose box of ``width`` x ``height`` overlaps the
    labels placed before it least, so that neighbours' labels do not print over each other."""
    offsets = [(4, 4), (-4, 4), (4, -4), (-4, -4)]
    placed: list[tuple[float, float, float, float]] = []
    chosen = []
    for x, y in points:
        boxes = [(x + dx if dx > 0 else x + dx - width, y + dy if dy > 0 else y + dy - height) for dx, dy in offsets]
        overlaps = [
            sum(
                max(0.0, min(left + width, x1) - max(left, x0)) * max(0.0, min(bottom + height, y1) - max(bottom, y0))
                for x0, y0, x1, y1 in placed
            )
            for left, bottom in boxes
        ]
        best = int(np.argmin(overlaps))
        left, bottom = boxes[best]
        placed.append((left, bottom, left + width, bottom + height))
        chosen.append(offsets[best])
    return chosen


# ---- the selection by year (§8) ---------------------------------------------------------------

TIMELINE_COLOURS = ["#1f6f8b", "#e59c3a", "#6a4c93", "#c0392b", "#8c510a", "#de77ae", "#35978f", "#525252"]


def timeline_colours(history: pd.DataFrame) -> dict[str, str]:
    """sector_code -> its colour in the timeline: the latest year's first the selection's green;
    the other sectors ranked in more than one year a colour each (by first appearance, then rank
    and code) while the palette lasts; the rest grey. The same history gives the same colours."""
    rows = history.sort_values(["year", "rank", "sector_code"])
    latest = rows[rows.year.eq(rows.year.max())]
    first = latest.sector_code.iloc[0] if len(latest) else None
    counts = rows.sector_code.value_counts()
    repeated = [code for code in rows.sector_code.drop_duplicates() if counts[code] > 1 and code != first]
    colours = dict(zip(repeated, TIMELINE_COLOURS, strict=False))
    colours = {code: colours.get(code, OTHER) for code in rows.sector_code}
    if first is not None:
        colours[first] = SELECTED
    return colours


TIMELINE_WIDTH, TIMELINE_HEIGHT = 720, 190  # pixels; drawn by hand: matplotlib's text layout takes 0.2 s here
TIMELINE_BOX = (56, 16, 12, 56)  # margins left, top, right, bottom: the rank labels, the years and the key


def selection_timeline(history: pd.DataFrame, t: dict) -> str:
    """A province's three best ranked sectors by reference year (``history``: year, rank,
    sector_code, sector_name, total_score, snapshot_inputs; the ``selection_history`` rows of one
    province) as an inline SVG image: x the year, y the rank (first on top), a dot per sector and
    year labelled with its class code (its name and score as the dot's title), lines joining a
    sector ranked in consecutive years. Years computed from the yearly panels alone have hollow
    dots, years whose selection used the snapshot inputs too filled ones. SVG groups
    ``timeline-lines``, ``timeline-panels``, ``timeline-snapshot``, ``timeline-labels``. Written
    by hand, not by matplotlib, so that a page's chart costs a millisecond; the same history
    gives the same bytes."""
    rows = history.sort_values(["year", "rank", "sector_code"]).reset_index(drop=True)
    snapshot = rows.snapshot_inputs.fillna(False).astype(bool).to_numpy()
    years = sorted(int(year) for year in rows.year.unique())
    colours = timeline_colours(rows)
    left, top, right, bottom = TIMELINE_BOX
    step = (TIMELINE_WIDTH - left - right) / (years[-1] - years[0] + 1)
    height = (TIMELINE_HEIGHT - top - bottom) / 3

    def x(year: int) -> float:
        return left + (year - years[0] + 0.5) * step

    def y(rank: int) -> float:
        return top + (rank - 0.5) * height

    def escape(text: object) -> str:
        return html.escape(str(text), quote=True)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{TIMELINE_WIDTH}" height="{TIMELINE_HEIGHT}" '
        f'viewBox="0 0 {TIMELINE_WIDTH} {TIMELINE_HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif" '
        f'font-size="11" fill="#1d2733">',
        f'<rect width="{TIMELINE_WIDTH}" height="{TIMELINE_HEIGHT}" fill="white"/>',
        '<g id="timeline-axes" stroke="#d4dbe2" stroke-width="1">',
    ]
    for rank in (1, 2, 3):
        parts.append(f'<line x1="{left}" x2="{TIMELINE_WIDTH - right}" y1="{y(rank):.1f}" y2="{y(rank):.1f}"/>')
    parts.append('</g><g id="timeline-ticks">')
    for rank in (1, 2, 3):
        label = escape(t["timeline_ranks"][str(rank)])
        parts.append(f'<text x="{left - 8}" y="{y(rank) + 4:.1f}" text-anchor="end">{label}</text>')
    axis = TIMELINE_HEIGHT - bottom + 16
    for year in years:
        parts.append(f'<text x="{x(year):.1f}" y="{axis}" text-anchor="middle">{year}</text>')
    parts.append('</g><g id="timeline-lines" stroke-width="2" stroke-opacity="0.7" fill="none">')
    ranks = {(int(row.year), row.sector_code): int(row.rank) for row in rows.itertuples()}
    for (year, code), rank in sorted(ranks.items(), key=lambda item: (item[0][1], item[0][0])):
        after = years[years.index(year) + 1] if year != years[-1] else None
        if (after, code) in ranks:
            parts.append(
                f'<path d="M{x(year):.1f} {y(rank):.1f}L{x(after):.1f} {y(ranks[after, code]):.1f}" '
                f'stroke="{colours[code]}"/>'
            )
    parts.append("</g>")
    for gid, filled in (("timeline-panels", False), ("timeline-snapshot", True)):
        parts.append(f'<g id="{gid}" stroke-width="2">')
        for row in rows[snapshot == filled].itertuples():
            colour = colours[row.sector_code]
            title = f"{row.year}, {t['timeline_ranks'][str(int(row.rank))]}: {row.sector_code} {row.sector_name}"
            if pd.notna(row.total_score):
                title += f" ({row.total_score:.1f})"
            parts.append(
                f'<circle cx="{x(row.year):.1f}" cy="{y(row.rank):.1f}" r="5.5" stroke="{colour}" '
                f'fill="{colour if filled else "white"}"><title>{escape(title)}</title></circle>'
            )
        parts.append("</g>")
    parts.append('<g id="timeline-labels" font-size="10" text-anchor="middle">')
    for row in rows.itertuples():
        parts.append(f'<text x="{x(row.year):.1f}" y="{y(row.rank) - 9:.1f}">{escape(row.sector_code)}</text>')
    parts.append('</g><g id="timeline-key" stroke-width="2">')
    key = TIMELINE_HEIGHT - 12
    for number, (filled, label) in enumerate(((False, t["timeline_panels"]), (True, t["timeline_snapshot"]))):
        start = left + number * 240
        parts.append(
            f'<circle cx="{start + 6}" cy="{key - 4}" r="5.5" stroke="{OTHER}" fill="{OTHER if filled else "white"}"/>'
            f'<text x="{start + 18}" y="{key}" stroke="none">{escape(label)}</text>'
        )
    parts.append("</g></svg>")
    data = base64.b64encode("".join(parts).encode()).decode()
    return f"data:image/svg+xml;base64,{data}"
