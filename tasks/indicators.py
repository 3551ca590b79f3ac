"""Sector indicators and public classifications (methodology.md §2-§3): location quotients
(Balassa's RCA on exports), focus, national share, firm size, export intensity, CAGR over any
spans, Dunn shift-share, Herfindahl and Ellison-Glaeser concentration, the US Cluster Mapping
Project's flags and the European Cluster Observatory's stars.

Plain functions over a long table of facts keyed by region, sector and year, so they work for
any region set and any sector codes, not only Turkish provinces. Nulls are never silent: a
value that cannot be computed (a zero or missing base, one region, one plant) is null and the
row's ``null_reason`` says which indicator and why. No ``inf`` leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

KEYS = ["region_code", "sector_code", "year"]
UNIVERSE = "*"  # sector_code of national-total rows: the whole reference universe
REGION_SUM = "*"  # sector_code of the region-level sums in the growth table
MEASURES = ("employment", "establishments", "exports")
ECO_TOP_SHARE = 0.10  # European Cluster Observatory: top 10 % of regions
ECO_SPECIALISATION_LQ = 2.0


@dataclass(frozen=True)
class IndicatorSet:
    """Everything the indicator stage computes from one table of facts."""

    table: pd.DataFrame  # region x sector x year
    growth: pd.DataFrame  # region x sector x year x span (sector '*' = the region's sums)
    concentration: pd.DataFrame  # sector x year: Herfindahl of regional shares
    totals_used: dict[str, str]  # which totals were published and which summed


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, null where the denominator is missing, zero or negative."""
    numerator = pd.to_numeric(numerator).astype("float64")
    denominator = pd.to_numeric(denominator).astype("float64")
    valid = denominator.gt(0) & numerator.notna()
    return (numerator / denominator.where(valid)).where(valid)


def location_quotient(value, region_total, national_sector, national_total) -> pd.Series:
    """LQ = (value / region_total) / (national_sector / national_total); null on a bad base."""
    return safe_ratio(safe_ratio(value, region_total), safe_ratio(national_sector, national_total))


def cagr(end: pd.Series, start: pd.Series, years: int) -> pd.Series:
    """Compound annual growth (end / start)^(1/years) - 1; null when start <= 0 or missing."""
    ratio = safe_ratio(end, start)
    return np.power(ratio.where(ratio.ge(0)), 1.0 / years) - 1.0


def shift_share(e0, e1, n0, n1, total0, total1) -> pd.DataFrame:
    """Dunn shift-share of the change e1 - e0 into national share, industry mix and regional
    shift; NS + IM + RS = e1 - e0 exactly wherever all three are defined."""
    national_growth = safe_ratio(total1, total0)
    sector_growth = safe_ratio(n1, n0)
    e0 = pd.to_numeric(e0).astype("float64")
    return pd.DataFrame(
        {
            "shift_national": e0 * (national_growth - 1.0),
            "shift_industry_mix": e0 * (sector_growth - national_growth),
            "shift_regional": pd.to_numeric(e1).astype("float64") - e0 * sector_growth,
        }
    )


