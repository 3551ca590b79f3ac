"""The ``backtest`` dataset: the backtests of methodology.md §8 in tidy form, one row per
origin year, horizon, test, method and metric, as ``tasks.methods.backtest`` computes them."""

from __future__ import annotations

import pandas as pd

from tasks.datasets import as_published


def build_backtest(table: pd.DataFrame) -> pd.DataFrame:
    """``backtest``'s rows (``tasks.methods.backtest.backtest``) as published, in the order of
    the tests, origins, horizons, methods and metrics."""
    ordered = table.sort_values(["test", "origin_year", "horizon", "method", "metric"], kind="stable")
    return as_published(ordered.reset_index(drop=True), "backtest")
