"""``kume backtest`` on the shipped sample: ingests and validates the sources the model reads,
backtests every origin, prints the summary table and writes the dataset when asked."""

from __future__ import annotations

import pandas as pd

from kume.cli import main
from kume.settings import PROJECT_ROOT
from schemas.outputs import BACKTEST


def test_kume_backtest_prints_its_table_and_writes_the_dataset(tmp_path, capsys):
    assert main(["backtest", "--horizons", "5", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0].startswith("Backtest: 81 provinces, origins 2013-2016, horizons 5;")  # sample: 2011-2022
    for method in ("density", "rca_below_one", "national_growth", "random (expected)", "selected", "cmp_strong"):
        assert any(line.strip().startswith(method) for line in lines), method
    assert "sgk_employment: " in printed.err and "backtest: origin 2016, horizons 5" in printed.err
    table = pd.read_parquet(tmp_path / "backtest.parquet")
    assert list(table.columns) == BACKTEST.names and set(table.origin_year) == {2013, 2014, 2015, 2016}
    assert lines[-1] == f"{len(table)} rows -> {tmp_path / 'backtest.parquet'}"
    # the README's table (both horizons) shows these rows of horizon 5 as printed: the same origins
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split("### Backtests", 1)[1]
    shown = readme.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    five = [line for line in lines if line.startswith("  ") and line.split()[1:2] == ["5"]]
    five += [line for line in lines if line.startswith("  random (expected)")]
    assert len(five) == 6 and all(line in shown for line in five)


def test_kume_backtest_refuses_a_horizon_it_cannot_read(capsys):
    assert main(["backtest", "--horizons", "0"]) == 2
    assert capsys.readouterr().err == "kume backtest: --horizons 0: each must be 1-30 years\n"