def compute_indicators(
    facts: pd.DataFrame,
    region_totals: pd.DataFrame | None = None,
    national_totals: pd.DataFrame | None = None,
    growth_spans: Iterable[int] = (5,),
    universe: Iterable[str] | None = None,
) -> IndicatorSet:
    """Indicators per region x sector x year.

    ``facts``: region_code, sector_code, year, employment, establishments; optional exports,
    turnover (same currency as exports), sector_name. ``region_totals``: region_code, year,
    employment (+ optional establishments, exports). ``national_totals``: sector_code, year,
    employment (+ optional others); sector_code ``*`` is the national total of the reference
    universe. Published totals are used as given; a total not supplied is summed, and
    ``totals_used`` says which. ``universe``: the sector codes whose sum is the reference
    universe (default: every sector in the facts). The first growth span is the primary one,
    whose CAGR and shift-share columns are in the main table.
    """
    spans = list(dict.fromkeys(int(s) for s in growth_spans))
    if not spans or min(spans) < 1:
        raise ValueError("growth spans must be whole numbers of years >= 1")
    measures = [m for m in MEASURES if m in facts]
    facts = facts.copy()
    facts["year"] = facts["year"].astype("int64")
    universe_set = set(universe) if universe is not None else None
    totals_used: dict[str, str] = {}
    region = _region_totals(facts, region_totals, measures, universe_set, totals_used)
    national_sector, national_universe = _national_totals(facts, national_totals, measures, universe_set, totals_used)
    out = facts.merge(region, on=["region_code", "year"], how="left")
    out = out.merge(national_sector, on=["sector_code", "year"], how="left")
    out = out.merge(national_universe, on="year", how="left")
    reasons: dict[str, pd.Series] = {}
    for measure in measures:
        name = f"lq_{measure}"
        bases = [f"region_{measure}", f"national_sector_{measure}", f"national_{measure}"]
        out[name] = location_quotient(out[measure], *(out[b] for b in bases))
        reasons[name] = _base_reason(out, bases, measure)
    out["focus"] = safe_ratio(out.employment, out.region_employment)
    reasons["focus"] = _base_reason(out, ["region_employment"], "employment")
    out["national_share"] = safe_ratio(out.employment, out.national_sector_employment)
    reasons["national_share"] = _base_reason(out, ["national_sector_employment"], "employment")
    if "establishments" in measures:
        out["avg_firm_size"] = safe_ratio(out.employment, out.establishments)
        reasons["avg_firm_size"] = _base_reason(out, ["establishments"], "employment")
    if "exports" in measures and "turnover" in out:
        out["export_intensity"] = safe_ratio(out.exports, out.turnover)
        reasons["export_intensity"] = _base_reason(out, ["turnover"], "exports")
    growth = []
    for number, span in enumerate(spans):
        rates = _growth(out, measures, span)
        growth.append(pd.concat([out[KEYS], rates.drop(columns="_reason_start")], axis=1).assign(span_years=span))
        if number == 0:
            out["growth_years"] = span
            for column in rates.columns.drop("_reason_start"):
                out[column] = rates[column]
                reasons[column] = _growth_reason(rates["_reason_start"], span)
    out = out.join(cmp_classification(out)).join(eco_stars(out, facts))
    out["null_reason"] = _join_reasons(out, reasons)
    growth_table = _with_region_sums(pd.concat(growth, ignore_index=True), out, spans)
    return IndicatorSet(
        out.sort_values(KEYS).reset_index(drop=True),
        growth_table,
        herfindahl(out, facts),
        totals_used,
    )


def _region_totals(facts, supplied, measures, universe, totals_used) -> pd.DataFrame:
    in_universe = facts if universe is None else facts[facts.sector_code.isin(universe)]
    summed = in_universe.groupby(["region_code", "year"], as_index=False)[measures].sum(min_count=1)
    summed = facts[["region_code", "year"]].drop_duplicates().merge(summed, on=["region_code", "year"], how="left")
    given = [m for m in measures if supplied is not None and m in supplied]
    if given:
        supplied = supplied.assign(year=supplied.year.astype("int64"))
        summed = _prefer_published(summed, supplied[["region_code", "year", *given]], ["region_code", "year"], given)
    for measure in measures:
        totals_used[f"region_{measure}"] = (
            "published" if measure in given else "sum of the region's sectors in the universe"
        )
    return summed.rename(columns={m: f"region_{m}" for m in measures})


