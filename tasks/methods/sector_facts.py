"""From validated sources to the province x NACE class tables that indicators and scoring
read: SGK facts and published totals, exports allocated to classes, and the registry,
agency-database and province features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.errors import InputDataError
from tasks.reference import NATIONAL

SME_EMPLOYEES = 250  # methodology.md §2: SMEs have fewer than 250 employees


def sgk_tables(sgk: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """Split accepted SGK rows into (facts, region totals, national totals).

    Province rows of a class are facts; province rows of ``C`` are published region totals;
    ``Türkiye`` rows are the published national totals (``C`` -> the universe, ``*``).
    """
    columns = ["year", "employment", "establishments"]
    is_national = sgk.plate_code.eq(NATIONAL)
    is_total = sgk.nace_class.eq("C")
    facts = sgk[~is_national & ~is_total].rename(columns={"plate_code": "region_code", "nace_class": "sector_code"})
    facts = facts[["region_code", "sector_code", *columns]]
    region = sgk[~is_national & is_total].rename(columns={"plate_code": "region_code"})[["region_code", *columns]]
    national = sgk[is_national].rename(columns={"nace_class": "sector_code"})[["sector_code", *columns]]
    national = national.assign(sector_code=national.sector_code.replace({"C": "*"}))
    facts = facts.groupby(["region_code", "sector_code", "year"], as_index=False)[columns[1:]].sum()
    return facts, (region if not region.empty else None), national


def allocate_exports(
    exports: pd.DataFrame, facts: pd.DataFrame, sector_of_class: pd.Series
) -> tuple[pd.DataFrame, float]:
    """Spread each province's exporter-sector exports over the NACE classes of that sector in
    proportion to the province's employment in them (same year). Returns class exports and the
    USD that could not be allocated (unclassified, non-manufacturing, or no such employment)."""
    by_sector = exports.groupby(["year", "plate_code", "exporter_sector_id"], as_index=False).exports_usd.sum()
    employment = facts.rename(columns={"region_code": "plate_code", "sector_code": "nace_class"})
    employment = employment.assign(exporter_sector_id=employment.nace_class.map(sector_of_class))
    employment = employment[employment.exporter_sector_id.notna() & employment.employment.gt(0)]
    weights = employment.assign(
        weight=employment.employment
        / employment.groupby(["year", "plate_code", "exporter_sector_id"]).employment.transform("sum")
    )
    allocated = weights.merge(by_sector, on=["year", "plate_code", "exporter_sector_id"], how="inner")
    allocated = allocated.assign(exports=allocated.weight * allocated.exports_usd)
    unallocated = float(by_sector.exports_usd.sum() - allocated.exports.sum())
    out = allocated.rename(columns={"plate_code": "region_code", "nace_class": "sector_code"})
    return out[["region_code", "sector_code", "year", "exports"]], unallocated


def registry_features(registry: pd.DataFrame) -> pd.DataFrame:
    """Per province x class from the chamber registries: firms, SME share, turnover and the
    share of employment in the top district (spatial concentration inside the province)."""
    # SME share among firms of known size (a blank employee count is not evidence either way)
    is_sme = registry.employees.lt(SME_EMPLOYEES).astype("float64").where(registry.employees.notna())
    grouped = registry.assign(is_sme=is_sme).groupby(["plate_code", "nace_class"])
    number = grouped.ngroup()  # the row's province x class, numbered in the features' order
    by_district = registry.employees.groupby([number, registry.district]).sum()
    features = pd.DataFrame(
        {
            "firms": grouped.size(),
            "sme_share": grouped.is_sme.mean(),
            "turnover_try": _series_sums(registry.turnover_try, number, grouped.ngroups),
            "registry_employees": grouped.employees.sum(),
        }
    )
    top = by_district.groupby(level=0).max().reindex(range(grouped.ngroups)).to_numpy()
    features["top_district_share"] = top / features.registry_employees.where(features.registry_employees.gt(0))
    return features.reset_index().astype({"plate_code": "int64"})


def _series_sums(values: pd.Series, groups: pd.Series, count: int) -> np.ndarray:
    """Per group (``groups``: its number 0..count-1, null for none) the sum of ``values`` as
    ``Series.sum(min_count=1)`` adds them (pairwise, in row order): the published figures stay
    those of that sum to the last bit, which groupby's compensated sum would not."""
    numbers = groups.fillna(-1).to_numpy(dtype="int64")
    order = np.argsort(numbers, kind="stable")
    order = order[numbers[order] >= 0]
    ordered = values.to_numpy(dtype="float64")[order]
    present = ~np.isnan(ordered)
    found = np.bincount(numbers[order][present], minlength=count)
    summed = np.where(present, ordered, 0.0)
    starts = np.searchsorted(numbers[order], np.arange(count + 1))
    sums = np.array([summed[start:end].sum() for start, end in zip(starts[:-1], starts[1:], strict=True)])
    return np.where(found > 0, sums, np.nan)


