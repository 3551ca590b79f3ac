"""The report's charts as inline SVG: the bubble chart and the criteria bars of the province pages
drawn directly as matplotlib lays them out (``_Figure``), the map and the sector space of the
national page with matplotlib, the selection by year drawn by hand."""

from __future__ import annotations

import base64
import functools
import html
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.cbook import is_math_text
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font, Kerning, LoadFlags
from matplotlib.lines import Line2D
from matplotlib.mathtext import MathTextParser
from matplotlib.path import Path
from matplotlib.ticker import (
    AutoLocator,
    LogFormatterSciNotation,
    LogLocator,
    NullFormatter,
    NullLocator,
    ScalarFormatter,
)
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
    growth drawn; the selected sector highlighted, the largest (on the size basis) marked. Drawn
    as matplotlib's ``scatter`` on a figure of 9 x 5.6 in (``_Figure``)."""
    ranks = candidates["rank"].to_numpy()
    lq = candidates.lq_employment.to_numpy(dtype="float64")
    cagr = candidates.employment_cagr.to_numpy(dtype="float64")
    plotted = np.flatnonzero((lq > 0) & ~np.isnan(cagr))
    shown = plotted[np.argsort(ranks[plotted], kind="stable")[:40]]  # the 40 best ranked keep the chart legible
    employment = candidates.employment.to_numpy(dtype="float64")[shown]
    known = employment[~np.isnan(employment)]
    sizes = 2500 * np.sqrt(employment / max(known.max() if len(known) else np.nan, 1))
    largest = largest_row(candidates).to_numpy()[shown]
    selected = candidates.selected.to_numpy(dtype=bool)[shown]
    colours = [SELECTED if s else LARGEST if big else OTHER for s, big in zip(selected, largest, strict=True)]
    lq, cagr = lq[shown], cagr[shown]
    growth = cagr * 100
    national = national_growth * 100 if national_growth is not None and np.isfinite(national_growth) else None
    figure = _Figure(9, 5.6)
    x = figure.scale("x", lq, lines=[1.0], log=True)
    y = figure.scale("y", growth, lines=[] if national is None else [national])
    figure.draw(
        '<g id="bubble-sectors" fill-opacity="0.55" stroke="#1d2733" stroke-opacity="0.55" stroke-width="0.6" '
        'clip-path="url(#axes)">'
    )
    for a, b, size, colour in zip(lq, growth, sizes, colours, strict=True):
        if np.isfinite([a, b, size]).all():
            figure.circle(x(a), y(b), np.sqrt(size) / 2, colour)  # size: the area in points squared
    figure.draw("</g>")
    figure.axes(x, y, grid="xy", xlabel=t["bubble_x"], ylabel=t["bubble_y"])
    figure.line(x(1.0), figure.y0, x(1.0), figure.y1, 'stroke="#1d2733" stroke-dasharray="3.7,1.6"')
    if national is not None:
        dotted = 'stroke="#1f6f8b" stroke-width="1.2" stroke-dasharray="1.2,1.98"'
        figure.line(figure.x0, y(national), figure.x1, y(national), dotted)
    figure.spines()
    figure.text(x(1.02), figure.y0 + 0.02 * (figure.y1 - figure.y0), "LQ = 1", 8)
    if national is not None:
        label = f"{t['national_growth']} {national_growth:.1%} "
        figure.text(figure.x0 + 0.99 * (figure.x1 - figure.x0), y(national), label, 8, "right", "bottom", "#1f6f8b")
    codes, names, bases = (
        candidates[name].to_numpy(dtype=object)[shown] for name in ("sector_code", "sector_name", "size_basis")
    )
    for i in np.flatnonzero((ranks[shown] <= 5) | selected | largest):
        label = f"{codes[i]} {shorten(names[i])}"
        if largest[i] and not selected[i]:
            label += f" ({largest_label(bases[i], t)})"
        # 6 points up and right of the sector's point
        figure.text(x(lq[i]) + 6, y(growth[i]) + 6, label, 8, bold=bool(selected[i]))
    return figure.svg()


