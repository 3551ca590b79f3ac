"""The backtest dataset: the tidy rows of tasks.methods.backtest, ordered, as published."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import BACKTEST
from tasks.datasets.backtest import build_backtest
from tasks.methods.backtest import COLUMNS
from tasks.publish.snapshot import to_table


def rows() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (2016, 3, "selection", "selected", "growth", 0.2, 80),
            (2015, 5, "entry", "random", "pr_auc", 0.01, 14000),
            (2015, 3, "entry", "density", "precision_at_5", 0.05, 81),
            (2015, 3, "entry", "density", "pr_auc", None, 14000),  # no entry: no precision-recall curve
        ],
        columns=COLUMNS,
    )


def test_the_backtest_is_published_in_the_order_of_tests_origins_horizons_methods_metrics():
    built = build_backtest(rows())
    assert list(built.columns) == BACKTEST.names
    assert built[["test", "origin_year", "horizon", "metric"]].values.tolist() == [
        ["entry", 2015, 3, "pr_auc"],  # by name: "pr_auc" < "precision_at_5"
        ["entry", 2015, 3, "precision_at_5"],
        ["entry", 2015, 5, "pr_auc"],
        ["selection", 2016, 3, "growth"],
    ]


def test_the_built_backtest_casts_to_the_contract():
    table = to_table(build_backtest(rows()), "backtest")
    assert table.schema.equals(BACKTEST) and table.num_rows == 4 and table.column("value").null_count == 1
