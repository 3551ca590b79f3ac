"""The run summary printed at the end of ``kume run``: the selection of each province with a
Cluster Information Centre, next to its largest sector (by turnover, or by employment where the
province has no turnover data: its ``size_basis``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from tasks.errors import printable
from tasks.methods.scoring import trailing_criterion
from tasks.publish.snapshot import read_dataset

SIZE_BASIS_LABELS = {
    "turnover_registry": "turnover (registry)",
    "turnover_agency": "turnover (agency)",
    "employment": "employment; no turnover data",
}


def largest_label(basis: object) -> str:
    """'largest sector by turnover (registry)', 'largest sector by employment; no turnover data'."""
    return "largest sector by " + SIZE_BASIS_LABELS.get(basis, SIZE_BASIS_LABELS["employment"])


def sector_label(code: object, name: object, cluster: object) -> str:
    """'30.11 shipbuilding': the code with the programme cluster's name where the sector is one,
    else with the NACE class's name."""
    return f"{code} {cluster if isinstance(cluster, str) else name}"


def selection_summary(selection: pd.DataFrame, plates: list[int] | None = None) -> pd.DataFrame:
    """One row per province: selected sector, score, runner-up and the largest sector, with the
    basis it is the largest on. Read row by row from plain records: a province's few rows, not
    a DataFrame per province (81 of them took a quarter of a second)."""
    shown = selection if plates is None else selection[selection.plate_code.isin(plates)]
    provinces: dict[int, list[dict]] = {}
    for record in shown.sort_values(["plate_code", "rank"], kind="stable").to_dict("records"):
        provinces.setdefault(record["plate_code"], []).append(record)
    rows = []
    for plate, group in provinces.items():
        chosen = [row for row in group if row["selected"]]
        runner = [row for row in group if row["rank"] == (2 if chosen else 1)]
        first, top = (chosen[0] if chosen else None), group[0]
        rows.append(
            {
                "plate_code": plate,
                "province": top["province"],
                "host": _short_host(top["host"]),
                "selected": _label_of(first, "") if first is not None else "none eligible",
                "score": round(float(first["total_score"]), 1) if first is not None else None,
                "runner_up": _label_of(runner[0], "") if runner else "",
                "runner_up_score": round(float(runner[0]["total_score"]), 1) if runner else None,
                "largest_sector": _label_of(top, "largest_") if pd.notna(top["largest_sector_code"]) else "n/a",
                "size_basis": top["size_basis"],
                "selected_size_rank": first["size_rank"] if first is not None else None,
                "robustness_share": float(first["robustness_share"]) if first is not None else None,
                "programme_choice": top["programme_sector_code"],
                "carried_over_from": top.get("carried_over_from"),
            }
        )
    return pd.DataFrame(rows)


def _label_of(row: dict, prefix: str) -> str:
    """``sector_label`` of a selection row's sector (``prefix`` "largest_": its largest sector)."""
    return sector_label(row[f"{prefix}sector_code"], row[f"{prefix}sector_name"], row[f"{prefix}cluster_name"])


CRITERION_LABELS = {
    "economic_impact": "Economic Impact",
    "demand": "Demand",
    "networking": "Networking & Cooperation",
    "factor_conditions": "Factor Conditions",
}