def criteria_chart(candidates: pd.DataFrame, t: dict) -> str:
    """Grouped bars of the four criterion scores of the top five and the largest sector. Drawn as
    matplotlib's ``barh`` with a legend in two columns in the lower right (``_Figure``)."""
    rows = candidates[["sector_code", "sector_name", "rank", "size_rank", *CRITERIA]]  # the chart's columns
    rows = rows[(rows["rank"] <= 5) | largest_row(rows)].sort_values("rank")
    figure = _Figure(9, 0.55 * len(rows) * 2 + 1.2)
    positions = np.arange(len(rows))
    colours = ["#1f6f8b", "#e59c3a", "#6a4c93", "#3a9e6f"]
    bottoms = [positions + number * 0.2 - 0.3 - 0.1 for number in range(len(CRITERIA))]  # bars 0.2 high
    x = figure.scale("x", np.array([0.0, 100.0]), limits=(0.0, 100.0))
    y = figure.scale("y", np.concatenate([[b, b + 0.2] for b in bottoms], axis=None), inverted=True)
    figure.draw('<g id="criteria-bars" clip-path="url(#axes)">')
    for bottom, criterion, colour in zip(bottoms, CRITERIA, colours, strict=True):
        for low, score in zip(bottom, rows[criterion].fillna(0).to_numpy(dtype="float64"), strict=True):
            figure.box(x(0.0), y(low), x(score), y(low + 0.2), colour)  # the y axis runs downwards
    figure.draw("</g>")
    labels = [f"{code} {shorten(name)}" for code, name in zip(rows.sector_code, rows.sector_name, strict=True)]
    figure.axes(x, y, grid="x", yticks=(positions, labels, 8))
    figure.spines()
    figure.legend([t[criterion] for criterion in CRITERIA], colours, 8)
    return figure.svg()


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
    return pd.Series(frame.size_rank.eq(1).to_numpy(dtype=bool, na_value=False), index=frame.index)


def shorten(name: object, length: int = 38) -> str:
    text = str(name) if isinstance(name, str) else ""
    text = text.removeprefix("Manufacture of ")
    return text if len(text) <= length else text[: length - 1] + "…"


def largest_label(basis: object, t: dict) -> str:
    """'largest sector by employment (no turnover data)', in the page's language."""
    return t["largest"].get(basis, t["largest"]["employment"])


# ---- the province charts, drawn directly as matplotlib lays them out --------------------------
# matplotlib took a quarter of a second for a province page's two charts (text layout; the figure
# drawn twice for its tight bounding box). ``_Figure`` draws them in a few milliseconds with
# matplotlib's layout rules and default style: text measured with DejaVu Sans' own metrics, ticks
# from matplotlib's locators and formatters, axes where its default subplot puts them, the image
# cut to savefig's tight bounding box; the charts look as they did.

POINTS = 72  # points per inch: SVG user units are points
PAD = 0.1 * POINTS  # savefig's pad_inches around the tight bounding box
SUBPLOT = (0.125, 0.11, 0.9, 0.88)  # the default axes' left, bottom, right and top (figure fractions)
MARGIN = 0.05  # autoscaling's margin each side of the data
TICK = {True: (3.5, 3.5, 0.8), False: (2.0, 3.4, 0.6)}  # major, minor ticks: length, label pad, width (points)
LABEL_PAD = 4.0  # between the tick labels and the axis label (points)
FONT_SIZE = 10.0  # tick labels and axis labels (points)
LEGEND = {  # in font sizes
    "borderpad": 0.4,
    "labelspacing": 0.5,
    "handlelength": 2.0,
    "handleheight": 0.7,
    "handletextpad": 0.8,
    "borderaxespad": 0.5,
    "columnspacing": 2.0,
}
GRID = 'stroke="#b0b0b0" stroke-opacity="0.25" stroke-width="0.8" stroke-linecap="square"'
TICK_MARKS = "".join(
    f'<path id="{axis}-{kind}" d="M0 0L{dx} {dy}"/>'
    for axis, kind, dx, dy in (
        ("x", "major", 0, 3.5),
        ("x", "minor", 0, 2),
        ("y", "major", -3.5, 0),
        ("y", "minor", -2, 0),
    )
)  # the ticks' marks, out of the axes (SVG's y downwards)
FONT_FAMILY = (
    "'DejaVu Sans', 'Bitstream Vera Sans', 'Computer Modern Sans Serif', 'Lucida Grande', 'Verdana', "
    "'Geneva', 'Lucid', 'Arial', 'Helvetica', 'Avant Garde', sans-serif"
)  # matplotlib's sans-serif fonts, as its SVG text names them
LIGATURES = {"ffi": "\ufb03", "ffl": "\ufb04", "ff": "\ufb00", "fi": "\ufb01", "fl": "\ufb02"}  # fmt: skip
# (the letters matplotlib's text shaping joins, longest first, and the glyph it joins them into)
MATH = MathTextParser("path")
CIRCLE = Path.unit_circle().vertices[:25]  # matplotlib's circle: a start and eight cubic curves (y upwards)
MEASURED_SIZE = 100.0  # matplotlib's SVG backend measures text at this size and scales it
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in points, y upwards


