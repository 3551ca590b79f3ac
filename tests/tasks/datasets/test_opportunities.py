"""The opportunities dataset: every class a province lacks, ranked, with the names of the class,
the province and the present classes that support it, and the class's national growth."""

from __future__ import annotations

import pandas as pd

from schemas.outputs import OPPORTUNITIES
from tasks.datasets.opportunities import build_opportunities
from tasks.publish.snapshot import to_table


def indicators() -> pd.DataFrame:
    """The indicators dataset's national CAGR: the same in every province's row of a class and
    year (null in a row of a province without the class), another value in another year."""
    return pd.DataFrame(
        {
            "plate_code": [19, 61, 55, 61, 61],
            "sector_code": ["25.92", "25.92", "30.11", "30.11", "30.11"],
            "year": [2022, 2022, 2022, 2022, 2021],
            "national_sector_employment_cagr": [0.04, 0.04, None, 0.07, -0.5],
        }
    ).astype({"plate_code": "int16", "year": "int16"})


def test_each_lacking_class_is_ranked_named_and_joined_with_its_national_growth(relatedness_result, ref):
    built = build_opportunities(relatedness_result, indicators(), ref)
    assert list(built.columns) == OPPORTUNITIES.names
    assert len(built) == len(relatedness_result.opportunities) == 25 - 11  # 11 classes present
    corum = built[built.plate_code == 19].set_index("sector_code")
    assert set(corum.province) == {"Çorum"} and corum["rank"].tolist() == [1, 2, 3, 4]
    # 25.92 is Çorum's best opportunity: present in two of the three provinces that have its grain milling
    assert corum.loc["25.92", ["support_1_sector_code", "support_1_proximity"]].tolist() == ["10.61", 2 / 3]
    assert corum.support_1_sector_name["25.92"] == "Manufacture of grain mill products"
    assert pd.isna(corum.support_2_sector_code["25.92"]) and pd.isna(corum.support_2_sector_name["25.92"])
    assert corum.national_sector_employment_cagr["25.92"] == 0.04
    assert corum.national_sector_employment_cagr["30.11"] == 0.07  # 2022's, the value its rows have
    assert pd.isna(corum.national_sector_employment_cagr["32.50"])  # not in the indicators
    assert corum.sector_name["30.11"] == "Building of ships and floating structures"
    assert set(built.window_years) == {3} and (built.density.between(0, 1)).all()


def test_the_built_opportunities_cast_to_the_contract(relatedness_result, ref):
    table = to_table(build_opportunities(relatedness_result, indicators(), ref), "opportunities")
    assert table.schema.equals(OPPORTUNITIES) and table.column("rank").null_count == 0
    first = table.slice(0, 4).to_pydict()
    assert first["plate_code"] == [6] * 3 + [19] and first["rank"][:3] == [1, 2, 3]  # by province, then rank
