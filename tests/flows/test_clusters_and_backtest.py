"""End to end: a run that backtests, then a rerun of one province scoring data-driven clusters
(methodology §7.9, §8) over the shipped data, on the embedded Prefect server."""

from __future__ import annotations

import json

import pandas as pd
from helpers import run_selection

from tasks.publish.snapshot import read_dataset


def published(out_dir, name: str) -> pd.DataFrame:
    return read_dataset(out_dir / "current" / name, name)


def test_a_backtest_is_published_then_carried_over_by_a_rerun_that_scores_clusters(tmp_path):
    out = tmp_path / "out"
    first = run_selection(out, provinces=["Samsun", "Trabzon"], backtest=True)
    backtest = published(out, "backtest")
    assert first["backtest_run"] == first["run_id"] and first["trigger"]["backtest"]
    assert set(backtest.test) == {"entry", "selection"} and set(backtest.horizon) == {3, 5}
    entry = backtest[(backtest.test == "entry") & (backtest.metric == "precision_at_5")]
    assert set(entry.method) == {"density", "rca_below_one", "national_growth", "random"}

    second = run_selection(out, provinces=["Samsun"], candidates="cluster")
    assert second["backtest_run"] == first["run_id"]  # not run again: the publication's, carried over
    pd.testing.assert_frame_equal(published(out, "backtest"), backtest)
    definitions = published(out, "cluster_definitions")
    selection = published(out, "selection").set_index(["plate_code", "rank"])
    samsun = selection.loc[55]
    assert samsun.sector_code.isin(definitions.cluster_id).all()  # clusters, not classes
    chosen = samsun.loc[1]
    members = definitions[definitions.cluster_id == chosen.sector_code]
    assert chosen.sector_name == members.cluster_name.iloc[0]
    assert list(chosen.nace_classes) == sorted(members.sector_code)
    assert "32.50" in list(chosen.nace_classes)  # Samsun's medical equipment, in its data-driven cluster
    trabzon = selection.loc[61]  # carried over from the first run: classes, its own parameters
    assert trabzon.loc[1, "sector_code"] == "30.11" and set(trabzon.computed_in_run) == {first["run_id"]}
    history = published(out, "selection_history")  # a province's history goes with its selection
    assert set(history[history.plate_code == 61].computed_in_run) == {first["run_id"]}
    samsun_history = history[history.plate_code == 55]
    assert set(samsun_history.computed_in_run) == {second["run_id"]}
    assert samsun_history[samsun_history.year == 2022].sector_code.tolist() == samsun.sector_code[:3].tolist()
    parameters = json.loads((out / "current" / "manifest.json").read_text(encoding="utf-8"))["parameter_sets"]
    assert {p["candidates"] for p in parameters.values()} == {"class", "cluster"}