def _n(value: float) -> str:
    """A coordinate in the SVG, to a millionth of a point as matplotlib writes it: a browser places
    text on whole pixels, so a coordinate rounded coarser may move a label by a pixel."""
    return f"{value:f}".rstrip("0").rstrip(".")


@functools.cache
def _font_file(bold: bool) -> str:
    return font_manager.findfont(FontProperties(weight="bold" if bold else "normal"))


def _face(bold: bool) -> FT2Font:
    """DejaVu Sans (bold) as matplotlib loads it for text (its font object of this thread)."""
    return font_manager.get_font(_font_file(bold))


@functools.cache
def _glyph(char: str, bold: bool) -> tuple[int, int, int, int]:
    """A character's glyph, advance and extent above and below the baseline (1/64 point at
    ``MEASURED_SIZE``)."""
    face = _face(bold)
    face.set_size(MEASURED_SIZE, POINTS)
    face.set_text(char, 0.0, flags=LoadFlags.NO_HINTING)
    advance, height = face.get_width_height()
    descent = face.get_descent()
    return face.get_char_index(ord(char)), advance, height - descent, -descent


@functools.cache
def _kerning(left: int, right: int, bold: bool) -> int:
    """The kerning of a pair of glyphs (1/64 point at ``MEASURED_SIZE``), rounded as matplotlib's
    text shaping (HarfBuzz: a 16.16 fixed-point scale, halves rounded up) rounds it."""
    face = _face(bold)
    scale = (int(MEASURED_SIZE * 64) << 16) // face.get_sfnt_table("head")["unitsPerEm"]
    return (face.get_kerning(left, right, Kerning.UNSCALED) * scale + (1 << 15)) >> 16


@functools.cache
def _measure(text: str, size: float, bold: bool = False) -> tuple[float, float, float]:
    """Width, height and descent (points) of a line of text as matplotlib's SVG backend measures
    it: at ``MEASURED_SIZE`` and scaled, its glyphs' advances with kerning and ligatures and their
    outlines' extent; math text (``$...$``: the log axis' labels) by matplotlib's math text parser."""
    scale = size / MEASURED_SIZE
    if is_math_text(text):
        parsed = MATH.parse(text, POINTS, FontProperties(size=MEASURED_SIZE))
        return parsed.width * scale, parsed.height * scale, parsed.depth * scale
    for letters, ligature in LIGATURES.items():
        text = text.replace(letters, ligature)
    width, top, bottom, previous = 0, -32000, 32000, 0
    for char in text:
        glyph, advance, above, below = _glyph(char, bold)
        if previous and glyph:
            width += _kerning(previous, glyph, bold)
        width, top, bottom, previous = width + advance, max(top, above), min(bottom, below), glyph
    if bottom > top:
        top = bottom = 0
    return width / 64 * scale, (top - bottom) / 64 * scale, -bottom / 64 * scale