AGENCY_COUNTS = [
    "associations",
    "joint_projects",
    "programmes",
    "graduates",
    "rd_design_centres",
    "specialised_zones",
    "testing_labs",
]


def agency_features(agency: pd.DataFrame) -> pd.DataFrame:
    """Per province x class from the agency database: counts (absent = 0, the database covers
    every province) and the mean cooperation willingness with its number of answers."""
    sector_rows = agency[agency.nace_class.notna()]
    counts = sector_rows[sector_rows.measure.isin(AGENCY_COUNTS)].pivot_table(
        index=["plate_code", "nace_class"], columns="measure", values="value", aggfunc="sum", fill_value=0
    )
    survey = (
        sector_rows[sector_rows.measure.eq("cooperation_willingness")]
        .groupby(["plate_code", "nace_class"])
        .value.agg(cooperation_willingness="mean", survey_answers="size")
    )
    features = counts.join(survey, how="outer").reset_index()
    for column in AGENCY_COUNTS:
        features[column] = features.get(column, 0)
        features[column] = features[column].fillna(0)
    features.columns.name = None
    return features.astype({"plate_code": "int64"})


def province_features(life_index: pd.DataFrame) -> pd.DataFrame:
    """Province-level factor conditions from TÜİK's 2015 well-being index."""
    return life_index[["plate_code", "perc_higher_educ", "access_to_airport"]].rename(
        columns={"perc_higher_educ": "higher_education_share", "access_to_airport": "airport_access"}
    )


