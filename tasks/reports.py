"""Reports people read: one HTML page per province (the selection and why, the cluster
bubble chart, the criteria of the top candidates, robustness, public classifications,
consultation, data quality, provenance) and a national overview with a map of Turkey.

Pages are self-contained (charts are inline SVG images, styles inline, no fonts or scripts
from elsewhere), print on A4, and come in Turkish (default) or English.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from tasks.reference import Reference, fold_key
from tasks.scoring import trailing_criterion

CRITERIA = ["economic_impact", "demand", "networking", "factor_conditions"]
TEXT = {
    "tr": {
        "title": "Küme seçimi",
        "overview": "Ulusal görünüm",
        "selected": "Seçilen sektör",
        "runners_up": "Seçim ve diğer adaylar",
        "rank": "Sıra",
        "sector": "Sektör",
        "total": "Toplam",
        "economic_impact": "Ekonomik Etki",
        "demand": "Talep",
        "networking": "Ağ Oluşturma ve İşbirliği",
        "factor_conditions": "Faktör Koşulları",
        "robustness": "Sağlamlık",
        "size_rank": "Büyüklük sırası",
        "why": "Neden bu sektör?",
        "why_not": "{largest} neden seçilmedi?",
        "bubble": "Küme haritası: yoğunlaşma katsayısı (LQ), istihdam büyümesi ve istihdam",
        "bubble_x": "İstihdam yoğunlaşma katsayısı (LQ, log ölçek)",
        "bubble_y": "İstihdam büyümesi (yıllık, %)",
        "national_growth": "Ulusal imalat büyümesi",
        "largest": {
            "turnover_registry": "ciroya göre en büyük sektör (oda kaydı)",
            "turnover_agency": "ciroya göre en büyük sektör (resmî istatistik)",
            "employment": "istihdama göre en büyük sektör (ciro verisi yok)",
        },
        "criteria_chart": "Önde gelen adayların kriter puanları",
        "classification": "Uluslararası sınıflamalar",
        "cmp_strong": "ABD Küme Haritası: güçlü küme",
        "eco_stars": "Avrupa Küme Gözlemevi yıldızları",
        "consultation": "Paydaş görüşleri",
        "agreement": "Uyum",
        "disagreements": "Farklı görüşler",
        "no_consultation": "Bu il için danışma kaydı yok.",
        "quality": "Veri kalitesi",
        "source": "Kaynak",
        "rows_in": "Gelen satır",
        "accepted": "Kabul",
        "quarantined": "Karantina",
        "provenance": "Kaynakça ve izlenebilirlik",
        "run": "Çalıştırma",
        "date": "Tarih",
        "parameters": "Parametreler",
        "inputs": "Girdi dosyaları",
        "robust": "sağlam",
        "fragile": "kırılgan",
        "map": "İllerin seçilen sektör puanı",
        "map_lq": "İstihdam LQ: sektör",
        "top_candidates": "Tüm illerin önde gelen adayları",
        "province": "İl",
        "host": "Küme Bilgi Merkezi",
        "first_in": "ağırlık çekilişlerinin {share} kadarında birinci ({verdict})",
        "yes": "evet",
        "no": "hayır",
        "none_eligible": "Uygunluk koşullarını karşılayan sektör yok.",
        "gains": "En çok katkı veren göstergeler",
        "weakest": "En zayıf göstergeler",
        "trails": "En çok geride kaldığı kriter",
        "score": "puan",
        "back": "Ulusal görünüme dön",
        "pages": "İl sayfaları",
        "year": "Referans yılı",
        "origins": "İllerin hesaplandığı çalıştırmalar",
        "computed_in": "Hesaplandığı çalıştırma",
        "carried": "önceki yayından değiştirilmeden aktarıldı",
        "this_run": "bu yayın",
        "provinces_n": "il",
        "parameter_set": "Parametre kümesi",
    },
    "en": {
        "title": "Cluster selection",
        "overview": "National overview",
        "selected": "Selected sector",
        "runners_up": "Selection and runners-up",
        "rank": "Rank",
        "sector": "Sector",
        "total": "Total",
        "economic_impact": "Economic Impact",
        "demand": "Demand",
        "networking": "Networking & Cooperation",
        "factor_conditions": "Factor Conditions",
        "robustness": "Robustness",
        "size_rank": "Size rank",
        "why": "Why this sector?",
        "why_not": "Why not the {largest}?",
        "bubble": "Cluster map: location quotient, employment growth and employment",
        "bubble_x": "Employment location quotient (LQ, log scale)",
        "bubble_y": "Employment growth (per year, %)",
        "national_growth": "National manufacturing growth",
        "largest": {
            "turnover_registry": "largest sector by turnover (chamber registry)",
            "turnover_agency": "largest sector by turnover (official statistics)",
            "employment": "largest sector by employment (no turnover data)",
        },
        "criteria_chart": "Criterion scores of the leading candidates",
        "classification": "Public classifications",
        "cmp_strong": "US Cluster Mapping: strong cluster",
        "eco_stars": "European Cluster Observatory stars",
        "consultation": "Stakeholder consultation",
        "agreement": "Agreement",
        "disagreements": "Disagreements",
        "no_consultation": "No consultation records for this province.",
        "quality": "Data quality",
        "source": "Source",
        "rows_in": "Rows in",
        "accepted": "Accepted",
        "quarantined": "Quarantined",
        "provenance": "Provenance",
        "run": "Run",
        "date": "Date",
        "parameters": "Parameters",
        "inputs": "Input files",
        "robust": "robust",
        "fragile": "fragile",
        "map": "Score of each province's selected sector",
        "map_lq": "Employment LQ of sector",
        "top_candidates": "Leading candidates of every province",
        "province": "Province",
        "host": "Cluster Information Centre",
        "first_in": "first in {share} of the weight draws ({verdict})",
        "yes": "yes",
        "no": "no",
        "none_eligible": "No sector passes the eligibility gates.",
        "gains": "Indicators that lifted it most",
        "weakest": "Weakest indicators",
        "trails": "Criterion where it trails most",
        "score": "score",
        "back": "Back to the national overview",
        "pages": "Province pages",
        "year": "Reference year",
        "origins": "Runs behind the provinces",
        "computed_in": "Computed in run",
        "carried": "carried over unchanged from an earlier publication",
        "this_run": "this publication",
        "provinces_n": "provinces",
        "parameter_set": "Parameter set",
    },
}
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
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } h2 { break-after: avoid; }
  img.chart, table, .box { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
"""
SELECTED, LARGEST, OTHER = "#2e8b57", "#c0392b", "#7f99b2"
NUMBER = re.compile(r"^-?[\d.,]+%?$")  # cells right-aligned as figures
ASSESSMENTS_TR = {
    "supports the selection": "seçimi destekliyor",
    "disagrees: backs another sector": "farklı görüş: başka bir sektörü destekliyor",
    "disagrees: opposes the selection": "farklı görüş: seçime karşı",
    "opposes a sector that was not selected": "seçilmeyen bir sektöre karşı",
    "neutral": "tarafsız",
}


