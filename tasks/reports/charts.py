"""The report's charts as inline SVG (matplotlib): the bubble chart, the criteria bars, the map."""

from __future__ import annotations

import base64
import io

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

SELECTED, LARGEST, OTHER = "#2e8b57", "#c0392b", "#7f99b2"


def _svg(figure: Figure) -> str:
    """The figure as an inline SVG image; text stays text (half the size of glyph paths)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans"}):
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