def allocate_turnover(turnover: pd.DataFrame, facts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Agency turnover (TRY) per province x class for ``year``, or the latest earlier year a
    province has. Class figures are used as given; a division figure, less the classes given
    apart, is spread over the division's other classes in proportion to the province's
    employment in them that year (as exports are). Suppressed cells stay null."""
    columns = ["plate_code", "nace_class", "turnover_try"]
    rows = turnover[turnover.year.le(year) & turnover.turnover_try.notna()] if len(turnover) else turnover
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows[rows.year.eq(rows.groupby("plate_code").year.transform("max"))].astype({"plate_code": "int64"})
    given = rows[rows.nace_level.eq("class")].groupby(["plate_code", "year", "nace_class"], as_index=False)
    given = given.turnover_try.sum()
    divisions = rows[rows.nace_level.eq("division")]
    divisions = divisions.groupby(["plate_code", "year", "nace_division"], as_index=False).turnover_try.sum()
    given_in_division = given.assign(nace_division=given.nace_class.str[:2])
    given_in_division = given_in_division.groupby(["plate_code", "year", "nace_division"]).turnover_try.sum()
    divisions = divisions.set_index(["plate_code", "year", "nace_division"])
    remainder = (divisions.turnover_try - given_in_division.reindex(divisions.index).fillna(0)).clip(lower=0)
    employment = facts.rename(columns={"region_code": "plate_code", "sector_code": "nace_class"})
    employment = employment[employment.employment.gt(0)].astype({"plate_code": "int64"})
    employment = employment.assign(nace_division=employment.nace_class.str[:2])
    employment = employment.merge(given[["plate_code", "year", "nace_class"]], how="left", indicator=True)
    employment = employment[employment["_merge"].eq("left_only")]
    share = employment.employment / employment.groupby(["plate_code", "year", "nace_division"]).employment.transform(
        "sum"
    )
    spread = employment.assign(share=share).join(
        remainder.rename("division_turnover"), on=["plate_code", "year", "nace_division"], how="inner"
    )
    spread = spread.assign(turnover_try=spread.share * spread.division_turnover)
    return pd.concat([given[columns], spread[columns]], ignore_index=True)


def size_basis(registry: pd.DataFrame, agency_turnover: pd.DataFrame) -> pd.DataFrame:
    """Per province, the turnover behind its size comparison and where it comes from: the
    registry's where its member list gives turnover, else the agency's, else none (the
    comparison is then by employment). Columns plate_code, nace_class, turnover_try, size_basis."""
    registry_turnover = registry[["plate_code", "nace_class", "turnover_try"]].dropna()
    registry_turnover = registry_turnover[registry_turnover.turnover_try.gt(0)].astype({"plate_code": "int64"})
    agency = agency_turnover[~agency_turnover.plate_code.isin(registry_turnover.plate_code)]
    agency = agency[agency.turnover_try.notna()]
    return pd.concat(
        [
            registry_turnover.assign(size_basis="turnover_registry"),
            agency.assign(size_basis="turnover_agency").astype({"plate_code": "int64"}),
        ],
        ignore_index=True,
    )


def turnover_usd(turnover: pd.DataFrame, usd_try: pd.Series, year: int) -> pd.DataFrame:
    """Turnover (TRY; the registry's latest snapshot or the agency's figure) in USD at the
    year's average rate, as the reference year's ``turnover`` fact, so that export intensity
    compares like with like."""
    if year not in usd_try.index:
        raise InputDataError(f"no USD/TRY rate for {year} in data/reference/usd_try_rates.csv")
    frame = turnover[["plate_code", "nace_class", "turnover_try"]].dropna()
    return pd.DataFrame(
        {
            "region_code": frame.plate_code,
            "sector_code": frame.nace_class,
            "year": year,
            "turnover": frame.turnover_try / usd_try[year],
        }
    )


def candidate_table(
    indicators: pd.DataFrame,
    registry: pd.DataFrame,
    agency: pd.DataFrame,
    provinces: pd.DataFrame,
    year: int | list[int],
    turnover: pd.DataFrame,
) -> pd.DataFrame:
    """One row per province x NACE class present (employment > 0) in ``year`` (or in each of a
    list of years, the features the same in each), with every indicator and feature that scoring
    reads; ``turnover_try`` and ``size_basis`` from ``turnover`` (see ``size_basis``): a province
    without turnover compares by employment."""
    current = indicators[indicators.year.isin(np.atleast_1d(year)) & indicators.employment.gt(0)]
    current = current.rename(columns={"region_code": "plate_code"}).astype({"plate_code": "int64"})
    keys = {"nace_class": "sector_code"}
    table = current.merge(
        registry.drop(columns="turnover_try").rename(columns=keys), on=["plate_code", "sector_code"], how="left"
    )
    table = table.merge(
        turnover[["plate_code", "nace_class", "turnover_try"]].rename(columns=keys),
        on=["plate_code", "sector_code"],
        how="left",
    )
    basis = turnover.drop_duplicates("plate_code").set_index("plate_code").size_basis
    table["size_basis"] = table.plate_code.map(basis).fillna("employment")
    table = table.merge(agency.rename(columns=keys), on=["plate_code", "sector_code"], how="left")
    for column in AGENCY_COUNTS:
        table[column] = table[column].fillna(0)
    return table.merge(provinces, on="plate_code", how="left")