def page_name(plate_code: int, province: str) -> str:
    return f"province-{plate_code:02d}-{fold_key(province)}.html"


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
    largest = _largest(shown)
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
    for row, big in zip(labelled.itertuples(), _largest(labelled), strict=True):
        label = f"{row.sector_code} {_short(row.sector_name)}"
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
    rows = candidates[(candidates["rank"] <= 5) | _largest(candidates)].sort_values("rank")
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
    axis.set_yticks(positions, [f"{r.sector_code} {_short(r.sector_name)}" for r in rows.itertuples()], fontsize=8)
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


def _assessment(text: str, language: str) -> str:
    return ASSESSMENTS_TR.get(text, text) if language == "tr" else text


def _largest(frame: pd.DataFrame) -> pd.Series:
    """The province's largest sector on its size basis (false where its size is unknown)."""
    return frame.size_rank.eq(1).fillna(False).astype(bool)


def _short(name: object, length: int = 38) -> str:
    text = str(name) if isinstance(name, str) else ""
    text = text.removeprefix("Manufacture of ")
    return text if len(text) <= length else text[: length - 1] + "…"


def _num(value: object, digits: int = 1) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value)
        else (f"{value:,.{digits}f}")
    )


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


def largest_label(basis: object, t: dict) -> str:
    """'largest sector by employment (no turnover data)', in the page's language."""
    return t["largest"].get(basis, t["largest"]["employment"])


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
) -> str:
    candidates = scores.sort_values("rank")
    province = candidates.province.iloc[0]
    host = candidates.host.iloc[0] if "host" in candidates and isinstance(candidates.host.iloc[0], str) else ""
    chosen = candidates[candidates.selected]
    largest_rows = candidates[_largest(candidates)]
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
    top = candidates[(candidates["rank"] <= 5) | _largest(candidates)]
    body.append(f"<h2>{t['runners_up']}</h2>")
    body.append(
        _table(
            [t["rank"], t["sector"], t["total"], *[t[c] for c in CRITERIA], t["robustness"], t["size_rank"]],
            [
                [
                    str(int(r["rank"])),
                    f"{r.sector_code} {html.escape(str(r.sector_name))}",
                    _num(r.total_score),
                    *[_num(r[c]) for c in CRITERIA],
                    f"{r.robustness_share:.0%}",
                    _num(r.size_rank, 0),
                ]
                for _, r in top.iterrows()
            ],
            ["selected" if s else "" for s in top.selected],
        )
    )
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
                    f"{r.sector_code} {html.escape(str(r.sector_name))}",
                    t["yes"] if r.cmp_strong else t["no"],
                    _num(r.eco_stars, 0),
                ]
                for _, r in top.iterrows()
            ],
        )
    )
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
                        html.escape(_assessment(r.assessment, language)),
                    ]
                    for r in differing.itertuples()
                ],
            )
        )
    body.append(f"<div class='grid'><div class='box'><h2>{t['quality']}</h2>{_quality_table(quality, t)}</div>")
    body.append(f"<div class='box'><h2>{t['provenance']}</h2>{_provenance(manifest, t, plate)}</div></div>")
    return _page(f"{province} — {t['title']}", "".join(body), language)


