"""Classifications of province x sector cells: the Cluster Mapping Project's strong clusters,
the European Cluster Observatory's stars, and concentration indices (Herfindahl,
Ellison-Glaeser) (methodology.md §2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

ECO_TOP_SHARE = 0.10  # European Cluster Observatory: top 10 % of regions


ECO_SPECIALISATION_LQ = 2.0


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
    groups = [data.groupby(["sector_code", "year"]).ngroup()]  # numbered once, not per grouping
    lq = data.lq_employment
    p = _group_quantiles(data.lq_employment, groups[0], (0.25, 0.5, 0.75, 0.9))
    size_ok = data.employment > _group_quantiles(data.employment, groups[0], (0.25,))[0.25]
    if "establishments" in data:
        size_ok &= data.establishments > _group_quantiles(data.establishments, groups[0], (0.25,))[0.25]
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


def _group_quantiles(values: pd.Series, group: pd.Series, qs: tuple[float, ...]) -> dict[float, pd.Series]:
    """Per group (``group``: each row's number, 0..n-1), the quantiles of ``values`` (linear
    interpolation), row-aligned."""
    table = values.groupby(group).quantile(list(qs)).unstack()
    return {q: pd.Series(table[q].to_numpy()[group.to_numpy()], index=values.index) for q in qs}


def eco_stars(table: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """European Cluster Observatory stars: size (top 10 % of the regions by employment in the
    sector), specialisation (LQ >= 2), focus (top 10 % by employment / region total); 0-3."""
    regions = facts.groupby("year").region_code.nunique()
    top = np.floor(table.year.map(regions) * ECO_TOP_SHARE).clip(lower=1)
    groups = table.groupby(["sector_code", "year"]).ngroup()  # numbered once, not per ranking
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

    Every sector at once: the sector x region sums in one grouping, each sector's sums over
    its plants (``_segment_sums``) and over the regions as one sector's ``Series.sum`` adds them.
    """
    plants = plants[plants.employees.gt(0)]
    x = plants.groupby("region_code").employees.sum()
    x = x / x.sum()
    sum_x2 = float((x**2).sum())
    sector, sectors = pd.factorize(plants.sector_code, sort=True)
    employees = plants.employees.to_numpy(dtype="float64")
    order = np.argsort(sector, kind="stable")  # each sector's plants together, in row order
    bounds = np.searchsorted(sector[order], np.arange(len(sectors) + 1))
    total = _segment_sums(employees[order], bounds)
    h_plants = _segment_sums((employees[order] / total[sector[order]]) ** 2, bounds)
    cells = plants.groupby(["sector_code", "region_code"]).employees.sum()
    shares = np.zeros((len(sectors), len(x)))
    rows = sectors.get_indexer(cells.index.get_level_values(0))
    shares[rows, x.index.get_indexer(cells.index.get_level_values(1))] = cells.to_numpy() / total[rows]
    g = np.array([row.sum() for row in (shares - x.to_numpy()) ** 2])
    one_plant, one_region = np.isclose(h_plants, 1.0), np.isclose(sum_x2, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = (g - (1 - sum_x2) * h_plants) / ((1 - sum_x2) * (1 - h_plants))
    return pd.DataFrame(
        {
            "sector_code": sectors.to_numpy(),
            "eg_gamma": np.where(one_plant | one_region, np.nan, gamma),
            "eg_plant_herfindahl": h_plants,
            "eg_plants": np.diff(bounds).astype("int64"),
            "eg_regions": int(x.size),
            "eg_null_reason": np.where(
                one_plant, "eg_gamma: one plant (H_p = 1)", np.where(one_region, "eg_gamma: one region", None)
            ),
        }
    )


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The sum of each segment ``values[bounds[i]:bounds[i + 1]]``, each added as numpy adds one
    array (pairwise): what ``Series.sum`` gives for that segment alone, to the last bit."""
    return np.array([values[start:end].sum() for start, end in zip(bounds[:-1], bounds[1:], strict=True)])