def _national_totals(facts, supplied, measures, universe, totals_used) -> tuple[pd.DataFrame, pd.DataFrame]:
    sector = facts.groupby(["sector_code", "year"], as_index=False)[measures].sum(min_count=1)
    given = [m for m in measures if supplied is not None and m in supplied]
    per_universe = pd.DataFrame()
    if given:
        supplied = supplied.assign(year=supplied.year.astype("int64"), sector_code=supplied.sector_code.astype(str))
        per_sector = supplied[supplied.sector_code != UNIVERSE]
        per_universe = supplied[supplied.sector_code == UNIVERSE]
        if not per_sector.empty:
            sector = _prefer_published(
                sector, per_sector[["sector_code", "year", *given]], ["sector_code", "year"], given
            )
    in_universe = sector if universe is None else sector[sector.sector_code.isin(universe)]
    total = in_universe.groupby("year", as_index=False)[measures].sum(min_count=1)
    if not per_universe.empty:
        total = _prefer_published(total, per_universe[["year", *given]], ["year"], given)
    for measure in measures:
        published_sector = measure in given and supplied is not None and (supplied.sector_code != UNIVERSE).any()
        published_total = measure in given and not per_universe.empty
        totals_used[f"national_sector_{measure}"] = "published" if published_sector else "sum over regions"
        totals_used[f"national_{measure}"] = (
            "published" if published_total else "sum of the national sector totals over the universe"
        )
    sector = sector.rename(columns={m: f"national_sector_{m}" for m in measures})
    total = total.rename(columns={m: f"national_{m}" for m in measures})
    return sector, total


def _prefer_published(summed: pd.DataFrame, published: pd.DataFrame, keys: list[str], columns: list[str]):
    """Published values where given; the sums only where a published value is absent."""
    merged = summed.merge(published, on=keys, how="outer", suffixes=("", "_published"))
    for column in columns:
        merged[column] = merged[f"{column}_published"].combine_first(merged[column])
    return merged.drop(columns=[f"{c}_published" for c in columns])


def _lagged(frame: pd.DataFrame, columns: list[str], years: int, keys: list[str]) -> pd.DataFrame:
    """The values of ``columns`` ``years`` earlier, aligned to ``frame``'s rows."""
    earlier = frame[keys + columns].assign(year=frame.year + years)
    aligned = frame[keys].merge(earlier, on=keys, how="left", suffixes=("", "_earlier"))
    return aligned.set_index(frame.index)[columns]


def _growth(out: pd.DataFrame, measures: list[str], span: int) -> pd.DataFrame:
    """CAGRs and shift-share between year - span and year, for every row."""
    lag_columns = ["employment", "national_sector_employment", "national_employment"]
    lag_columns += ["exports"] if "exports" in measures else []
    earlier = _lagged(out, lag_columns, span, KEYS)
    rates = pd.DataFrame(index=out.index)
    rates["employment_cagr"] = cagr(out.employment, earlier.employment, span)
    rates["national_sector_employment_cagr"] = cagr(
        out.national_sector_employment, earlier.national_sector_employment, span
    )
    if "exports" in measures:
        rates["exports_cagr"] = cagr(out.exports, earlier.exports, span)
    shifts = shift_share(
        earlier.employment,
        out.employment,
        earlier.national_sector_employment,
        out.national_sector_employment,
        earlier.national_employment,
        out.national_employment,
    )
    rates = rates.join(shifts)
    rates["_reason_start"] = earlier.employment
    return rates


def _with_region_sums(growth: pd.DataFrame, table: pd.DataFrame, spans: list[int]) -> pd.DataFrame:
    """Append, per region, year and span, the sums of the shift-share components (sector '*')
    and the CAGR of the region's total employment."""
    sums = growth.groupby(["region_code", "year", "span_years"], as_index=False)[
        ["shift_national", "shift_industry_mix", "shift_regional"]
    ].sum(min_count=1)
    region_total = table[["region_code", "year", "region_employment"]].drop_duplicates(["region_code", "year"])
    frames = []
    for span in spans:
        lagged = region_total.assign(year=region_total.year + span).rename(columns={"region_employment": "start"})
        part = sums[sums.span_years == span].merge(region_total, on=["region_code", "year"], how="left")
        part = part.merge(lagged, on=["region_code", "year"], how="left")
        part["employment_cagr"] = cagr(part.region_employment, part.start, span)
        frames.append(part.drop(columns=["region_employment", "start"]))
    region_rows = pd.concat(frames, ignore_index=True).assign(sector_code=REGION_SUM)
    growth = pd.concat([growth, region_rows], ignore_index=True)
    return growth.sort_values(["region_code", "sector_code", "year", "span_years"]).reset_index(drop=True)


