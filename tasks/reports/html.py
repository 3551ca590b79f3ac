"""Reports people read: one HTML page per province (the selection and why, the cluster
bubble chart, the criteria of the top candidates, robustness, the top three over the years,
public classifications, the selected sector's data-driven cluster, what could grow next,
consultation, data quality, provenance) and a national overview with a
map of Turkey and the sector space.

Pages are self-contained (charts are inline SVG images, styles inline, no fonts or scripts
from elsewhere), print on A4, and come in Turkish (default) or English.
"""

from __future__ import annotations

import gc
import html
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.methods import relatedness as method
from tasks.methods.scoring import trailing_criterion
from tasks.reference import Reference, fold_key
from tasks.reports.charts import (
    CRITERIA,
    bubble_chart,
    criteria_chart,
    largest_label,
    largest_row,
    map_chart,
    sector_space,
    sector_space_chart,
    selection_timeline,
    shorten,
)
from tasks.reports.language import report_text
from tasks.workers import forked_pool, may_fork, start_worker

STYLE = """
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #1d2733; margin: 2rem auto;
       max-width: 1100px; line-height: 1.4; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; border-bottom: 2px solid #1f6f8b;
       padding-bottom: .2rem; margin-top: 1.6rem; }
.lead { font-size: 1.1rem; background: #eef6f9; border-left: 5px solid #1f6f8b; padding: .7rem 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #d4dbe2; padding: .3rem .4rem; text-align: left; vertical-align: top; }
th { background: #f1f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.selected td { background: #e6f4ea; font-weight: bold; }
img.chart { width: 100%; max-width: 1000px; height: auto; display: block; margin: .5rem auto; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.box { border: 1px solid #d4dbe2; border-radius: 6px; padding: .6rem .9rem; }
.small { font-size: .75rem; color: #52606d; word-break: break-all; }
.note { font-size: .85rem; color: #3e4c59; } .nowrap { white-space: nowrap; }
.grow-next td:last-child { width: 42%; }
img.space { max-width: 800px; }
img.timeline { max-width: 760px; }
.warning { background: #fdf0e6; border-left: 5px solid #c0392b; padding: .4rem .8rem; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } h2 { break-after: avoid; }
  img.chart, table, .box { break-inside: avoid; } a { color: inherit; text-decoration: none; }
  .grow-next table { font-size: 8pt; } .nowrap { white-space: normal; } }
"""


NUMBER = re.compile(r"^-?[\d.,]+%?$")  # cells right-aligned as figures


def page_name(plate_code: int, province: str) -> str:
    return f"province-{plate_code:02d}-{fold_key(province)}.html"