def explain_province(scores: pd.DataFrame, draws: int) -> str:
    """Why the selected sector won, and why the largest sector (on the province's size basis)
    did not, in words."""
    scores = scores.sort_values("rank")
    chosen = scores[scores.selected]
    if chosen.empty:
        return f"{scores.province.iloc[0]}: no sector passes the eligibility gates."
    win = chosen.iloc[0]
    share = f"{win.robustness_share:.0%}"
    verdict = "robust" if win.robust else "fragile"
    winner = sector_label(win.sector_code, win.sector_name, win.cluster_name)
    lines = [
        f"{win.province}: {winner} scores {win.total_score:.1f} and ranks first in "
        f"{share} of {draws:,} weight draws ({verdict}). Criteria: " + _contributions(win) + ".",
        f"  It gains most on {win.top_indicators or 'no single indicator'}.",
    ]
    largest = scores[scores.size_rank.eq(1)]
    if len(largest) and largest.iloc[0].sector_code != win.sector_code:
        big = largest.iloc[0]
        weakest = trailing_criterion(win, big)
        why = (
            f"; it trails most on {CRITERION_LABELS[weakest]} ({big[weakest]:.1f} against {win[weakest]:.1f})"
            if (weakest)
            else ""
        )
        gates = f"; gates failed: {big.gate_failures}" if isinstance(big.gate_failures, str) else ""
        biggest = sector_label(big.sector_code, big.sector_name, big.cluster_name)
        lines.append(
            f"  The {largest_label(big.size_basis)}, {biggest}, "
            f"ranks {int(big['rank'])} with {big.total_score:.1f}{why}{gates}."
        )
    return "\n".join(lines)


def _contributions(row: pd.Series) -> str:
    return ", ".join(f"{label} {row[f'contribution_{key}']:.1f}" for key, label in CRITERION_LABELS.items())


def _short_host(host: object) -> str:
    """'Samsun Ticaret ve Sanayi Odası (Samsun TSO)' -> 'Samsun TSO'."""
    if not isinstance(host, str):
        return ""
    match = re.search(r"\(([^)]+)\)\s*$", host)
    return match.group(1) if match else host


def print_selection(run_dir: Path, console: Console | None = None) -> pd.DataFrame:
    """Print the pilot provinces' selections (those hosting a Cluster Information Centre)."""
    console = console or Console(width=200)
    selection = read_dataset(run_dir / "selection", "selection")
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    pilots = selection[selection.host.notna()].plate_code.unique().tolist()
    summary = selection_summary(selection, pilots)
    table = Table(
        title=f"kume selection, reference year {manifest['parameters']['reference_year']} (run {manifest['run_id']})"
    )
    for column in (
        "province",
        "host",
        "selected sector",
        "score",
        "runner-up",
        "its score",
        "largest sector",
        "size basis",
        "selected's size rank",
    ):
        table.add_column(column)
    for row in summary.itertuples():
        table.add_row(
            row.province,
            row.host,
            row.selected,
            f"{row.score}",
            row.runner_up,
            f"{row.runner_up_score}",
            row.largest_sector,
            SIZE_BASIS_LABELS.get(row.size_basis, ""),
            _rank(row.selected_size_rank),
        )
    console.print(table)
    scores = read_dataset(run_dir / "scores", "scores")
    scores = scores[scores.plate_code.isin(pilots)]
    draws = manifest["parameters"]["robustness"]["draws"]
    for plate in pilots:
        console.print(explain_province(scores[scores.plate_code == plate], draws))
    scored = selection.plate_code.nunique()
    published = manifest.get("trigger", {}).get("publish", True)
    where = f"latest publication: {run_dir.parent.parent / 'current'}" if published else "a preview, not published"
    carried = sum(1 for origin in (manifest.get("provinces") or {}).values() if origin["carried_over"])
    if carried:
        scored = f"{scored} provinces ({scored - carried} scored in this run, {carried} carried over unchanged)"
    else:
        scored = f"{scored} provinces scored"
    console.print(
        f"{scored}; all of them in {run_dir / 'selection'}; {where}; reports: {run_dir / 'reports' / 'index.html'}"
    )
    return summary


