"""The relatedness dataset: every pair of classes with a proximity, both ways, with both names."""

from __future__ import annotations

from schemas.outputs import RELATEDNESS
from tasks.datasets.relatedness import build_relatedness
from tasks.publish.snapshot import to_table

GRAIN = "Manufacture of grain mill products"


def test_pairs_are_published_both_ways_with_both_names_and_the_window(relatedness_result, ref):
    built = build_relatedness(relatedness_result, ref)
    assert list(built.columns) == RELATEDNESS.names
    pairs = built.set_index(["sector_code", "related_sector_code"])
    assert len(pairs) == len(relatedness_result.pairs) and (built.proximity > 0).all()
    # 10.61 and 25.92 are both present in 27 and 55; 10.61 in three provinces: phi = 2 / 3
    assert pairs.loc[("10.61", "25.92"), ["proximity", "co_occurrence"]].tolist() == [2 / 3, 2]
    assert pairs.loc[("25.92", "10.61"), "proximity"] == 2 / 3  # symmetric
    assert pairs.loc[("10.61", "25.92"), ["sector_name", "related_sector_name"]].tolist() == [
        GRAIN,
        "Manufacture of light metal packaging",
    ]
    assert set(built.year) == {2022} and set(built.window_years) == {3}


def test_the_built_pairs_cast_to_the_contract(relatedness_result, ref):
    table = to_table(build_relatedness(relatedness_result, ref), "relatedness")
    assert table.schema.equals(RELATEDNESS) and table.num_rows == len(relatedness_result.pairs)
    assert table.column("co_occurrence").null_count == 0