@functools.cache
def _line_extent(size: float, bold: bool) -> tuple[float, float]:
    """The least ascent and descent of a line (points): the font's typographic ascender and descender."""
    face = _face(bold)
    scale = 1 / face.get_sfnt_table("head")["unitsPerEm"] * size
    table = face.get_sfnt_table("OS/2")
    return table["sTypoAscender"] * scale, -table["sTypoDescender"] * scale


@functools.cache
def _math_svg(text: str, size: float) -> str:
    """Math text (a log axis' tick label) as matplotlib writes it: one span per glyph."""
    glyphs = sorted(
        (x, -y, code, glyph_size)
        for _, glyph_size, code, _, x, y in MATH.parse(text, POINTS, FontProperties(size=size)).glyphs
    )
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(y)}" font-size="{_n(glyph_size)}">{html.escape(chr(code))}</tspan>'
        for x, y, code, glyph_size in glyphs
    )
    return f"<text>{spans}</text>"


def _autoscale(values: np.ndarray, log: bool) -> tuple[float, float]:
    """matplotlib's view limits of data ``values``: their finite range (none, or a single value,
    widened first as its locators widen it), 5 % wider each side (in log space on a log axis)."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (np.inf, np.inf)
    if log:
        if not len(finite):
            low, high = 1.0, 10.0
        elif low == high:  # the decades around it
            low, high = 10 ** (np.ceil(np.log10(low)) - 1), 10 ** (np.floor(np.log10(high)) + 1)
        low, high = np.log10(low), np.log10(high)
        spread = (high - low) * MARGIN
        return tuple(np.power(10.0, [low - spread, high + spread]))
    locator = AutoLocator()
    low, high = locator.nonsingular(low, high)
    spread = (high - low) * MARGIN
    return locator.view_limits(low - spread, high + spread)


@functools.cache
def _ticks(low: float, high: float, log: bool) -> list[tuple[float, str, bool]]:
    """The ticks matplotlib draws on an axis viewing ``low``-``high``: (value, label, major),
    the major ones first; a log axis has minor ticks too (labelled when it spans about a decade)."""
    if log:
        locators = LogLocator(10.0), LogLocator(10.0, None)
        formatters = LogFormatterSciNotation(10.0), LogFormatterSciNotation(10.0, labelOnlyBase=False)
    else:
        locators, formatters = (AutoLocator(), NullLocator()), (ScalarFormatter(), NullFormatter())
    for helper in (*locators, *formatters):
        helper.create_dummy_axis()
        helper.axis.set_view_interval(low, high)
    majors, minors = (np.asarray(locator(), dtype="float64") for locator in locators)
    along = np.log10 if log else np.asarray
    start, end = sorted(along(np.array([low, high], dtype="float64")))
    if len(minors) and len(majors):  # no minor tick where a major one is
        near = np.isclose(along(minors)[:, None], along(majors)[None, :], atol=(end - start) * 1e-5, rtol=0)
        minors = minors[~near.any(axis=1)]
    ticks = [
        *zip(majors, formatters[0].format_ticks(majors), [True] * len(majors), strict=True),
        *zip(minors, formatters[1].format_ticks(minors), [False] * len(minors), strict=True),
    ]
    slack = (end - start) * 1e-10
    return [tick for tick in ticks if start - slack <= along(tick[0]) <= end + slack]


@dataclass(frozen=True)
class _Scale:
    """An axis: data to points along it, over its view ``low``-``high`` (``low`` at ``start``)."""

    low: float
    high: float
    log: bool
    start: float
    length: float

    def __call__(self, value: float) -> float:
        along = np.log10 if self.log else float
        return self.start + (along(value) - along(self.low)) / (along(self.high) - along(self.low)) * self.length


@dataclass(frozen=True)
class _Origin:
    """The image's top left corner in the figure (points): figure points to SVG coordinates,
    written whole as matplotlib writes them (a browser adding a group's offset in single
    precision may put a label a pixel off)."""

    left: float
    top: float

    def x(self, value: float) -> str:
        return _n(value - self.left)

    def y(self, value: float) -> str:
        return _n(self.top - value)


Part = str | Callable[[_Origin], str]  # a piece of the SVG, its coordinates known once the image's corner is


class _Figure:
    """A figure of ``width`` x ``height`` inches with one axes where matplotlib's default subplot
    puts it, as an SVG image: drawn in the figure's points (y upwards), written out once the
    tight bounding box of what is drawn, which the image is cut to, is known."""

    def __init__(self, width: float, height: float) -> None:
        left, bottom, right, top = SUBPLOT
        self.x0, self.x1 = left * width * POINTS, right * width * POINTS
        self.y0, self.y1 = bottom * height * POINTS, top * height * POINTS
        self.parts: list[Part] = []
        self.boxes: list[Box] = [(self.x0, self.y0, self.x1, self.y1)]

    def draw(self, part: Part) -> None:
        self.parts.append(part)

    def scale(
        self,
        axis: str,
        values: np.ndarray,
        lines: Iterable[float] = (),
        log: bool = False,
        limits: tuple[float, float] | None = None,
        inverted: bool = False,
    ) -> _Scale:
        """The ``axis`` ('x' or 'y') of data ``values`` (points, bar edges) and of lines across the
        axes at ``lines``: autoscaled as matplotlib does, unless ``limits`` are given; a line
        outside the data's view widens it to take the line in (matplotlib autoscales again)."""
        if limits is None:
            limits = _autoscale(values, log)
            if any(line < limits[0] or line > limits[1] for line in lines):
                limits = _autoscale(np.append(values, list(lines)), log)
        low, high = (limits[1], limits[0]) if inverted else limits
        start, end = (self.x0, self.x1) if axis == "x" else (self.y0, self.y1)
        return _Scale(low, high, log, start, end - start)

    def line(self, x0: float, y0: float, x1: float, y1: float, style: str, clip: bool = True) -> None:
        clipped = ' clip-path="url(#axes)"' if clip else ""
        self.draw(lambda at: f'<path d="M{at.x(x0)} {at.y(y0)}L{at.x(x1)} {at.y(y1)}" {style}{clipped}/>')

    def circle(self, x: float, y: float, radius: float, fill: str) -> None:
        """A dot, drawn as matplotlib's circle marker: eight cubic Bézier curves."""
        points = CIRCLE * radius + (x, y)

        def part(at: _Origin) -> str:
            xs, ys = (points[:, 0] - at.left).tolist(), (at.top - points[:, 1]).tolist()
            corners = [f"{_n(px)} {_n(py)}" for px, py in zip(xs, ys, strict=True)]
            curves = "".join(f"C{' '.join(corners[i : i + 3])}" for i in range(1, 25, 3))
            return f'<path d="M{corners[0]}{curves}z" fill="{fill}"/>'

        self.draw(part)

    def box(self, x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        """A filled rectangle (a bar, a legend's swatch), its corners written as matplotlib's path."""
        self.draw(
            lambda at: (
                f'<path d="M{at.x(x0)} {at.y(y0)}L{at.x(x1)} {at.y(y0)}L{at.x(x1)} {at.y(y1)}'
                f'L{at.x(x0)} {at.y(y1)}z" fill="{fill}"/>'
            )
        )

    def tick(self, x: float, y: float, mark: str, width: float) -> None:
        """A tick ``mark`` (``TICK_MARKS``) at (x, y), drawn as matplotlib draws a marker."""
        self.draw(lambda at: f'<use href="#{mark}" x="{at.x(x)}" y="{at.y(y)}" stroke="black" stroke-width="{width}"/>')

    def axes(
        self,
        x: _Scale,
        y: _Scale,
        grid: str = "",
        xlabel: str = "",
        ylabel: str = "",
        yticks: tuple[np.ndarray, list[str], float] | None = None,
    ) -> None:
        """Ticks, tick labels, grid lines (at the major ticks of the axes in ``grid``) and axis
        labels, the x axis first, as matplotlib draws them; ``yticks``: fixed y ticks, their labels
        and font size. matplotlib's tight bounding box leaves out the x label's width and the
        y label's height."""
        across = []  # the x tick labels' boxes (an empty label: where it would be)
        for value, label, major in _ticks(x.low, x.high, x.log):
            length, pad, width = TICK[major]
            if major and "x" in grid:
                self.line(x(value), self.y0, x(value), self.y1, GRID)
            self.tick(x(value), self.y0, f"x-{'major' if major else 'minor'}", width)
            across.append(self.text(x(value), self.y0 - length - pad, label, FONT_SIZE, "center", "top", layout=False))
        if xlabel:
            foot = min([self.y0 - TICK[True][0]] + [box[1] for box in across]) - LABEL_PAD
            x0, y0, x1, y1 = self.text((self.x0 + self.x1) / 2, foot, xlabel, FONT_SIZE, "center", "top", layout=False)
            self.boxes.append(((x0 + x1) / 2 - 0.5, y0, (x0 + x1) / 2 + 0.5, y1))
        if yticks is None:
            ticks, size = _ticks(y.low, y.high, y.log), FONT_SIZE
        else:
            ticks, size = [(value, label, True) for value, label in zip(*yticks[:2], strict=True)], yticks[2]
        down = []
        for value, label, major in ticks:
            length, pad, width = TICK[major]
            if major and "y" in grid:
                self.line(self.x0, y(value), self.x1, y(value), GRID)
            self.tick(self.x0, y(value), f"y-{'major' if major else 'minor'}", width)
            down.append(
                self.text(self.x0 - length - pad, y(value), label, size, "right", "center_baseline", layout=False)
            )
        if ylabel:
            side = min([self.x0 - TICK[True][0]] + [box[0] for box in down]) - LABEL_PAD
            x0, y0, x1, y1 = self.text(side, (self.y0 + self.y1) / 2, ylabel, FONT_SIZE, vertical=True, layout=False)
            self.boxes.append((x0, (y0 + y1) / 2 - 0.5, x1, (y0 + y1) / 2 + 0.5))
        self.boxes += [box for box in across + down if box[2] > box[0]]
        self.boxes.append((self.x0 - TICK[True][0], self.y0 - TICK[True][0], self.x1, self.y1))  # the ticks out

    def spines(self) -> None:
        style = 'fill="none" stroke="black" stroke-width="0.8" stroke-linejoin="miter" stroke-linecap="square"'
        for x0, y0, x1, y1 in (
            (self.x0, self.y0, self.x0, self.y1),
            (self.x1, self.y0, self.x1, self.y1),
            (self.x0, self.y0, self.x1, self.y0),
            (self.x0, self.y1, self.x1, self.y1),
        ):
            self.line(x0, y0, x1, y1, style, clip=False)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        ha: str = "left",
        va: str = "baseline",
        colour: str | None = None,
        bold: bool = False,
        vertical: bool = False,
        layout: bool = True,
    ) -> Box:
        """A line of text anchored at (x, y) and aligned (``ha``, ``va``) as matplotlib aligns it;
        ``vertical``: turned a quarter left and anchored at the middle of its foot, as a y label.
        Returns its box (an empty text: its anchor), which joins the tight bounding box when
        ``layout``."""
        if not text:
            return (x, y, x, y)
        width, height, descent = _measure(text, size, bold)
        least_ascent, least_descent = _line_extent(size, bold)
        ascent, descent = max(height - descent, least_ascent), max(descent, least_descent)
        if vertical:
            box = (x - ascent - descent, y - width / 2, x, y + width / 2)
            left, baseline, at_x, anchor = x - descent, y, x - descent, "middle"
        else:
            shift = {"left": 0.0, "center": width / 2, "right": width}[ha]
            lift = {
                "bottom": -ascent - descent,
                "top": 0.0,
                "center": (-ascent - descent) / 2,
                "baseline": -ascent,
                "center_baseline": -ascent / 2,
            }[va]
            box = (x - shift, y - ascent - descent - lift, x - shift + width, y - lift)
            left, baseline, at_x = x - shift, y - ascent - lift, x
            anchor = {"left": "start", "center": "middle", "right": "end"}[ha]
        if is_math_text(text):
            spans = _math_svg(text, size)
            self.draw(lambda at: f'<g transform="translate({at.x(left)} {at.y(baseline)})">{spans}</g>')
        else:
            style = f'font-size="{_n(size)}" text-anchor="{anchor}"' + (' font-weight="700"' if bold else "")
            style += f' fill="{colour}"' if colour else ""
            escaped = html.escape(text, quote=False)

            def part(at: _Origin) -> str:
                turn = f' transform="rotate(-90 {at.x(at_x)} {at.y(baseline)})"' if vertical else ""
                return f'<text x="{at.x(at_x)}" y="{at.y(baseline)}" {style}{turn}>{escaped}</text>'

            self.draw(part)
        if layout:
            self.boxes.append(box)
        return box

    def legend(self, labels: list[str], colours: list[str], size: float) -> None:
        """matplotlib's legend of bar swatches in two columns in the lower right corner of the
        axes: the labels packed as its offset boxes pack them, in a rounded frame."""
        pad, spacing = LEGEND["borderpad"] * size, LEGEND["labelspacing"] * size
        swatch, swatch_height = LEGEND["handlelength"] * size, LEGEND["handleheight"] * size
        gap = LEGEND["handletextpad"] * size
        _, lp_height, lp_descent = _measure("lp", size)
        least_ascent, least_descent = _line_extent(size, False)
        items = []  # width, bottom and top of each swatch with its label, from its baseline
        for label in labels:
            width, height, descent = _measure(label, size)
            ascent, descent = max(height - descent, least_ascent), max(descent, least_descent)
            items.append((swatch + gap + width, -descent, max(swatch_height, lp_height - lp_descent, ascent)))
        columns = []  # width, bottom, top (from the first baseline) and the items' baselines of each column
        for members in (m for m in np.array_split(np.arange(len(items)), 2) if len(m)):
            heights = [items[i][2] - items[i][1] for i in members]
            starts = np.cumsum([0.0] + [height + spacing for height in heights[:-1]])
            total = sum(heights) + spacing * (len(members) - 1)
            drops = [total - (start + items[i][2]) for start, i in zip(starts, members, strict=True)]
            baselines = [drop - drops[0] for drop in drops]
            columns.append((max(items[i][0] for i in members), -drops[0], total - drops[0], baselines, members))
        bottom, top = min(column[1] for column in columns), max(column[2] for column in columns)
        width = sum(column[0] for column in columns) + LEGEND["columnspacing"] * size * (len(columns) - 1)
        x0, y0 = self.x1 - LEGEND["borderaxespad"] * size - width - 2 * pad, self.y0 + LEGEND["borderaxespad"] * size
        x1, y1, round_ = x0 + width + 2 * pad, y0 + top - bottom + 2 * pad, 0.2 * size  # the frame's corners

        def frame(at: _Origin) -> str:  # matplotlib's rounded box: straight sides, quadratic corners
            corners = [
                ("M", (x0 + round_, y0)), ("L", (x1 - round_, y0)), ("Q", (x1, y0), (x1, y0 + round_)),
                ("L", (x1, y1 - round_)), ("Q", (x1, y1), (x1 - round_, y1)), ("L", (x0 + round_, y1)),
                ("Q", (x0, y1), (x0, y1 - round_)), ("L", (x0, y0 + round_)), ("Q", (x0, y0), (x0 + round_, y0)),
            ]  # fmt: skip
            path = "".join(f"{c}{' '.join(f'{at.x(px)} {at.y(py)}' for px, py in points)}" for c, *points in corners)
            return f'<path d="{path}z" fill="white" stroke="#cccccc" opacity="0.8" stroke-linejoin="miter"/>'

        self.draw('<g id="legend">')
        self.draw(frame)
        left, origin = x0 + pad, y0 + pad - bottom
        for column_width, _, _, baselines, members in columns:
            for baseline, i in zip(baselines, members, strict=True):
                line = origin + baseline
                self.box(left, line, left + swatch, line + swatch_height, colours[i])
                self.text(left + swatch + gap, line, labels[i], size, layout=False)
            left += column_width + LEGEND["columnspacing"] * size
        self.draw("</g>")
        self.boxes.append((x0, y0, x1, y1))

    def svg(self) -> str:
        """The figure cut to its tight bounding box with savefig's padding, as an inline SVG image."""
        left = min(box[0] for box in self.boxes) - PAD
        bottom = min(box[1] for box in self.boxes) - PAD
        right = max(box[2] for box in self.boxes) + PAD
        top = max(box[3] for box in self.boxes) + PAD
        at = _Origin(left, top)
        wide, high = _n(right - left), _n(top - bottom)
        axes = (
            f'<clipPath id="axes"><rect x="{at.x(self.x0)}" y="{at.y(self.y1)}" width="{_n(self.x1 - self.x0)}" '
            f'height="{_n(self.y1 - self.y0)}"/></clipPath>'
        )
        document = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{wide}pt" height="{high}pt" '
            f'viewBox="0 0 {wide} {high}" font-family="{html.escape(FONT_FAMILY)}" stroke-linejoin="round" '
            f'stroke-linecap="butt"><defs>{axes}{TICK_MARKS}</defs><rect width="{wide}" height="{high}" fill="white"/>'
            + "".join(part if isinstance(part, str) else part(at) for part in self.parts)
            + "</svg>"
        )
        return f"data:image/svg+xml;base64,{base64.b64encode(document.encode()).decode()}"


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
    at = dict(zip(nodes.index, zip(nodes.x.to_numpy(), nodes.y.to_numpy(), strict=True), strict=True))  # code -> x, y
    for gid, tree, colour, width in (("space-extra", False, "#c3ccd5", 0.5), ("space-tree", True, "#6b7785", 0.9)):
        links = space.links[space.links.tree == tree]
        segments = [[at[a], at[b]] for a, b in zip(links.sector_code, links.related_sector_code, strict=True)]
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
    return _timeline_colours(rows.year.tolist(), rows.sector_code.tolist())


