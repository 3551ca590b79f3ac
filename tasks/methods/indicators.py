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
import pyarrow as pa

from tasks.methods.classifications import cmp_classification, eco_stars, herfindahl

KEYS = ["region_code", "sector_code", "year"]


UNIVERSE = "*"  # sector_code of national-total rows: the whole reference universe


REGION_SUM = "*"  # sector_code of the region-level sums in the growth table


MEASURES = ("employment", "establishments", "exports")


@dataclass(frozen=True)
class IndicatorSet:
    """Everything the indicator stage computes from one table of facts."""

    table: pd.DataFrame  # region x sector x year
    growth: pd.DataFrame  # region x sector x year x span (sector '*' = the region's sums)
    concentration: pd.DataFrame  # sector x year: Herfindahl of regional shares
    totals_used: dict[str, str]  # which totals were published and which summed


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, null where the denominator is missing, zero or negative."""
    numerator, denominator = (pd.to_numeric(s).astype("float64") for s in (numerator, denominator))
    numerator, denominator = numerator.align(denominator)
    top, bottom = numerator.to_numpy(), denominator.to_numpy()
    valid = (bottom > 0) & ~np.isnan(top)
    return pd.Series(np.divide(top, bottom, out=np.full(len(top), np.nan), where=valid), index=numerator.index)


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
    reasons: dict[str, pd.Categorical] = {}
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
    cells = pd.MultiIndex.from_frame(out[KEYS])
    for number, span in enumerate(spans):
        rates = _growth(out, measures, span, cells)
        growth.append(pd.concat([out[KEYS], rates.drop(columns="_reason_start")], axis=1).assign(span_years=span))
        if number == 0:
            out["growth_years"] = span
            reason = _growth_reason(rates["_reason_start"], span)
            for column in rates.columns.drop("_reason_start"):
                out[column] = rates[column]
                reasons[column] = reason
    ranked = out[[*KEYS, *measures, "lq_employment"]]  # the columns the CMP reads (it sorts what it is given)
    out = out.join(cmp_classification(ranked)).join(eco_stars(out, facts))
    out["null_reason"] = _join_reasons(out, reasons)
    growth_table = _with_region_sums(pd.concat(growth, ignore_index=True), out, spans)
    return IndicatorSet(
        out.sort_values(KEYS).reset_index(drop=True),
        growth_table,
        herfindahl(out[["sector_code", "year", "employment"]], facts),
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


def _lagged(frame: pd.DataFrame, columns: list[str], years: int, cells: pd.MultiIndex) -> pd.DataFrame:
    """The values of ``columns`` ``years`` earlier, aligned to ``frame``'s rows; ``cells`` is
    the rows' (region, sector, year), whose codes the earlier years reuse."""
    earlier = cells.set_levels(cells.levels[-1] - years, level=-1)
    return frame[columns].set_axis(cells).reindex(earlier).set_axis(frame.index)


def _growth(out: pd.DataFrame, measures: list[str], span: int, cells: pd.MultiIndex) -> pd.DataFrame:
    """CAGRs and shift-share between year - span and year, for every row (``cells``: its keys)."""
    lag_columns = ["employment", "national_sector_employment", "national_employment"]
    lag_columns += ["exports"] if "exports" in measures else []
    earlier = _lagged(out, lag_columns, span, cells)
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


def _base_reason(out: pd.DataFrame, bases: list[str], value: str) -> pd.Categorical:
    """Why an indicator of ``value`` over ``bases`` would be null, the first that holds: the
    value missing, then per base in order its missing or being zero or negative; else null."""
    conditions, reasons = [out[value].isna()], [f"{value} missing"]
    for base in bases:
        conditions += [out[base].isna(), out[base].le(0)]
        reasons += [f"{base} missing", f"{base} is zero or negative"]
    return _first_reason(conditions, reasons)


def _growth_reason(start: pd.Series, years: int) -> pd.Categorical:
    """Why a growth figure over ``years`` would be null: no start value, or a zero one; else null."""
    return _first_reason(
        [start.isna(), start.le(0)], [f"no value {years} years earlier", f"value {years} years earlier is zero"]
    )


def _first_reason(conditions: list[pd.Series], reasons: list[str]) -> pd.Categorical:
    """Per row, the reason of the first condition that holds (null where none does)."""
    masks = [condition.to_numpy(dtype=bool, na_value=False) for condition in conditions]
    return pd.Categorical.from_codes(np.select(masks, range(len(reasons)), -1), categories=reasons)


def _join_reasons(out: pd.DataFrame, reasons: dict[str, pd.Categorical]) -> pd.Series:
    """Per row, ``indicator: reason`` of each null indicator with a reason, in the order of
    ``reasons``, joined by '; '; null where there is none. Rows share few combinations of
    reasons: each combination's text is made once, then taken for its rows."""
    combination = np.zeros(len(out), dtype="int64")  # the rows' combinations so far, numbered
    texts = np.array([""], dtype=object)  # the text of each combination
    for name, reason in reasons.items():
        values = np.where(out[name].isna().to_numpy(), reason.codes, -1)  # shown for null values only
        causes, width = reason.categories, len(reason.categories) + 1
        combination, pairs = pd.factorize(combination * width + values + 1)
        before, cause = texts[pairs // width], pairs % width - 1
        part = np.array([f"{name}: {causes[c]}" if c >= 0 else "" for c in cause], dtype=object)
        texts = np.where(part == "", before, np.where(before == "", part, before + "; " + part))
    texts = pa.array(np.where(texts == "", None, texts), type=pa.large_string())
    return pd.Series(texts.take(combination), index=out.index, dtype="str")