def _num(value: object, digits: int = 1) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value)
        else (f"{value:,.{digits}f}")
    )


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """The ``columns`` of ``frame``'s rows as dicts of plain values: a page's handful of rows
    read without a Series per row."""
    return [dict(zip(columns, row, strict=True)) for row in zip(*(frame[c].tolist() for c in columns), strict=True)]


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for number, row in enumerate(rows):
        css = f' class="{classes[number]}"' if classes and classes[number] else ""
        cells = "".join(f'<td class="num">{c}</td>' if NUMBER.match(c) else f"<td>{c}</td>" for c in row)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _page(title: str, body: str, language: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def explain(win: pd.Series, largest: pd.Series | None, t: dict) -> tuple[str, str]:
    """Why the selected sector won, and why the largest sector did not, in words."""
    parts = ", ".join(f"{t[c]} {win[f'contribution_{c}']:.1f}" for c in CRITERIA)
    why = f"{t['total']} {win.total_score:.1f} = {parts}. {t['gains']}: {html.escape(str(win.top_indicators))}."
    why_not = ""
    if largest is not None and largest.sector_code != win.sector_code:
        trail = trailing_criterion(win, largest)
        why_not = (
            f"{largest.sector_code} {html.escape(str(largest.sector_name))}: {t['rank']} {int(largest['rank'])}, "
            f"{t['total']} {largest.total_score:.1f}."
        )
        if trail:
            why_not += f" {t['trails']}: {t[trail]} ({largest[trail]:.1f} / {win[trail]:.1f})."
        if isinstance(largest.gate_failures, str):
            why_not += f" {html.escape(largest.gate_failures)}."
        if isinstance(largest.weakest_indicators, str):
            why_not += f" {t['weakest']}: {html.escape(largest.weakest_indicators)}."
    return why, why_not


def province_page(
    plate: int,
    scores: pd.DataFrame,
    review: pd.DataFrame,
    quality: pd.DataFrame,
    manifest: dict,
    national_growth: float | None,
    t: dict,
    language: str,
    opportunities: pd.DataFrame,
    complexity: pd.DataFrame,
    window: int,
    history: pd.DataFrame | None = None,
    definitions: pd.DataFrame | None = None,
    present: pd.DataFrame | None = None,
) -> str:
    """A province's page; ``opportunities``, ``complexity``, ``history`` (``selection_history``)
    and ``definitions`` (``cluster_definitions``) are the published datasets, or their rows of
    the province (sector names as the pages show them), read here for the province's reference
    year; ``window`` the years the relatedness stage averaged (``_window``); ``present`` the
    classes the province has in that year (``present_classes``; None: not computed). Without
    ``history`` or ``definitions`` (publications made before them) their sections say so."""
    candidates = scores.sort_values("rank")
    province = candidates.province.iloc[0]
    host = candidates.host.iloc[0] if "host" in candidates and isinstance(candidates.host.iloc[0], str) else ""
    chosen = candidates[candidates.selected]
    largest_rows = candidates[largest_row(candidates)]
    largest = largest_rows.iloc[0] if len(largest_rows) else None
    body = [
        f'<p class="small"><a href="index.html">← {t["back"]}</a></p>',
        f"<h1>{html.escape(province)}: {t['title']} {_parameters_of(manifest, plate)['reference_year']}</h1>",
    ]
    if host:
        body.append(f"<p>{t['host']}: {html.escape(host)}</p>")
    if len(chosen):
        win = chosen.iloc[0]
        verdict = t["robust"] if win.robust else t["fragile"]
        body.append(
            f'<p class="lead">{t["selected"]}: <b>{win.sector_code} {html.escape(str(win.sector_name))}</b> — '
            f"{t['total']} {win.total_score:.1f}; "
            + t["first_in"].format(share=f"{win.robustness_share:.0%}", verdict=verdict)
            + f"; {t['size_rank']}: {_num(win.size_rank, 0) or '—'}</p>"
        )
        why, why_not = explain(win, largest, t)
        body.append(f"<h2>{t['why']}</h2><p>{why}</p>")
        if why_not:
            heading = t["why_not"].format(largest=largest_label(largest.size_basis, t))
            body.append(f"<h2>{heading[0].upper() + heading[1:]}</h2><p>{why_not}</p>")
    else:
        body.append(f'<p class="lead">{t["none_eligible"]}</p>')
    top = candidates[(candidates["rank"] <= 5) | largest_row(candidates)]
    shown = ["rank", "sector_code", "sector_name", "total_score", *CRITERIA, "robustness_share", "size_rank"]
    leaders = _records(top, [*shown, "cmp_strong", "eco_stars"])
    body.append(f"<h2>{t['runners_up']}</h2>")
    body.append(
        _table(
            [t["rank"], t["sector"], t["total"], *[t[c] for c in CRITERIA], t["robustness"], t["size_rank"]],
            [
                [
                    str(int(r["rank"])),
                    f"{r['sector_code']} {html.escape(str(r['sector_name']))}",
                    _num(r["total_score"]),
                    *[_num(r[c]) for c in CRITERIA],
                    f"{r['robustness_share']:.0%}",
                    _num(r["size_rank"], 0),
                ]
                for r in leaders
            ],
            ["selected" if s else "" for s in top.selected],
        )
    )
    year = _parameters_of(manifest, plate)["reference_year"]
    carried = bool((_origin(manifest, plate) or {}).get("carried_over"))
    body.append(timeline_section(plate, province, year, history, t, carried))
    body.append(
        f'<h2>{t["bubble"]}</h2><img class="chart" alt="{t["bubble"]}" '
        f'src="{bubble_chart(candidates, national_growth, t)}">'
    )
    body.append(
        f'<h2>{t["criteria_chart"]}</h2><img class="chart" alt="{t["criteria_chart"]}" '
        f'src="{criteria_chart(candidates, t)}">'
    )
    body.append(f"<h2>{t['classification']}</h2>")
    body.append(
        _table(
            [t["sector"], t["cmp_strong"], t["eco_stars"]],
            [
                [
                    f"{r['sector_code']} {html.escape(str(r['sector_name']))}",
                    t["yes"] if r["cmp_strong"] else t["no"],
                    _num(r["eco_stars"], 0),
                ]
                for r in leaders
            ],
        )
    )
    body.append(data_cluster_section(province, year, chosen.iloc[0] if len(chosen) else None, definitions, present, t))
    body.append(grow_next(plate, province, year, opportunities, complexity, window, t))
    body.append(f"<h2>{t['consultation']}</h2>")
    records = review[review.plate_code == plate]
    if records.empty:
        body.append(f"<p>{t['no_consultation']}</p>")
    else:
        agreement = records.agrees.dropna().astype(float).mean()
        body.append(f"<p>{t['agreement']}: {agreement:.0%}</p>")
        differing = records[records.agrees.eq(False)]
        body.append(f"<p><b>{t['disagreements']}</b></p>")
        body.append(
            _table(
                [t["date"], "", t["sector"], ""],
                [
                    [
                        str(r.meeting_date)[:10],
                        html.escape(str(r.institution)),
                        str(r.sector_code),
                        html.escape(t["assessments"].get(r.assessment, r.assessment)),
                    ]
                    for r in differing.itertuples()
                ],
            )
        )
    body.append(f"<div class='grid'><div class='box'><h2>{t['quality']}</h2>{_quality_table(quality, t)}</div>")
    body.append(f"<div class='box'><h2>{t['provenance']}</h2>{_provenance(manifest, t, plate)}</div></div>")
    return _page(f"{province} — {t['title']}", "".join(body), language)


# ---- the top three over the years (§8) and the data-driven cluster (§7) -----------------------

WEAK_LINKS = 0.5  # a cluster with more of its within links under the noise level is flagged (§7)


def timeline_section(
    plate: int, province: str, year: int, history: pd.DataFrame | None, t: dict, carried: bool = False
) -> str:
    """The province's three best ranked sectors in every reference year up to ``year`` (the
    ``selection_history`` dataset, §8): a small chart and the same as a table, the inputs of each
    year said (yearly panels alone, or the snapshot inputs too); a sentence when there is no
    history. A ``carried`` province's selection comes from an earlier publication: said too."""
    rows = pd.DataFrame() if history is None else history[history.plate_code.eq(plate) & history.year.le(year)]
    parts = [f"<h2 id='timeline'>{t['timeline']}</h2>"]
    if rows.empty:
        parts.append(f"<p>{t['no_history'].format(province=html.escape(province))}</p>")
        return "<section class='timeline'>" + "".join(parts) + "</section>"
    rows = rows.sort_values(["year", "rank", "sector_code"])
    snapshot = rows.snapshot_inputs.fillna(False).astype(bool).tolist()
    parts.append(
        f'<img class="chart timeline" id="timeline-chart" alt="{t["timeline"]}" src="{selection_timeline(rows, t)}">'
    )
    caption = t["timeline_caption"]
    years = rows.year.tolist()
    if any(snapshot):
        filled = sorted({year for year, used in zip(years, snapshot, strict=True) if used})
        caption += " " + t["timeline_filled"].format(years=", ".join(str(y) for y in filled))
    parts.append(f"<p class='note'>{caption}</p>")
    by_year: dict[int, dict] = {}  # year -> the year's rows by rank (the last of a rank), whether snapshot inputs
    for year, rank, code, name, score, used in zip(
        years,
        *(rows[name].tolist() for name in ("rank", "sector_code", "sector_name", "total_score")),
        snapshot,
        strict=True,
    ):
        entry = by_year.setdefault(year, {"ranks": {}, "snapshot": False})
        entry["ranks"][int(rank)] = f"{code} {html.escape(shorten(name))} ({_num(score)})"
        entry["snapshot"] |= used
    table = [
        [
            str(int(year)),
            *(entry["ranks"].get(rank, "—") for rank in (1, 2, 3)),
            t["timeline_snapshot"] if entry["snapshot"] else t["timeline_panels"],
        ]
        for year, entry in sorted(by_year.items())
    ]
    ranks = [t["timeline_ranks"][str(rank)] for rank in (1, 2, 3)]
    parts.append(_table([t["year"], *ranks, t["timeline_inputs"]], table))
    if carried:
        parts.append(f"<p class='note'>{t['history_carried'].format(year=year)}</p>")
    return "<section class='timeline'>" + "".join(parts) + "</section>"


def present_classes(
    plate: int, year: int, opportunities: pd.DataFrame, indicators: pd.DataFrame
) -> pd.DataFrame | None:
    """The classes ``plate`` has in ``year`` (presence M = 1, §6) with their employment and LQ of
    that year (``indicators``): the classes of the year's relatedness (those in ``opportunities``,
    the published dataset listing every class a province lacks) that are not among the
    province's rows. None when presence is not computed for the province and year."""
    in_year = opportunities.year.eq(year).to_numpy(dtype=bool, na_value=False)
    classes = opportunities.sector_code.to_numpy(dtype=object)[in_year]
    lacking = set(classes[opportunities.plate_code.eq(plate).to_numpy(dtype=bool, na_value=False)[in_year]])
    if not lacking:
        return None
    codes = sorted(set(classes) - lacking)
    mine = (indicators.plate_code.eq(plate) & indicators.year.eq(year)).to_numpy(dtype=bool, na_value=False)
    facts: dict[str, tuple[float, float]] = {}  # sector_code -> employment, LQ: the first row of the class
    for code, *figures in zip(
        indicators.sector_code.to_numpy(dtype=object)[mine],
        *(
            indicators[name].to_numpy(dtype="float64", na_value=np.nan)[mine]
            for name in ("employment", "lq_employment")
        ),
        strict=True,
    ):
        facts.setdefault(code, tuple(figures))
    unknown = (np.nan, np.nan)
    return pd.DataFrame(
        {
            "sector_code": codes,
            "employment": np.array([facts.get(code, unknown)[0] for code in codes], dtype="float64"),
            "lq_employment": np.array([facts.get(code, unknown)[1] for code in codes], dtype="float64"),
        }
    )


def _window_span(row: pd.Series) -> str:
    """'2020–2022': the window of a ``cluster_definitions`` row (``window_years`` years ending in ``year``)."""
    return f"{int(row.year) - int(row.window_years) + 1}–{int(row.year)}"


def data_cluster_section(
    province: str,
    year: int,
    selected: pd.Series | None,
    definitions: pd.DataFrame | None,
    present: pd.DataFrame | None,
    t: dict,
) -> str:
    """The data-driven cluster (§7) of the ``selected`` row (sector_code, sector_name: a class,
    or a data-driven cluster when clusters are the candidates): the definition whose window
    ends last in or before ``year`` (``cluster_definitions``, names as the page shows them,
    ``least_stable_province`` when known), its validation and stability, a caution when it
    rests on links below the noise level, its overlap with the programme's expert list, and its
    other classes ``present`` in the province (``present_classes``) with their employment and
    LQ. A sentence for what is missing: no definitions, none for the year, no selection, a
    class in no cluster, presence not computed."""
    parts = [f"<h2 id='data-cluster'>{t['data_cluster']}</h2>"]

    def done(sentence: str) -> str:
        return "<section class='data-cluster'>" + "".join([*parts, f"<p>{sentence}</p>"]) + "</section>"

    if definitions is None or definitions.empty:
        return done(t["no_definitions"])
    if selected is None:
        return done(t["cluster_no_selection"])
    years = definitions.year.to_numpy()
    earlier = years <= year
    if not earlier.any():
        return done(t["no_definition_year"].format(year=year))
    definition = np.flatnonzero(years == years[earlier].max())  # the rows of the latest window
    ids, codes = (definitions[name].to_numpy(dtype=object)[definition] for name in ("cluster_id", "sector_code"))
    code = str(selected.sector_code)
    sector = f"{html.escape(code)} {html.escape(str(selected.sector_name))}"
    itself = bool((ids == code).any())
    if itself:
        cluster_id = code
    elif (codes == code).any():
        cluster_id = ids[np.argmax(codes == code)]
    else:
        return done(t["not_in_cluster"].format(sector=sector, window=_window_span(definitions.iloc[definition[0]])))
    mine = np.flatnonzero(ids == cluster_id)
    mine = mine[np.argsort(codes[mine], kind="stable")]  # the members by sector code
    row = definitions.iloc[definition[mine[0]]]
    name = f"{html.escape(str(cluster_id))} {html.escape(str(row.cluster_name))}"
    opening = (
        t["cluster_itself"].format(cluster=name) if itself else t["cluster_member"].format(sector=sector, cluster=name)
    )
    about = t["cluster_about"].format(
        size=int(row.cluster_size),
        employment=_num(row.cluster_employment, 0) or "—",
        year=int(row.year),
        window=_window_span(row),
        clusters=int(row.clusters),
    )
    parts.append(f"<p>{opening} {about}</p>")
    scores = {
        "clusters": int(row.clusters),
        "vs_industry": _share(row.vs_industry),
        "vs_cluster": _share(row.vs_cluster),
    }
    passes = pd.notna(row.cluster_passes_vs) and bool(row.cluster_passes_vs)
    validation = t["cluster_vs_pass" if passes else "cluster_vs_fail"].format(**scores)
    if not itself:
        own = definitions.sector_passes_vs.iloc[definition[mine[codes[mine] == code][0]]]
        if pd.notna(own):
            validation += " " + t["sector_vs_pass" if own else "sector_vs_fail"]
    parts.append(f"<p>{validation}</p>")
    parts.append(_stability(row, t))
    if pd.notna(row.weak_link_share) and row.weak_link_share > WEAK_LINKS:
        parts.append(f"<p class='warning'>{t['cluster_weak'].format(share=_share(row.weak_link_share))}</p>")
    if isinstance(row.expert_sector_code, str) and row.expert_sector_code:
        expert = f"{html.escape(str(row.get('expert_name') or row.expert_sector_code))} ({row.expert_sector_code})"
        overlap = t["cluster_expert"].format(
            expert=expert,
            overlap=_num(row.expert_overlap, 2) or "—",
            shared=html.escape(row.expert_shared_classes if isinstance(row.expert_shared_classes, str) else "—"),
        )
        parts.append(f"<p>{overlap}</p>")
    names = definitions.sector_name.to_numpy(dtype=object)[definition]
    others = [(codes[i], names[i]) for i in mine if itself or codes[i] != code]
    if not others:
        parts.append(f"<p>{t['cluster_alone']}</p>")
    elif present is None:
        parts.append(f"<p>{t['cluster_presence_unknown'].format(province=html.escape(province), year=year)}</p>")
    else:
        facts = dict(
            zip(
                present.sector_code,
                zip(present.employment.tolist(), present.lq_employment.tolist(), strict=True),
                strict=True,
            )
        )
        here = [(other, name, *facts[other]) for other, name in others if other in facts]
        here.sort(key=lambda r: (np.isnan(r[2]), 0.0 if np.isnan(r[2]) else -r[2], r[0]))  # most employed first
        counts = {"province": html.escape(province), "year": year, "others": len(others), "present": len(here)}
        if not here:
            parts.append(f"<p>{t['cluster_none_present'].format(**counts)}</p>")
        else:
            parts.append(f"<p>{t['cluster_present'].format(**counts)}</p>")
            rows = [
                [f"{other} {html.escape(str(name))}", _num(employment, 0) or "—", _num(lq, 2) or "—"]
                for other, name, employment, lq in here
            ]
            parts.append(_table([t["sector"], t["employment_in"].format(year=year), t["lq"]], rows))
    return "<section class='data-cluster'>" + "".join(parts) + "</section>"


def _share(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.0%}"


def _stability(row: pd.Series, t: dict) -> str:
    """The definition's stability (§7): leaving one province out, and against the neighbouring
    windows where they are in the data; empty when none is computed."""
    if pd.isna(row.stability_province_ari_min):
        return ""
    least = row.get("least_stable_province")
    parts = [
        t["cluster_stability"].format(
            minimum=_num(row.stability_province_ari_min, 2),
            mean=_num(row.stability_province_ari_mean, 2) or "—",
            least=t["cluster_least_stable"].format(province=html.escape(least)) if isinstance(least, str) else "",
        )
    ]
    for column, key in (
        ("stability_previous_window_ari", "cluster_previous"),
        ("stability_next_window_ari", "cluster_next"),
    ):
        if pd.notna(row[column]):
            parts.append(t[key].format(ari=_num(row[column], 2)))
    return f"<p>{'; '.join(parts)}.</p>"


OPPORTUNITIES_SHOWN = 10  # the province page's "what could grow next": its ten best ranked
REASONS = {  # §6.4's null reasons, said in the page's language (``complexity_reasons``)
    method.DISCONNECTED: "disconnected",
    method.NO_SECOND: "no_second",
    method.NO_DIVERSITY: "no_diversity",
    method.NO_UBIQUITY: "no_ubiquity",
}


def _window(manifest: dict, frame: pd.DataFrame) -> int:
    """Years averaged by the relatedness stage: the datasets', else the run's parameter (§6.1)."""
    if len(frame) and "window_years" in frame:
        return int(frame.window_years.iloc[0])
    return int((manifest["parameters"].get("relatedness") or {}).get("window", method.WINDOW))


def _reason(reason: object, t: dict) -> str:
    code = REASONS.get(reason) if isinstance(reason, str) else None
    return t["complexity_reasons"][code] if code else html.escape(str(reason))


def _complexity_line(plate: int, province: str, year: int, complexity: pd.DataFrame, t: dict) -> str:
    """The province's ECI and COI (§6.4, §6.5), or why complexity is not computed."""
    mine = [
        complexity[name].eq(value).to_numpy(dtype=bool, na_value=False)
        for name, value in (("level", "province"), ("plate_code", plate), ("year", year))
    ]
    rows = np.flatnonzero(mine[0] & mine[1] & mine[2])
    if not len(rows):
        return ""
    row = complexity.iloc[rows[0]]
    if pd.isna(row.eci):
        return f"<p class='note'>{t['no_complexity'].format(year=year, reason=_reason(row.null_reason, t))}</p>"
    line = t["eci_line"].format(province=html.escape(province), eci=f"{row.eci:.2f}", coi=_num(row.coi, 2) or "—")
    return f"<p class='note'>{line}</p>"


def grow_next(
    plate: int,
    province: str,
    year: int,
    opportunities: pd.DataFrame,
    complexity: pd.DataFrame,
    window: int,
    t: dict,
) -> str:
    """The province's "what could grow next" (§6.6): its ten best ranked opportunities of ``year``
    (sectors it lacks, by density then COG) with density, PCI, COG, national growth and the
    present sectors that give each its density, and what density means; a sentence when there
    are none, and why complexity is missing when it is."""
    mine = opportunities[opportunities.plate_code.eq(plate) & opportunities.year.eq(year)]
    top = mine[mine["rank"].le(OPPORTUNITIES_SHOWN).fillna(False).astype(bool)].sort_values("rank")
    parts = [f"<h2 id='grow-next'>{t['grow_next']}</h2>"]
    if top.empty:
        parts.append(f"<p>{t['no_opportunities'].format(province=html.escape(province), year=year, window=window)}</p>")
        parts.append(_complexity_line(plate, province, year, complexity, t))
        return "<section class='grow-next'>" + "".join(parts) + "</section>"
    intro = t["grow_intro"].format(province=html.escape(province), first=year - window + 1, year=year)
    parts.append(f"<p>{intro}</p>")
    rows = []
    for r in _records(top, list(top.columns)):
        supports = [
            f"<span class='nowrap'>{r[f'{n}_sector_code']} {html.escape(shorten(r[f'{n}_sector_name'], 32))} "
            f"({r[f'{n}_proximity']:.2f})</span>"
            for n in (f"support_{number}" for number in range(1, method.SUPPORTS + 1))
            if isinstance(r[f"{n}_sector_code"], str)
        ]
        growth = r["national_sector_employment_cagr"]
        rows.append(
            [
                str(int(r["rank"])),
                f"{r['sector_code']} {html.escape(str(r['sector_name']))}",
                f"{r['density']:.0%}",
                _num(r["pci"], 2) or "—",
                _num(r["cog"], 2) or "—",
                "—" if pd.isna(growth) else f"{growth:.1%}",
                "<br>".join(supports) or "—",
            ]
        )
    parts.append(
        _table(
            [t["rank"], t["sector"], t["density"], t["pci"], t["cog"], t["national_sector_growth"], t["supports"]],
            rows,
        )
    )
    parts.append(f"<p class='note'>{t['grow_terms']}</p>")
    parts.append(_complexity_line(plate, province, year, complexity, t))
    return "<section class='grow-next'>" + "".join(parts) + "</section>"


def _quality_table(quality: pd.DataFrame, t: dict) -> str:
    per_source: dict[str, list[int]] = {}  # source -> rows in, accepted, quarantined
    columns = (quality[name].tolist() for name in ("source", "rows_in", "rows_accepted", "rows_quarantined"))
    for source, *counts in zip(*columns, strict=True):
        if isinstance(source, str):
            per_source[source] = [a + b for a, b in zip(per_source.get(source, [0, 0, 0]), counts, strict=True)]
    return _table(
        [t["source"], t["rows_in"], t["accepted"], t["quarantined"]],
        [[source, *(f"{count:,}" for count in counts)] for source, counts in sorted(per_source.items())],
    )


def _origin(manifest: dict, plate: int | None) -> dict | None:
    """Where a province's rows come from (manifest ``provinces``; None before schema 3.0)."""
    return (manifest.get("provinces") or {}).get(str(plate)) if plate is not None else None


def _parameters_of(manifest: dict, plate: int | None = None) -> dict:
    """The parameters a province's rows were computed with: the run's, or those of the earlier
    run its rows were carried over from."""
    origin = _origin(manifest, plate)
    if origin and origin.get("carried_over"):
        return (manifest.get("parameter_sets") or {}).get(origin["parameters_id"]) or manifest["parameters"]
    return manifest["parameters"]


def _provenance(manifest: dict, t: dict, plate: int | None = None) -> str:
    parameters = _parameters_of(manifest, plate)
    origin = _origin(manifest, plate)
    carried = (
        f"<br>{t['computed_in']}: {origin['computed_in_run']} ({t['carried']}); "
        f"{t['parameter_set']} {origin['parameters_id']}"
        if origin and origin.get("carried_over")
        else ""
    )
    weights = ", ".join(f"{t[k]} {v:g}" for k, v in parameters["weights"].items())
    files = "".join(
        f"<li>{html.escape(source)}/{html.escape(f['file'])} <span class='small'>{f['sha256'][:16]}</span></li>"
        for source, info in manifest["inputs"].items()
        for f in info["files"]
    )
    return (
        f"<p class='small'>{t['run']}: {manifest['run_id']}{carried}<br>{t['date']}: {manifest.get('started_at', '')}"
        f"<br>code: {html.escape(str(manifest.get('code_version')))}<br>{t['parameters']}: {weights}; "
        f"gates {html.escape(json.dumps(parameters['gates']))}; spans {parameters['growth_spans']}"
        f"{_relatedness_parameters(parameters)}</p>"
        f"<details><summary>{t['inputs']}</summary><ul class='small'>{files}</ul></details>"
    )


def _relatedness_parameters(parameters: dict) -> str:
    """The relatedness parameters behind the page's figures (§6.1-§6.2); none before schema 5."""
    settings = parameters.get("relatedness")
    return f"; relatedness {html.escape(json.dumps(settings))}" if settings else ""


def _origins_table(manifest: dict, t: dict) -> str:
    """The runs and parameter sets behind the publication's provinces: which provinces this
    run computed and which it carried over, from which run."""
    groups: dict[tuple[str, str], list[str]] = {}
    for origin in manifest["provinces"].values():
        groups.setdefault((origin["computed_in_run"], origin["parameters_id"]), []).append(origin["province"])
    rows = []
    for (run, pid), provinces in sorted(groups.items(), key=lambda item: (item[0][0] != manifest["run_id"], item[0])):
        parameters = (manifest.get("parameter_sets") or {}).get(pid) or {}
        weights = ", ".join(f"{t[k]} {v:g}" for k, v in (parameters.get("weights") or {}).items())
        names = ", ".join(html.escape(str(p)) for p in provinces) if len(provinces) <= 12 else ""
        rows.append(
            [
                run + (f" ({t['this_run']})" if run == manifest["run_id"] else ""),
                f"{pid}: {t['year']} {parameters.get('reference_year', '')}; {weights}",
                f"{len(provinces)} {t['provinces_n']}" + (f": {names}" if names else ""),
            ]
        )
    return _table([t["computed_in"], t["parameter_set"], t["province"]], rows)


def sector_space_section(
    relatedness: pd.DataFrame, employment: pd.Series, selection: pd.DataFrame, year: int, t: dict
) -> str:
    """The national page's picture of the sector space of ``year`` (§6.8): the classes linked by
    their strongest proximities, coloured by division, sized by national ``employment``
    (sector_code -> employees), the sectors selected in any province ringed and listed with
    their provinces; a sentence when no proximity is computed for the year."""
    chosen = selection[selection.selected]
    space = sector_space(relatedness[relatedness.year.eq(year)], employment, chosen.sector_code)
    parts = [f"<h2 id='sector-space'>{t['space']}</h2>"]
    if space.nodes.empty:
        return "".join([*parts, f"<p>{t['no_space'].format(year=year)}</p>"])
    shown = chosen[chosen.sector_code.isin(space.nodes.sector_code)]
    caption = t["space_caption"].format(
        nodes=len(space.nodes),
        year=year,
        tree=int(space.links.tree.sum()),
        extras=int((~space.links.tree).sum()),
        threshold=f"{space.threshold:.2f}",
        selected=shown.sector_code.nunique(),
    )
    parts.append(f'<img class="chart space" id="space" alt="{t["space"]}" src="{sector_space_chart(space, t)}">')
    parts.append(f"<p class='note'>{caption}</p>")
    rows = [
        [
            f"{code} {html.escape(str(group.sector_name.iloc[0]))}",
            ", ".join(html.escape(str(p)) for p in sorted(group.province, key=fold_key)),
        ]
        for code, group in shown.groupby("sector_code", sort=True)
    ]
    parts.append(f"<h2>{t['space_table']}</h2>{_table([t['sector'], t['selected_in']], rows)}")
    return "".join(parts)


LEADING = ["sector_code", "sector_name", "total_score"]  # what the national page shows of a leading candidate


def national_page(
    selection: pd.DataFrame,
    geojson: dict,
    manifest: dict,
    pages: dict[int, str],
    t: dict,
    language: str,
    relatedness: pd.DataFrame,
    employment: pd.Series,
) -> str:
    """The national overview: the map, the runs behind it, every province's leading
    candidates, the sector space of the reference year (``relatedness``, sized by national
    ``employment``) and the provenance."""
    chosen = selection[selection.selected].set_index("plate_code")
    pilots = {
        plate: shorten(name, 24)
        for plate, name, host in zip(chosen.index, chosen.sector_name, chosen.host, strict=True)
        if isinstance(host, str)
    }
    picture = map_chart(geojson, chosen.total_score, pilots, t["map"])
    body = [
        f"<h1>{t['overview']}: {t['title']} {manifest['parameters']['reference_year']}</h1>",
        f'<img class="chart" id="map" alt="{t["map"]}" src="{picture}">',
    ]
    leading = selection.loc[selection["rank"] <= 3, ["plate_code", "rank", "province", *LEADING]]
    leading = leading.sort_values(["plate_code", "rank"])  # a row's fields: the cells (not every column's)
    origins = manifest.get("provinces") or {}
    mixed = len({(o["computed_in_run"], o["parameters_id"]) for o in origins.values()}) > 1
    rows = []
    for plate, group in leading.groupby("plate_code"):
        link = pages.get(plate)
        name = html.escape(group.province.iloc[0])
        cells = [f'<a href="{link}">{name}</a>' if link else name]
        cells += [
            f"{r.sector_code} {html.escape(shorten(r.sector_name))} ({_num(r.total_score)})" for r in group.itertuples()
        ]
        cells += [""] * (4 - len(cells))
        if mixed:
            origin = origins.get(str(plate)) or {}
            cells.append(f"{origin.get('computed_in_run', '')} / {origin.get('parameters_id', '')}")
        rows.append(cells)
    if origins:
        body.append(f"<h2>{t['origins']}</h2>{_origins_table(manifest, t)}")
    body.append(f"<h2>{t['top_candidates']}</h2>")
    headers = [t["province"], "1", "2", "3", *([f"{t['run']} / {t['parameter_set']}"] if mixed else [])]
    body.append(_table(headers, rows))
    year = manifest["parameters"]["reference_year"]
    body.append(sector_space_section(relatedness, employment, selection, year, t))
    body.append(f"<div class='box'><h2>{t['provenance']}</h2>{_provenance(manifest, t)}</div>")
    return _page(f"{t['overview']} — {t['title']}", "".join(body), language)


def _previous_pages(previous_dir: Path | None, language: str) -> Path | None:
    """The report folder of the publication carried over from, when its pages are in ``language``."""
    if previous_dir is None or not (previous_dir / "manifest.json").exists():
        return None
    previous = json.loads((previous_dir / "manifest.json").read_text(encoding="utf-8"))
    same = previous.get("parameters", {}).get("report_language", "tr") == language
    return previous_dir / "reports" if same and (previous_dir / "reports").is_dir() else None


def shown_sector_names(frame: pd.DataFrame, ref: Reference, language: str) -> pd.Series:
    """The name a reader sees for each row's sector: the programme cluster's where the sector is
    one (``cluster_name``; its Turkish name in a Turkish report), else the NACE class's."""
    clusters = frame.cluster_name
    if language == "tr":
        turkish = dict(zip(ref.cluster_sectors.sector_code, ref.cluster_sectors.name_tr, strict=True))
        clusters = frame.sector_code.map(turkish).where(clusters.notna())
    return clusters.fillna(frame.sector_name)


def _cluster_names(ref: Reference, language: str) -> dict[str, str]:
    """sector_code -> the programme cluster's name in ``language``, for the classes that are one."""
    column = "name_tr" if language == "tr" else "name_en"
    return dict(zip(ref.cluster_sectors.sector_code, ref.cluster_sectors[column], strict=True))


def _with_shown_names(frame: pd.DataFrame, clusters: dict[str, str]) -> pd.DataFrame:
    """``frame`` with every ``*sector_name`` the name a reader sees (``shown_sector_names``): the
    programme cluster's where its code is one, else the NACE class's."""
    frame = frame.copy()
    for name in [column for column in frame.columns if column.endswith("sector_name")]:
        code = frame[name.removesuffix("name") + "code"]
        frame[name] = code.map(clusters).fillna(frame[name])
    return frame


def _shown_definitions(definitions: pd.DataFrame | None, ref: Reference, language: str) -> pd.DataFrame | None:
    """``cluster_definitions`` as the pages show it: member names as everywhere on the pages
    (``_with_shown_names``), a curated cluster name (the programme cluster whose main class the
    cluster holds) in the page's language, the programme cluster of the expert overlap by its
    name (``expert_name``) and the least stable province by name (``least_stable_province``)."""
    if definitions is None or definitions.empty:
        return definitions
    names, english = _cluster_names(ref, language), _cluster_names(ref, "en")
    frame = _with_shown_names(definitions, names)
    key = frame.year.astype(str) + "/" + frame.cluster_id.astype(str)
    main = frame.name_source.eq("programme") & frame.sector_code.isin(list(names))
    exact = frame.sector_code.map(english).eq(definitions.cluster_name)  # the class named, before others
    curated = (
        frame[main]
        .assign(key=key[main], exact=exact[main])
        .sort_values(["exact", "sector_code"], ascending=[False, True])
    )
    shown = curated.drop_duplicates("key").set_index("key").sector_code.map(names)
    frame["cluster_name"] = key.map(shown).fillna(frame.cluster_name)
    frame["expert_name"] = frame.expert_sector_code.map(names)
    frame["least_stable_province"] = frame.least_stable_plate_code.map(ref.names_by_plate)
    return frame


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns as Python strings: a page reads its few rows value by
    value, which Arrow-backed text makes slow."""
    return frame.astype({name: object for name, dtype in frame.dtypes.items() if dtype == "str"})


def _by_plate(frame: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """A dataset's rows per province (plate code -> its rows, in their order)."""
    return {int(plate): rows for plate, rows in frame.groupby("plate_code", sort=False)}


PAGE_SCORES = [  # the columns of ``scores`` the province pages read (fewer columns: lighter rows)
    "plate_code", "province", "sector_code", "sector_name", "cluster_name", "rank", "selected", "robust",
    "robustness_share", "total_score", *CRITERIA, *(f"contribution_{c}" for c in CRITERIA), "top_indicators",
    "weakest_indicators", "gate_failures", "size_rank", "size_basis", "cmp_strong", "eco_stars", "employment",
    "lq_employment", "employment_cagr",
]  # fmt: skip


def render_reports(
    datasets: dict[str, pd.DataFrame],
    manifest: dict,
    reference_dir: Path,
    language: str = "tr",
    previous_dir: Path | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Every page of a publication: file name -> HTML. A province carried over unchanged from
    ``previous_dir`` (the publication its rows come from) keeps its page there when that is in
    the same language; the other pages are rendered from the datasets, each from its province's
    rows, in parallel processes (``_render_pages``), while this one does ``meanwhile`` (the
    publication validates its datasets there; an error it raises stops the rendering).
    ``selection_history`` and ``cluster_definitions`` are read when there (publications before
    them have neither)."""
    t = report_text(language)
    ref = Reference(reference_dir)
    indicators = datasets["indicators"]
    year = manifest["parameters"]["reference_year"]
    firsts = datasets["scores"].drop_duplicates("plate_code")  # a province's name: its first row's
    pages = {
        plate: page_name(plate, province)
        for plate, province in sorted(zip(firsts.plate_code, firsts.province, strict=True))
    }
    carried = {}  # the pages of provinces carried over, as published before
    previous = _previous_pages(previous_dir, language)
    for plate, name in pages.items():
        origin = _origin(manifest, plate)
        if previous and origin and origin.get("carried_over") and (previous / name).exists():
            carried[name] = (previous / name).read_text(encoding="utf-8")

    def index() -> str:
        geojson = json.loads((reference_dir / "tr_provinces.geojson").read_text(encoding="utf-8"))
        selection = datasets["selection"].copy()
        selection["sector_name"] = shown_sector_names(selection, ref, language)
        of_year = indicators.loc[indicators.year.eq(year), ["sector_code", "national_sector_employment"]]
        employment = of_year.groupby("sector_code").national_sector_employment.first()
        return national_page(selection, geojson, manifest, pages, t, language, datasets["relatedness"], employment)

    def jobs() -> tuple[dict[str, dict], dict]:
        """The arguments of the pages to render: page name -> the province's own, and those of every page."""
        todo = [plate for plate, name in pages.items() if name not in carried]

        def to_render(frame: pd.DataFrame) -> pd.DataFrame:  # the rows of the provinces rendered
            return frame if len(todo) == len(pages) else frame[frame.plate_code.isin(todo)]

        def split(frame: pd.DataFrame) -> dict[int, pd.DataFrame]:
            return _by_plate(_plain(to_render(frame)))

        scores = to_render(datasets["scores"][[c for c in PAGE_SCORES if c in datasets["scores"]]])
        scores = scores.merge(ref.cluster_centres[["plate_code", "host"]], on="plate_code", how="left")
        scores["sector_name"] = shown_sector_names(scores, ref, language)  # the pages show this name
        candidates = _by_plate(_plain(scores))
        national = indicators.groupby("year").national_employment.first()
        span = manifest["parameters"]["growth_spans"][0]
        national_growth = (
            (national[year] / national[year - span]) ** (1 / span) - 1 if year - span in national.index else None
        )
        clusters = _cluster_names(ref, language)
        history = datasets.get("selection_history")
        history = None if history is None else _with_shown_names(history, clusters)
        definitions = _shown_definitions(datasets.get("cluster_definitions"), ref, language)
        lacking = opportunities = datasets["opportunities"]  # every class a province lacks: presence
        shown = opportunities["rank"].le(OPPORTUNITIES_SHOWN).fillna(False).astype(bool)  # unranked: null
        opportunities = _with_shown_names(opportunities[shown], clusters)
        window = _window(manifest, opportunities)
        frames = {"consultation": datasets["consultation"], "opportunities": opportunities}
        frames |= {"complexity": datasets["complexity"], "history": history}
        frames = {name: frame for name, frame in frames.items() if frame is not None}
        # each page reads its province's rows: the datasets split by province once, not filtered per page
        rows = {name: split(frame) for name, frame in frames.items()}
        defined = definitions is not None and not definitions.empty  # presence is shown with the definitions
        if defined:
            facts = split(indicators[["plate_code", "year", "sector_code", "employment", "lq_employment"]])
            years: dict[int, pd.DataFrame] = {}  # the year's classes lacking in each province
        own = {}
        for plate in todo:
            own_year = _parameters_of(manifest, plate)["reference_year"]
            presence = None
            if defined:
                if own_year not in years:
                    years[own_year] = _plain(
                        lacking.loc[lacking.year.eq(own_year), ["plate_code", "year", "sector_code"]]
                    )
                presence = (plate, own_year, years[own_year], facts.get(plate, indicators.iloc[:0]))
            mine = {dataset: rows[dataset].get(plate, frame.iloc[:0]) for dataset, frame in frames.items()}
            own[pages[plate]] = {
                "plate": plate,
                "scores": candidates[plate],
                "review": mine["consultation"],
                "opportunities": mine["opportunities"],
                "complexity": mine["complexity"],
                "history": mine.get("history"),
                "presence": presence,
            }
        shared = {"quality": datasets["quality"], "manifest": manifest, "national_growth": national_growth, "t": t}
        return own, shared | {"language": language, "window": window, "definitions": definitions}

    rendered, national = _render_pages(jobs, index, meanwhile or (lambda: None))
    return {name: carried[name] if name in carried else rendered[name] for name in pages.values()} | {
        "index.html": national
    }


PAGE_PROCESSES = 2  # the machine's cores: the province pages are rendered in this many processes...
POOLED_PAGES = 8  # ...when there are at least this many (fewer: the pool costs more than it saves)
_worker: dict = {}  # in a forked process: what its pages are rendered from (``_start_worker``)


def _start_worker(state: dict) -> None:
    _worker.update(state)
    start_worker()


def _province_page(job: dict, shared: dict) -> str:
    """A province's page from its ``job`` (the arguments of ``province_page`` of its own, its
    present classes as the arguments of ``present_classes``) and those of every page."""
    arguments = {name: value for name, value in job.items() if name != "presence"}
    present = present_classes(*job["presence"]) if job["presence"] else None
    return province_page(**arguments, **shared, present=present)


def _worker_page(name: str) -> str:
    return _province_page(_worker["jobs"][name], _worker["shared"])


def _worker_index() -> str:
    return _worker["index"]()


@contextmanager
def _frozen() -> Iterator[None]:
    """Processes forked in this block leave this one's objects be: the garbage collector does not
    visit them there, so their memory stays shared rather than copied page by page. A process that
    froze objects itself (the flow freezes what its imports made) keeps them frozen: unfreezing
    gives back all or nothing, so this one's are then left frozen with them."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def _render_pages(
    jobs: Callable[[], tuple[dict[str, dict], dict]], index: Callable[[], str], meanwhile: Callable[[], None]
) -> tuple[dict[str, str], str]:
    """The province pages (``jobs``: page name -> the page's own arguments of ``_province_page``,
    and those of every page) and the national page (``index``). The national page is rendered
    in a process forked from this one first, while this one prepares the province pages; these
    are rendered in ``PAGE_PROCESSES`` processes forked from this one, which find their data in
    memory (nothing is copied to them but the page names), or here where they are few. The
    processes are shut down whatever happens, work not started cancelled. ``meanwhile`` is done
    here once the processes have their work. Where this process may not start others (a daemon,
    as Dask's workers are), all are rendered here, one after another, after ``meanwhile``. The
    pages are the same either way."""
    if not may_fork():
        meanwhile()
        own, shared = jobs()
        return {name: _province_page(job, shared) for name, job in own.items()}, index()
    with _frozen():
        national = forked_pool(1, _start_worker, {"index": index})
    pool = None
    try:
        page = national.submit(_worker_index)
        own, shared = jobs()
        if len(own) < POOLED_PAGES:
            meanwhile()
            pages = {name: _province_page(job, shared) for name, job in own.items()}
        else:
            with _frozen():
                pool = forked_pool(PAGE_PROCESSES, _start_worker, {"jobs": own, "shared": shared})
            chunks = max(1, len(own) // (4 * PAGE_PROCESSES))
            rendered = pool.map(_worker_page, own, chunksize=chunks)  # every page submitted
            meanwhile()
            pages = dict(zip(own, rendered, strict=True))
        return pages, page.result()
    finally:
        for executor in (pool, national):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