def _timeline_colours(years: list[int], codes: list[str]) -> dict[str, str]:
    """``timeline_colours`` of a history's years and sector codes, in year, rank and code order."""
    latest = max(years, default=None)
    first = next((code for year, code in zip(years, codes, strict=True) if year == latest), None)
    counts = Counter(codes)
    repeated = [code for code in dict.fromkeys(codes) if counts[code] > 1 and code != first]
    colours = dict(zip(repeated, TIMELINE_COLOURS, strict=False))
    colours = {code: colours.get(code, OTHER) for code in codes}
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
    columns = [history[name].tolist() for name in ("year", "rank", "sector_code", "sector_name", "total_score")]
    snapshot = history.snapshot_inputs.fillna(False).astype(bool).tolist()
    rows = sorted(zip(*columns, snapshot, strict=True), key=lambda row: row[:3])  # year, rank, code
    years = sorted({int(row[0]) for row in rows})
    colours = _timeline_colours([row[0] for row in rows], [row[2] for row in rows])
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
    ranks = {(int(year), code): int(rank) for year, rank, code, *_ in rows}
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
        for year, rank, code, name, score, _ in (row for row in rows if row[5] == filled):
            colour = colours[code]
            title = f"{year}, {t['timeline_ranks'][str(int(rank))]}: {code} {name}"
            if pd.notna(score):
                title += f" ({score:.1f})"
            parts.append(
                f'<circle cx="{x(year):.1f}" cy="{y(rank):.1f}" r="5.5" stroke="{colour}" '
                f'fill="{colour if filled else "white"}"><title>{escape(title)}</title></circle>'
            )
        parts.append("</g>")
    parts.append('<g id="timeline-labels" font-size="10" text-anchor="middle">')
    for year, rank, code, *_ in rows:
        parts.append(f'<text x="{x(year):.1f}" y="{y(rank) - 9:.1f}">{escape(code)}</text>')
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