def _quality_table(quality: pd.DataFrame, t: dict) -> str:
    per_source = quality.groupby("source")[["rows_in", "rows_accepted", "rows_quarantined"]].sum()
    return _table(
        [t["source"], t["rows_in"], t["accepted"], t["quarantined"]],
        [
            [source, f"{r.rows_in:,}", f"{r.rows_accepted:,}", f"{r.rows_quarantined:,}"]
            for source, r in per_source.iterrows()
        ],
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
        f"gates {html.escape(json.dumps(parameters['gates']))}; spans {parameters['growth_spans']}</p>"
        f"<details><summary>{t['inputs']}</summary><ul class='small'>{files}</ul></details>"
    )


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


def national_page(
    selection: pd.DataFrame, geojson: dict, manifest: dict, pages: dict[int, str], t: dict, language: str
) -> str:
    chosen = selection[selection.selected].set_index("plate_code")
    pilots = {plate: _short(row.sector_name, 24) for plate, row in chosen.iterrows() if isinstance(row.host, str)}
    picture = map_chart(geojson, chosen.total_score, pilots, t["map"])
    body = [
        f"<h1>{t['overview']}: {t['title']} {manifest['parameters']['reference_year']}</h1>",
        f'<img class="chart" id="map" alt="{t["map"]}" src="{picture}">',
    ]
    leading = selection[selection["rank"] <= 3].sort_values(["plate_code", "rank"])
    origins = manifest.get("provinces") or {}
    mixed = len({(o["computed_in_run"], o["parameters_id"]) for o in origins.values()}) > 1
    rows = []
    for plate, group in leading.groupby("plate_code"):
        link = pages.get(plate)
        name = html.escape(group.province.iloc[0])
        cells = [f'<a href="{link}">{name}</a>' if link else name]
        cells += [
            f"{r.sector_code} {html.escape(_short(r.sector_name))} ({_num(r.total_score)})" for r in group.itertuples()
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
    body.append(f"<div class='box'><h2>{t['provenance']}</h2>{_provenance(manifest, t)}</div>")
    return _page(f"{t['overview']} — {t['title']}", "".join(body), language)


def _previous_pages(previous_dir: Path | None, language: str) -> Path | None:
    """The report folder of the publication carried over from, when its pages are in ``language``."""
    if previous_dir is None or not (previous_dir / "manifest.json").exists():
        return None
    previous = json.loads((previous_dir / "manifest.json").read_text(encoding="utf-8"))
    same = previous.get("parameters", {}).get("report_language", "tr") == language
    return previous_dir / "reports" if same and (previous_dir / "reports").is_dir() else None


def render_reports(
    datasets: dict[str, pd.DataFrame],
    manifest: dict,
    reference_dir: Path,
    language: str = "tr",
    previous_dir: Path | None = None,
) -> dict[str, str]:
    """Every page of a publication: file name -> HTML. A province carried over unchanged from
    ``previous_dir`` (the publication its rows come from) keeps its page there when that is in
    the same language; the other pages are rendered from the datasets."""
    t = TEXT[language]
    ref = Reference(reference_dir)
    scores = datasets["scores"].merge(ref.cluster_centres[["plate_code", "host"]], on="plate_code", how="left")
    if language == "tr":  # the programme's clusters have Turkish names
        turkish = dict(zip(ref.cluster_sectors.sector_code, ref.cluster_sectors.name_tr, strict=True))
        scores["sector_name"] = scores.sector_code.map(turkish).fillna(scores.sector_name)
    indicators = datasets["indicators"]
    national = indicators.groupby("year").national_employment.first()
    year = manifest["parameters"]["reference_year"]
    span = manifest["parameters"]["growth_spans"][0]
    national_growth = (
        (national[year] / national[year - span]) ** (1 / span) - 1 if year - span in national.index else None
    )
    pages = {}
    for plate, group in scores.groupby("plate_code"):
        name = page_name(int(plate), group.province.iloc[0])
        pages[int(plate)] = name
    reports = {}
    previous = _previous_pages(previous_dir, language)
    for plate, name in pages.items():
        origin = _origin(manifest, plate)
        if previous and origin and origin.get("carried_over") and (previous / name).exists():
            reports[name] = (previous / name).read_text(encoding="utf-8")
            continue
        reports[name] = province_page(
            plate,
            scores[scores.plate_code == plate],
            datasets["consultation"],
            datasets["quality"],
            manifest,
            national_growth,
            t,
            language,
        )
    geojson = json.loads((reference_dir / "tr_provinces.geojson").read_text(encoding="utf-8"))
    selection = datasets["selection"].copy()
    if language == "tr":
        selection["sector_name"] = selection.sector_code.map(turkish).fillna(selection.sector_name)
    reports["index.html"] = national_page(selection, geojson, manifest, pages, t, language)
    return reports