def percentile_rank_cmp(values: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """US CMP percentile rank: the i-th (from 0) of n sorted values gets round(100/n * (i + 0.5)),
    rounding halves up; ties keep the order of the rows (sorted by region beforehand)."""
    order = values.groupby(groups).rank(method="first") - 1
    size = values.groupby(groups).transform("count")
    return np.floor(100.0 / size * (order + 0.5) + 0.5).astype("Int64").where(values.notna())


def cmp_classification(table: pd.DataFrame) -> pd.DataFrame:
    """US Cluster Mapping Project flags and percentile ranks per sector and year, over the
    regions with employment > 0 (quantiles by linear interpolation, numpy's default / R type 7).
    Rows outside that set are not clusters (False); rows whose LQ cannot be computed are null."""
    ranked = table.sort_values(["sector_code", "year", "region_code"])
    data = ranked[ranked.employment.gt(0) & ranked.lq_employment.notna()]
    groups = [data.sector_code, data.year]
    lq = data.lq_employment
    p = _group_quantiles(data, "lq_employment", (0.25, 0.5, 0.75, 0.9))
    size_ok = data.employment > _group_quantiles(data, "employment", (0.25,))[0.25]
    if "establishments" in data:
        size_ok &= data.establishments > _group_quantiles(data, "establishments", (0.25,))[0.25]
    flags = pd.DataFrame(index=data.index)
    flags["cmp_qualifying"] = (lq > p[0.25]) & size_ok
    flags["cmp_significant"] = (lq > p[0.5]) & size_ok
    flags["cmp_strong"] = (lq >= p[0.75]) & lq.ge(1) & size_ok
    flags["cmp_strong10"] = (lq >= p[0.9]) & lq.ge(1) & size_ok
    flags["cmp_lq_percentile"] = percentile_rank_cmp(lq, groups)
    flags["cmp_employment_percentile"] = percentile_rank_cmp(data.employment, groups)
    if "establishments" in data:
        flags["cmp_establishments_percentile"] = percentile_rank_cmp(data.establishments, groups)
    flags = flags.reindex(table.index)
    no_employment = ~table.employment.gt(0)
    for column in ("cmp_qualifying", "cmp_significant", "cmp_strong", "cmp_strong10"):
        flags[column] = flags[column].astype("boolean").mask(no_employment, False)
    return flags


def _group_quantiles(data: pd.DataFrame, column: str, qs: tuple[float, ...]) -> dict[float, pd.Series]:
    """Per sector and year, the quantiles of ``column`` (linear interpolation), row-aligned."""
    table = data.groupby(["sector_code", "year"])[column].quantile(list(qs)).unstack()
    index = pd.MultiIndex.from_arrays([data.sector_code, data.year])
    return {q: pd.Series(table[q].reindex(index).to_numpy(), index=data.index) for q in qs}


def eco_stars(table: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """European Cluster Observatory stars: size (top 10 % of the regions by employment in the
    sector), specialisation (LQ >= 2), focus (top 10 % by employment / region total); 0-3."""
    regions = facts.groupby("year").region_code.nunique()
    top = np.floor(table.year.map(regions) * ECO_TOP_SHARE).clip(lower=1)
    groups = [table.sector_code, table.year]
    by_size = table.employment.where(table.employment.gt(0)).groupby(groups).rank(ascending=False, method="min")
    by_focus = table.focus.where(table.employment.gt(0)).groupby(groups).rank(ascending=False, method="min")
    stars = pd.DataFrame(index=table.index)
    stars["eco_size_star"] = by_size.le(top).astype("boolean")
    stars["eco_specialisation_star"] = (
        table.lq_employment.ge(ECO_SPECIALISATION_LQ).astype("boolean").where(table.lq_employment.notna(), pd.NA)
    )
    stars["eco_focus_star"] = (
        by_focus.le(top).astype("boolean").where(table.focus.notna() | table.employment.le(0), pd.NA)
    )
    stars["eco_stars"] = (
        stars[["eco_size_star", "eco_specialisation_star", "eco_focus_star"]].astype("Int64").sum(axis=1, min_count=3)
    )
    return stars


def herfindahl(table: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Per sector and year, the Herfindahl index of the regions' shares of the sector's
    employment and its normalised form H* = (H - 1/n) / (1 - 1/n), n = regions in the set."""
    regions = facts.groupby("year").region_code.nunique().rename("regions")
    present = table[table.employment.gt(0)]
    shares = present.employment / present.groupby(["sector_code", "year"]).employment.transform("sum")
    h = (shares**2).groupby([present.sector_code, present.year]).sum().rename("herfindahl").reset_index()
    h = h.merge(regions.reset_index(), on="year", how="left")
    n = h.regions.astype("float64")
    h["herfindahl_normalised"] = ((h.herfindahl - 1 / n) / (1 - 1 / n)).where(n.gt(1))
    h["null_reason"] = np.where(n.gt(1), None, "herfindahl_normalised: one region in the set")
    return h.sort_values(["sector_code", "year"]).reset_index(drop=True)


def ellison_glaeser(plants: pd.DataFrame) -> pd.DataFrame:
    """Ellison-Glaeser gamma per sector from plant-level employment (firm registries).

    ``plants``: region_code, sector_code, employees. s_r is the region's share of the sector,
    x_r its share of all plants' employment, H_p the Herfindahl of the sector's plant shares:
    gamma = (G - (1 - sum x^2) H_p) / ((1 - sum x^2)(1 - H_p)), G = sum (s_r - x_r)^2. Null with a
    reason for one plant (H_p = 1) or one region (sum x^2 = 1).
    """
    plants = plants[plants.employees.gt(0)]
    x = plants.groupby("region_code").employees.sum()
    x = x / x.sum()
    sum_x2 = float((x**2).sum())
    rows = []
    for sector, group in plants.groupby("sector_code"):
        total = group.employees.sum()
        s = group.groupby("region_code").employees.sum() / total
        g = float(((s.reindex(x.index, fill_value=0) - x) ** 2).sum())
        h_plants = float(((group.employees / total) ** 2).sum())
        reason = None
        if np.isclose(h_plants, 1.0):
            reason = "eg_gamma: one plant (H_p = 1)"
        elif np.isclose(sum_x2, 1.0):
            reason = "eg_gamma: one region"
        gamma = None if reason else (g - (1 - sum_x2) * h_plants) / ((1 - sum_x2) * (1 - h_plants))
        rows.append(
            {
                "sector_code": sector,
                "eg_gamma": gamma,
                "eg_plant_herfindahl": h_plants,
                "eg_plants": len(group),
                "eg_regions": int(x.size),
                "eg_null_reason": reason,
            }
        )
    columns = ["sector_code", "eg_gamma", "eg_plant_herfindahl", "eg_plants", "eg_regions", "eg_null_reason"]
    return pd.DataFrame(rows, columns=columns)


def _base_reason(out: pd.DataFrame, bases: list[str], value: str) -> pd.Series:
    reason = pd.Series(None, index=out.index, dtype="object")
    reason = reason.mask(out[value].isna(), f"{value} missing")
    for base in bases:
        reason = reason.mask(reason.isna() & out[base].isna(), f"{base} missing")
        reason = reason.mask(reason.isna() & out[base].le(0), f"{base} is zero or negative")
    return reason


def _growth_reason(start: pd.Series, years: int) -> pd.Series:
    reason = pd.Series(None, index=start.index, dtype="object")
    reason = reason.mask(start.isna(), f"no value {years} years earlier")
    return reason.mask(start.le(0), f"value {years} years earlier is zero")


def _join_reasons(out: pd.DataFrame, reasons: dict[str, pd.Series]) -> pd.Series:
    joined = pd.Series("", index=out.index, dtype="object")
    for name, reason in reasons.items():
        part = (name + ": " + reason).where(out[name].isna() & reason.notna(), "")
        separator = pd.Series(np.where(joined.ne("") & part.ne(""), "; ", ""), index=out.index)
        joined = joined + separator + part
    return joined.where(joined.ne(""), None)
