"""The selection_history dataset: the top three of each province and year, named, as published."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import SELECTION_HISTORY
from tasks.datasets.selection_history import build_selection_history
from tasks.methods.history import COLUMNS
from tasks.publish.snapshot import to_table

SHIPS = "Building of ships and floating structures"


def history() -> pd.DataFrame:
    """selection_history's rows as tasks.methods.history computes them: Trabzon in two years."""
    rows = [
        (61, 2021, 1, "30.11", 88.0, True, 0.91, False),
        (61, 2021, 2, "10.61", 70.0, None, 0.09, False),
        (61, 2021, 3, "25.92", 60.0, None, 0.0, False),
        (61, 2022, 1, "30.11", 90.0, False, 0.6, True),
        (61, 2022, 2, "25.92", 80.0, None, 0.4, True),
        (61, 2022, 3, "10.61", 70.0, None, 0.0, True),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_the_history_is_published_with_names_and_the_robust_share(ref):
    built = build_selection_history(history(), ref, "run-1", "p-1")
    assert list(built.columns) == [name for name in SELECTION_HISTORY.names if name != "carried_over_from"]
    assert set(built.run_id) == set(built.computed_in_run) == {"run-1"} and set(built.parameters_id) == {"p-1"}
    first = built[built["rank"] == 1].set_index("year")
    assert first.sector_code.tolist() == ["30.11", "30.11"] and set(first.sector_name) == {SHIPS}
    assert set(built.province) == {"Trabzon"}
    assert first.robust_share.tolist() == [0.91, 0.6] and first.robust.tolist() == [True, False]
    assert built.snapshot_inputs.tolist() == [False] * 3 + [True] * 3


def test_the_built_history_casts_to_the_contract(ref):
    table = to_table(build_selection_history(history(), ref, "run-1", "p-1"), "selection_history")
    assert table.schema.equals(SELECTION_HISTORY) and table.num_rows == 6
    assert table.column("robust").null_count == 4  # only a selected sector is robust or not
