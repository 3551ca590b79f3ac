"""The complexity dataset: province rows (diversity, ECI, COI) by plate code with the province's
name, sector rows (ubiquity, PCI) with the class's name."""

from __future__ import annotations

from dataclasses import replace

from schemas.outputs import COMPLEXITY
from tasks.datasets.complexity import build_complexity
from tasks.publish.snapshot import to_table


def test_province_and_sector_rows_are_keyed_and_named_by_their_level(relatedness_result, ref):
    built = build_complexity(relatedness_result, ref)
    assert list(built.columns) == COMPLEXITY.names
    assert built.level.value_counts().to_dict() == {"province": 5, "sector": 5}
    provinces = built[built.level == "province"].set_index("plate_code")
    assert provinces.sector_code.isna().all() and provinces.ubiquity.isna().all()
    assert provinces.province[61] == "Trabzon" and provinces.diversity[55] == 3
    assert abs(provinces.eci.mean()) < 1e-12 and abs(provinces.eci.std(ddof=0) - 1) < 1e-12  # standardised
    sectors = built[built.level == "sector"].set_index("sector_code")
    assert sectors.plate_code.isna().all() and sectors.province.isna().all()
    assert sectors.sector_name["30.11"] == "Building of ships and floating structures"
    assert sectors.ubiquity.to_dict() == {"10.61": 3, "25.92": 3, "28.93": 2, "30.11": 2, "32.50": 1}
    assert built.null_reason.isna().all() and set(built.window_years) == {3}


def test_a_disconnected_network_publishes_null_complexity_with_its_reason(relatedness_result, ref):
    complexity = relatedness_result.complexity.assign(eci=float("nan"), pci=float("nan"), null_reason="disconnected")
    built = build_complexity(replace(relatedness_result, complexity=complexity), ref)
    assert built.eci.isna().all() and built.pci.isna().all() and set(built.null_reason) == {"disconnected"}


def test_the_built_rows_cast_to_the_contract_with_null_keys_where_the_level_has_none(relatedness_result, ref):
    table = to_table(build_complexity(relatedness_result, ref), "complexity")
    assert table.schema.equals(COMPLEXITY)
    assert table.column("plate_code").null_count == table.column("sector_code").null_count == 5
    assert table.column("level").to_pylist()[:5] == ["province"] * 5  # the contract's row order: provinces first