def selection_table(selection: pd.DataFrame, plates: list[int]) -> list[dict]:
    """The selection per province as the operator's table: sector, score, runner-up, robustness
    (share of weight draws ranking it first) and the contrast with the largest sector."""
    summary = selection_summary(selection, plates)
    return [
        {
            "province": row.province,
            "selected sector": row.selected,
            "score": row.score,
            "runner-up": f"{row.runner_up} ({row.runner_up_score})" if row.runner_up else "",
            "robustness": "n/a" if pd.isna(row.robustness_share) else f"{row.robustness_share:.0%} of draws",
            "selected's size rank": _rank(row.selected_size_rank),
            "largest sector": row.largest_sector,
            "size basis": SIZE_BASIS_LABELS.get(row.size_basis, ""),
            "computed": f"carried over from run {row.carried_over_from}"
            if isinstance(row.carried_over_from, str)
            else "this run",
        }
        for row in summary.itertuples()
    ]


def _parameters_label(parameters: dict | None) -> str:
    if not parameters:
        return "parameters unknown"
    weights = "/".join(f"{value:g}" for value in (parameters.get("weights") or {}).values())
    return (
        f"weights {weights}, reference year {parameters.get('reference_year')}, spans {parameters.get('growth_spans')}"
    )


def origins_markdown(manifest: dict) -> list[str]:
    """What the publication replaced: the provinces this run recomputed, and those carried over
    unchanged, grouped by the run and the parameter set that computed them."""
    provinces = manifest.get("provinces") or {}
    if not provinces:
        return []
    sets = manifest.get("parameter_sets") or {}
    failed = manifest.get("provinces_carried_over") or {}
    groups: dict[tuple[bool, str, str], list[str]] = {}
    for plate, origin in provinces.items():
        key = (origin["carried_over"], origin["computed_in_run"], origin["parameters_id"])
        groups.setdefault(key, []).append(origin["province"] + (f" ({origin['reason']})" if plate in failed else ""))
    previous = manifest.get("previous_publication")
    lines = ["", f"## Provinces of the publication ({len(provinces)})", ""]
    if previous and previous != manifest["run_id"]:
        lines += [f"Replaces the publication of run {previous}.", ""]
    for (carried, run, pid), names in sorted(groups.items()):
        what = f"carried over unchanged from run {run}" if carried else "recomputed in this run"
        lines.append(
            f"- {what}, parameters {pid} ({_parameters_label(sets.get(pid))}): {len(names)}: {', '.join(names)}"
        )
    return lines


def quality_markdown(manifest: dict) -> str:
    """Per source: files, rows in / accepted / quarantined, the rules that failed, with counts,
    the files that could not be read and those not read (hidden, ``.xls``, a link outside the
    data folder, ...) with the reason. Names are escaped: one table row per source, whatever
    a file name holds."""
    lines = [
        f"# Data quality of run {manifest['run_id']}",
        "",
        "| source | files | rows in | accepted | quarantined | failed rules | unreadable files | files not read |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for source, info in manifest["inputs"].items():
        failures = ", ".join(f"{rule} x{count}" for rule, count in sorted((info.get("rule_failures") or {}).items()))
        errors = _cell("; ".join(info.get("errors") or []))
        skipped = _cell("; ".join(f"{f['file']}: NOT READ: {f['reason']}" for f in info.get("not_read") or []))
        counts = " | ".join(f"{info.get(k) or 0:,}" for k in ("rows_in", "rows_accepted", "rows_quarantined"))
        lines.append(
            f"| {source} | {len(info.get('files') or [])} | {counts} | {failures or 'none'} | {errors or 'none'} "
            f"| {skipped or 'none'} |"
        )
    carried = manifest.get("provinces_carried_over") or {}
    if carried:
        lines += ["", f"Provinces keeping the previous selection (run {manifest.get('carried_over_from')}):"]
        lines += [f"- plate {plate}: {', '.join(files)}" for plate, files in sorted(carried.items())]
    lines += ["", "Rows in = accepted + quarantined for every file; the quarantine dataset lists each row and rule."]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for one Markdown table cell: escaped (``printable``), ``|`` kept from splitting it."""
    return printable(text).replace("|", "\\|")


def _rank(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else str(int(value))
