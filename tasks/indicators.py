"""Sector indicators (methodology.md §2): location quotients, focus, national share, firm size,
growth, shift-share. Plain functions over a long table of facts keyed by region, sector and
year, so they work for any region set and any sector codes, not only Turkish provinces.

Nulls are never silent: a value that cannot be computed (a zero or missing base) is null and
the row's ``null_reason`` says which indicator and why. No ``inf`` leaves this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["region_code", "sector_code", "year"]
UNIVERSE = "*"  # sector_code of national-total rows: the whole reference universe


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, null where the denominator is missing, zero or negative."""
    numerator = numerator.astype("float64")
    denominator = denominator.astype("float64")
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
    e0 = e0.astype("float64")
    return pd.DataFrame(
        {
            "shift_national": e0 * (national_growth - 1.0),
            "shift_industry_mix": e0 * (sector_growth - national_growth),
            "shift_regional": e1.astype("float64") - e0 * sector_growth,
        }
    )


def _lagged(frame: pd.DataFrame, columns: list[str], years: int, keys: list[str]) -> pd.DataFrame:
    """The values of ``columns`` ``years`` earlier, aligned to ``frame``'s rows."""
    earlier = frame[keys + columns].assign(year=frame.year + years)
    return frame[keys].merge(earlier, on=keys, how="left", suffixes=("", "_")).set_index(frame.index)[columns]


def compute_indicators(
    facts: pd.DataFrame,
    region_totals: pd.DataFrame | None = None,
    national_totals: pd.DataFrame | None = None,
    growth_years: int = 5,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Indicators per region x sector x year, and which totals were published or summed.

    ``facts``: region_code, sector_code, year, employment, establishments, optional exports.
    ``region_totals``: region_code, year, employment (+ optional establishments, exports).
    ``national_totals``: sector_code, year, employment (+ optional others); sector_code ``*``
    holds the national total of the reference universe. Published totals are used as given;
    a total that is not supplied is the sum over the facts, and the returned dict says so.
    """
    measures = [m for m in ("employment", "establishments", "exports") if m in facts]
    facts = facts.copy()
    facts["year"] = facts["year"].astype("int64")
    totals_used: dict[str, str] = {}
    region = _region_totals(facts, region_totals, measures, totals_used)
    national_sector, national_universe = _national_totals(facts, national_totals, measures, totals_used)
    out = facts.merge(region, on=["region_code", "year"], how="left")
    out = out.merge(national_sector, on=["sector_code", "year"], how="left")
    out = out.merge(national_universe, on="year", how="left")
    reasons: dict[str, pd.Series] = {}
    for measure, name in (
        ("employment", "lq_employment"),
        ("establishments", "lq_establishments"),
        ("exports", "lq_exports"),
    ):
        if measure not in measures:
            continue
        out[name] = location_quotient(
            out[measure], out[f"region_{measure}"], out[f"national_sector_{measure}"], out[f"national_{measure}"]
        )
        reasons[name] = _base_reason(
            out, [f"region_{measure}", f"national_sector_{measure}", f"national_{measure}"], measure
        )
    out["focus"] = safe_ratio(out.employment, out.region_employment)
    reasons["focus"] = _base_reason(out, ["region_employment"], "employment")
    out["national_share"] = safe_ratio(out.employment, out.national_sector_employment)
    reasons["national_share"] = _base_reason(out, ["national_sector_employment"], "employment")
    if "establishments" in measures:
        out["avg_firm_size"] = safe_ratio(out.employment, out.establishments)
        reasons["avg_firm_size"] = _base_reason(out, ["establishments"], "employment")
    out = _growth(out, measures, growth_years, reasons)
    out["null_reason"] = _join_reasons(out, reasons)
    return out.sort_values(KEYS).reset_index(drop=True), totals_used


def _region_totals(facts, supplied, measures, totals_used) -> pd.DataFrame:
    summed = facts.groupby(["region_code", "year"], as_index=False)[measures].sum(min_count=1)
    for measure in measures:
        if supplied is not None and measure in supplied:
            totals_used[f"region_{measure}"] = "published"
        else:
            totals_used[f"region_{measure}"] = "sum of regions' sectors"
    if supplied is not None:
        supplied = supplied.assign(year=supplied.year.astype("int64"))
        given = [m for m in measures if m in supplied]
        summed = summed.drop(columns=given).merge(
            supplied[["region_code", "year", *given]], on=["region_code", "year"], how="left"
        )
    return summed.rename(columns={m: f"region_{m}" for m in measures})


def _national_totals(facts, supplied, measures, totals_used) -> tuple[pd.DataFrame, pd.DataFrame]:
    sector = facts.groupby(["sector_code", "year"], as_index=False)[measures].sum(min_count=1)
    universe = facts.groupby("year", as_index=False)[measures].sum(min_count=1)
    if supplied is not None:
        supplied = supplied.assign(year=supplied.year.astype("int64"))
        given = [m for m in measures if m in supplied]
        per_sector = supplied[supplied.sector_code != UNIVERSE]
        per_universe = supplied[supplied.sector_code == UNIVERSE]
        if not per_sector.empty:
            sector = sector.drop(columns=given).merge(
                per_sector[["sector_code", "year", *given]], on=["sector_code", "year"], how="left"
            )
        if not per_universe.empty:
            universe = universe.drop(columns=given).merge(per_universe[["year", *given]], on="year", how="left")
    for measure in measures:
        given = supplied is not None and measure in supplied
        totals_used[f"national_sector_{measure}"] = (
            "published" if given and (supplied.sector_code != UNIVERSE).any() else "sum over regions"
        )
        totals_used[f"national_{measure}"] = (
            "published" if given and (supplied.sector_code == UNIVERSE).any() else "sum over regions and sectors"
        )
    sector = sector.rename(columns={m: f"national_sector_{m}" for m in measures})
    universe = universe.rename(columns={m: f"national_{m}" for m in measures})
    return sector, universe


def _growth(out: pd.DataFrame, measures: list[str], years: int, reasons: dict) -> pd.DataFrame:
    lag_columns = ["employment", "national_sector_employment", "national_employment"]
    if "exports" in measures:
        lag_columns.append("exports")
    earlier = _lagged(out, lag_columns, years, KEYS)
    out["employment_cagr"] = cagr(out.employment, earlier.employment, years)
    reasons["employment_cagr"] = _growth_reason(earlier.employment, years)
    out["national_sector_employment_cagr"] = cagr(
        out.national_sector_employment, earlier.national_sector_employment, years
    )
    reasons["national_sector_employment_cagr"] = _growth_reason(earlier.national_sector_employment, years)
    if "exports" in measures:
        out["exports_cagr"] = cagr(out.exports, earlier.exports, years)
        reasons["exports_cagr"] = _growth_reason(earlier.exports, years)
    shifts = shift_share(
        earlier.employment,
        out.employment,
        earlier.national_sector_employment,
        out.national_sector_employment,
        earlier.national_employment,
        out.national_employment,
    )
    for column in shifts:
        out[column] = shifts[column]
        reasons[column] = _growth_reason(earlier.employment, years)
    return out


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
