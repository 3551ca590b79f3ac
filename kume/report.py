"""The run summary printed at the end of ``kume run``: the selection of each province with a
Cluster Information Centre, next to its largest sector by turnover."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from tasks.publish import read_dataset
from tasks.scoring import trailing_criterion


def selection_summary(selection: pd.DataFrame, plates: list[int] | None = None) -> pd.DataFrame:
    """One row per province: selected sector, score, runner-up and largest-by-turnover sector."""
    rows = []
    for plate, group in selection.groupby("plate_code", sort=True):
        if plates is not None and plate not in plates:
            continue
        group = group.sort_values("rank")
        chosen = group[group.selected]
        runner = group[group["rank"] == (2 if len(chosen) else 1)]
        first = chosen.iloc[0] if len(chosen) else None
        rows.append(
            {
                "plate_code": plate,
                "province": group.province.iloc[0],
                "host": _short_host(group.host.iloc[0]),
                "selected": f"{first.sector_code} {first.sector_name}" if first is not None else "none eligible",
                "score": round(float(first.total_score), 1) if first is not None else None,
                "runner_up": f"{runner.sector_code.iloc[0]} {runner.sector_name.iloc[0]}" if len(runner) else "",
                "runner_up_score": round(float(runner.total_score.iloc[0]), 1) if len(runner) else None,
                "largest_by_turnover": f"{group.largest_turnover_sector_code.iloc[0]} "
                f"{group.largest_turnover_sector_name.iloc[0]}"
                if pd.notna(group.largest_turnover_sector_code.iloc[0])
                else "n/a (no registry)",
                "selected_turnover_rank": first.turnover_rank if first is not None else None,
                "programme_choice": group.programme_sector_code.iloc[0],
            }
        )
    return pd.DataFrame(rows)


CRITERION_LABELS = {
    "economic_impact": "Economic Impact",
    "demand": "Demand",
    "networking": "Networking & Cooperation",
    "factor_conditions": "Factor Conditions",
}


def explain_province(scores: pd.DataFrame, draws: int) -> str:
    """Why the selected sector won, and why the largest sector by turnover did not, in words."""
    scores = scores.sort_values("rank")
    chosen = scores[scores.selected]
    if chosen.empty:
        return f"{scores.province.iloc[0]}: no sector passes the eligibility gates."
    win = chosen.iloc[0]
    share = f"{win.robustness_share:.0%}"
    verdict = "robust" if win.robust else "fragile"
    lines = [
        f"{win.province}: {win.sector_code} {win.sector_name} scores {win.total_score:.1f} and ranks first in "
        f"{share} of {draws:,} weight draws ({verdict}). Criteria: " + _contributions(win) + ".",
        f"  It gains most on {win.top_indicators or 'no single indicator'}.",
    ]
    largest = scores[scores.turnover_rank.eq(1)]
    if len(largest) and largest.iloc[0].sector_code != win.sector_code:
        big = largest.iloc[0]
        weakest = trailing_criterion(win, big)
        why = (
            f"; it trails most on {CRITERION_LABELS[weakest]} ({big[weakest]:.1f} against {win[weakest]:.1f})"
            if (weakest)
            else ""
        )
        gates = f"; gates failed: {big.gate_failures}" if isinstance(big.gate_failures, str) else ""
        lines.append(
            f"  The largest sector by turnover, {big.sector_code} {big.sector_name}, ranks {int(big['rank'])} "
            f"with {big.total_score:.1f}{why}{gates}."
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
        "largest by turnover",
        "selected's turnover rank",
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
            row.largest_by_turnover,
            _rank(row.selected_turnover_rank),
        )
    console.print(table)
    scores = read_dataset(run_dir / "scores", "scores")
    scores = scores[scores.plate_code.isin(pilots)]
    draws = manifest["parameters"]["robustness"]["draws"]
    for plate in pilots:
        console.print(explain_province(scores[scores.plate_code == plate], draws))
    scored = selection.plate_code.nunique()
    console.print(
        f"{scored} provinces scored; all of them in {run_dir / 'selection'}; "
        f"latest publication: {run_dir.parent.parent / 'current'}; reports: {run_dir / 'reports' / 'index.html'}"
    )
    return summary


def _rank(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else str(int(value))
