"""Relatedness, economic complexity and diversification opportunities (methodology.md §6).

Presence (RCA >= 1 and a minimum size, on window averages of employment), proximity
phi = C / max(u_i, u_j) with a zero diagonal (optionally leaving the region out), density,
diversity and ubiquity, ECI/PCI by the eigenvector method, complexity outlook (COI, COG), the
opportunities of each region and the related-sector strength that scoring reads.

Plain functions over numpy matrices (regions x sectors) and a long table of facts keyed by
region, sector and year, for any region set. A value that cannot be computed is null with a
reason (a sector present nowhere has no proximity; a disconnected region-sector network has no
complexity), never a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.outputs import SUPPORTS
from schemas.parameters import RelatednessParameters

_DEFAULTS = RelatednessParameters()  # the run form's defaults are the method's: one home
MIN_EMPLOYMENT = _DEFAULTS.min_employment  # §6.1: the minimum (window-average) employment of a present sector
WINDOW = _DEFAULTS.window  # §6.1: years averaged to damp flicker
RELATED_PERCENTILE = 90  # §6.7: a sector's related sectors have phi > 0 at or above this percentile of its row
EIGEN_GAP = 1e-9  # §6.4: a second eigenvalue this close to the first means a disconnected network

NO_UBIQUITY = "present in no region: no proximity, density or complexity"
NO_OTHER_REGION = "present in no other region: no proximity without this region (leave-one-out)"
DISCONNECTED = (
    "the region-sector network is disconnected (second eigenvalue equals the first): complexity is not defined"
)
NO_SECOND = "the region-sector network has no second dimension (second eigenvalue 0): complexity is not defined"
NO_DIVERSITY = "no sector present: no ECI"
NO_RELATED = "never present with another sector (its proximities are all 0): no density, no related sectors"
NO_RELATED_EMPLOYMENT = "its related sectors have no employment in the universe"


def revealed_comparative_advantage(employment: np.ndarray) -> np.ndarray:
    """RCA(r,s) = (x_rs / x_r) / (x_s / x) on the matrix's own totals, computed as
    x_rs * x / (x_r * x_s) so that a ratio of exactly 1 is exactly 1.0 (§6.1's >= 1 boundary);
    null where the region or the sector has no employment."""
    employment = np.asarray(employment, dtype="float64")
    region = employment.sum(axis=1, keepdims=True)
    sector = employment.sum(axis=0, keepdims=True)
    base = region * sector
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, employment * employment.sum() / np.where(base > 0, base, 1.0), np.nan)


def presence(employment: np.ndarray, min_employment: float = MIN_EMPLOYMENT) -> np.ndarray:
    """M(r,s) = 1 where RCA >= 1 (a value of exactly 1 is present) and employment >= the minimum."""
    rca = revealed_comparative_advantage(employment)
    return ((np.nan_to_num(rca) >= 1.0) & (np.asarray(employment) >= min_employment)).astype("int8")


def co_occurrence(present: np.ndarray) -> np.ndarray:
    """C = M'M: the number of regions where both sectors are present (diagonal = ubiquity)."""
    matrix = np.asarray(present, dtype="float64")
    return matrix.T @ matrix


def proximity(present: np.ndarray) -> np.ndarray:
    """phi(i,j) = C(i,j) / max(u(i), u(j)), diagonal 0 (a sector is not its own neighbour);
    null in the rows and columns of sectors present nowhere (u = 0)."""
    return _proximity(co_occurrence(present), np.asarray(present).sum(axis=0).astype("float64"))


def _proximity(cooccurrence: np.ndarray, ubiquity: np.ndarray) -> np.ndarray:
    larger = np.maximum(ubiquity[:, None], ubiquity[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(larger > 0, cooccurrence / np.where(larger > 0, larger, 1.0), 0.0)
    np.fill_diagonal(phi, 0.0)
    absent = ubiquity <= 0
    phi[absent, :] = np.nan
    phi[:, absent] = np.nan
    return phi


def proximity_leave_one_out(present: np.ndarray) -> np.ndarray:
    """phi computed without each region in turn: regions x sectors x sectors. C and u lose the
    region's own presence, so a region's density never counts itself (§6.2)."""
    present = np.asarray(present, dtype="float64")
    cooccurrence = co_occurrence(present)
    ubiquity = present.sum(axis=0)
    return np.stack([_proximity(cooccurrence - np.outer(row, row), ubiquity - row) for row in present])


def density(present: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """omega(r,s) = sum_j M(r,j) phi(s,j) / sum_j phi(s,j), in [0, 1]; ``phi`` is sectors x
    sectors, or regions x sectors x sectors (leave-one-out). Null where phi is null (a sector
    present nowhere) and where the sector's proximities are all 0 (0 / 0: never present with
    another sector)."""
    present = np.asarray(present, dtype="float64")
    if phi.ndim == 2:
        numerator = present @ np.nan_to_num(phi).T
        denominator = np.broadcast_to(np.nansum(phi, axis=1), numerator.shape)
        undefined = np.broadcast_to(np.isnan(phi).all(axis=1), numerator.shape)
    else:
        numerator = np.einsum("rj,rsj->rs", present, np.nan_to_num(phi))
        denominator = np.nansum(phi, axis=2)
        undefined = np.isnan(phi).all(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        omega = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)
    return np.where(undefined, np.nan, without_kernel_noise(omega))


KERNEL_DECIMALS = 12  # the digits of a product of matrices that are the data's, not the CPU's


def without_kernel_noise(values: np.ndarray) -> np.ndarray:
    """``values`` (a product of matrices, a density or a COG) to ``KERNEL_DECIMALS`` decimals. The
    BLAS kernels a CPU gets (AVX2 or AVX-512) sum in different orders, so such figures differ
    in their last digits from one machine to another (seen: ~1e-16 on a density, ~1e-14 on a
    COG): equal figures, such as those of two sectors present in the same regions, must tie
    on every machine, not be ordered by that noise."""
    return np.round(values, KERNEL_DECIMALS)


@dataclass(frozen=True)
class Complexity:
    """The eigenvector method's results for one region x sector presence matrix (§6.4)."""

    diversity: np.ndarray  # k(r,0), per region
    ubiquity: np.ndarray  # k(s,0), per sector
    eci: np.ndarray  # per region; null where not defined
    pci: np.ndarray  # per sector, on the ECI's scale
    eigenvalues: np.ndarray  # of the regions' matrix, largest first
    region_reasons: list[str | None]
    sector_reasons: list[str | None]


def complexity(present: np.ndarray) -> Complexity:
    """ECI and PCI. M~ = D_r^-1 M D_s^-1 M' (regions x regions, row-stochastic): ECI is the
    eigenvector of its second-largest eigenvalue, standardised (mean 0, sd 1 over the regions,
    population sd), its sign chosen so that corr(ECI, diversity) > 0. PCI is the same
    eigenvector of the sectors' matrix D_s^-1 M' D_r^-1 M, scaled so that D_r^-1 M PCI_raw =
    ECI_raw and standardised with the regions' mean and sd: ECI(r) is then the mean PCI of the
    sectors present in r. Regions with no sector and sectors present nowhere are left out (null);
    a second eigenvalue within 1e-9 of the first (a disconnected network) leaves all null."""
    present = np.asarray(present, dtype="float64")
    diversity, ubiquity = present.sum(axis=1), present.sum(axis=0)
    regions, sectors = diversity > 0, ubiquity > 0
    eci = np.full(len(diversity), np.nan)
    pci = np.full(len(ubiquity), np.nan)
    region_reasons: list[str | None] = [None if r else NO_DIVERSITY for r in regions]
    sector_reasons: list[str | None] = [None if s else NO_UBIQUITY for s in sectors]
    matrix = present[np.ix_(regions, sectors)]
    if matrix.shape[0] < 2:
        return Complexity(diversity, ubiquity, eci, pci, np.ones(matrix.shape[0]), *_all(NO_SECOND, regions, sectors))
    # the symmetric form D_r^-1/2 M D_s^-1 M' D_r^-1/2 has M~'s eigenvalues, and real ones
    root = 1.0 / np.sqrt(diversity[regions])
    symmetric = (root[:, None] * matrix / ubiquity[sectors]) @ (matrix.T * root[None, :])
    values, vectors = np.linalg.eigh(symmetric)
    values, vectors = values[::-1], vectors[:, ::-1]
    if values[0] - values[1] < EIGEN_GAP:
        return Complexity(diversity, ubiquity, eci, pci, values, *_all(DISCONNECTED, regions, sectors))
    if values[1] <= EIGEN_GAP:
        return Complexity(diversity, ubiquity, eci, pci, values, *_all(NO_SECOND, regions, sectors))
    eci_raw = root * vectors[:, 1]  # an eigenvector of M~ itself
    pci_raw = (matrix.T @ eci_raw) / ubiquity[sectors] / values[1]
    sign = _sign(eci_raw, diversity[regions], matrix, ubiquity[sectors])
    mean, sd = eci_raw.mean(), eci_raw.std()
    eci[regions] = sign * (eci_raw - mean) / sd
    pci[sectors] = sign * (pci_raw - mean) / sd
    return Complexity(diversity, ubiquity, eci, pci, values, region_reasons, sector_reasons)


def _all(reason: str, regions: np.ndarray, sectors: np.ndarray) -> tuple[list[str], list[str]]:
    return [reason if r else NO_DIVERSITY for r in regions], [reason if s else NO_UBIQUITY for s in sectors]


def _sign(eci_raw: np.ndarray, diversity: np.ndarray, matrix: np.ndarray, ubiquity: np.ndarray) -> float:
    """+1 or -1 so that ECI rises with diversity; where diversity does not vary, so that it
    falls with the mean ubiquity of the region's sectors (complex regions hold rare sectors)."""
    for reference, direction in ((diversity, 1.0), ((matrix @ ubiquity) / diversity, -1.0)):
        if np.ptp(reference) > 0 and np.ptp(eci_raw) > 0:
            correlation = np.corrcoef(eci_raw, reference)[0, 1]
            if abs(correlation) > 1e-12:
                return float(np.sign(correlation) * direction)
    return 1.0


def outlook(present: np.ndarray, phi: np.ndarray, omega: np.ndarray, pci: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COI(r) = sum_s omega(r,s) (1 - M(r,s)) PCI(s) and COG(r,s) = (1 - M(r,s)) sum_j
    (1 - M(r,j)) PCI(j) phi(j,s) / sum_k phi(j,k), with PCI on the ECI's scale (§6.5). Sectors
    without PCI or proximity add nothing; both are null when complexity is not defined."""
    absent = 1.0 - np.asarray(present, dtype="float64")
    if np.isnan(pci).all():
        return np.full(absent.shape[0], np.nan), np.full(absent.shape, np.nan)
    weights = np.nan_to_num(pci)
    coi = np.nansum(np.nan_to_num(omega) * absent * weights, axis=1)
    phi = np.nan_to_num(phi)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = phi.sum(axis=-1, keepdims=True)
        normalised = np.where(rows > 0, phi / np.where(rows > 0, rows, 1.0), 0.0)
    gains = absent * weights
    spread = gains @ normalised if phi.ndim == 2 else np.einsum("rj,rjs->rs", gains, normalised)
    return coi, without_kernel_noise(absent * spread)


def row_percentile(values: np.ndarray, percentile: float) -> np.ndarray:
    """The percentile of each row's non-null values along the last axis, interpolated linearly
    as ``np.nanpercentile`` does (vectorised: that function loops over rows); null for a row with
    no value. Keeps the last axis with length 1."""
    ordered = np.sort(values, axis=-1)  # nulls sort last
    count = (~np.isnan(values)).sum(axis=-1, keepdims=True)
    position = np.maximum(count - 1, 0) * percentile / 100.0
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, np.maximum(count - 1, 0))
    low = np.take_along_axis(ordered, lower, axis=-1)
    high = np.take_along_axis(ordered, upper, axis=-1)
    return np.where(count > 0, low + (position - lower) * (high - low), np.nan)


def related_sectors(phi: np.ndarray, percentile: float = RELATED_PERCENTILE) -> np.ndarray:
    """Boolean sectors x related sectors (or regions x ...): phi(s,j) > 0 and at or above the
    given percentile of s's row (the other sectors with a proximity; ties at the percentile are
    related, so tied top links never leave a sector without any). A row of zeros has none."""
    row = np.where(np.eye(phi.shape[-1], dtype=bool), np.nan, phi)  # a sector is not among its own candidates
    threshold = row_percentile(row, percentile)
    values = np.nan_to_num(row, nan=-np.inf)
    return (values >= np.nan_to_num(threshold, nan=np.inf)) & (values > 0)


def related_sectors_lq(employment: np.ndarray, related: np.ndarray) -> np.ndarray:
    """The employment LQ of each sector's related sectors taken together in each region:
    (sum_j in R(s) e(r,j) / e(r)) / (sum_j in R(s) e(j) / e), on the matrix's own totals."""
    employment = np.asarray(employment, dtype="float64")
    related = related.astype("float64")
    region_total = employment.sum(axis=1, keepdims=True)
    if related.ndim == 2:
        local = employment @ related.T
        national = np.broadcast_to(employment.sum(axis=0) @ related.T, local.shape)
    else:
        local = np.einsum("rj,rsj->rs", employment, related)
        national = np.einsum("j,rsj->rs", employment.sum(axis=0), related)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = local / region_total
        base = national / employment.sum()
        return np.where((base > 0) & (region_total > 0), share / np.where(base > 0, base, 1.0), np.nan)


def supporting_sectors(present: np.ndarray, phi: np.ndarray, count: int = SUPPORTS) -> tuple[np.ndarray, np.ndarray]:
    """For every region and sector, the ``count`` present sectors j with the largest
    phi(s,j) M(r,j) (what gives the sector its density there), largest first, ties to the lower
    column: their column indices (-1 where fewer exist) and their phi. Taken one at a time, the
    largest first (the first of equals: the lower column), from every region at once."""
    present = np.asarray(present).astype(bool)
    regions, sectors = present.shape
    # each region's present columns in order (only they contribute), padded with a column of -inf
    width = max(int(present.sum(axis=1).max(initial=0)), 1)
    first = np.argsort(~present, axis=1, kind="stable")[:, :width]
    columns = np.where(np.take_along_axis(present, first, axis=1), first, sectors)
    padded = np.concatenate([np.nan_to_num(phi), np.full((*np.shape(phi)[:-1], 1), -np.inf)], axis=-1)
    if padded.ndim == 2:  # regions x sectors x the region's present columns
        candidates = np.ascontiguousarray(padded[:, columns].transpose(1, 0, 2))
    else:
        candidates = np.take_along_axis(padded, columns[:, None, :], axis=-1)
    indices = np.full((regions, sectors, count), -1)
    values = np.full((regions, sectors, count), np.nan)
    for n in range(count):
        best = candidates.argmax(axis=-1)[..., None]
        value = np.take_along_axis(candidates, best, axis=-1)[..., 0]
        shown = value > 0
        indices[..., n] = np.where(shown, np.take_along_axis(columns[:, None, :], best, axis=-1)[..., 0], -1)
        values[..., n] = np.where(shown, value, np.nan)
        np.put_along_axis(candidates, best, -np.inf, axis=-1)
    return indices, values


def window_employment(facts: pd.DataFrame, window: int = WINDOW) -> dict[int, pd.DataFrame]:
    """Per year t whose window t-window+1..t lies wholly in the data (every year of it has
    rows), the region x sector matrix of employment summed over the window (a missing row
    counts as 0). Sums, not averages: RCA does not change with the scale, and a sum of whole
    numbers keeps an RCA of exactly 1 exact; the minimum applies as sum >= window x minimum."""
    if facts.empty:
        return {}
    region_index, regions = pd.factorize(facts.region_code, sort=True)
    sector_index, sectors = pd.factorize(facts.sector_code, sort=True)
    first, last = int(facts.year.min()), int(facts.year.max())
    cube = np.zeros((last - first + 2, len(regions), len(sectors)))  # a leading year of zeros
    np.add.at(cube, (facts.year.to_numpy().astype(int) - first + 1, region_index, sector_index), facts.employment)
    running = np.cumsum(cube, axis=0)
    years = set(facts.year.astype(int))
    return {
        year: pd.DataFrame(
            running[year - first + 1] - running[year - first + 1 - window], index=regions, columns=sectors
        )
        for year in range(first + window - 1, last + 1)
        if all(y in years for y in range(year - window + 1, year + 1))
    }


@dataclass(frozen=True)
class Relatedness:
    """§6 for every year with a full window, keyed by region_code, sector_code and year (the
    window's last year)."""

    pairs: pd.DataFrame  # sector x related sector x year: proximity, co_occurrence (phi > 0 only)
    complexity: pd.DataFrame  # level 'region' (diversity, eci, coi) or 'sector' (ubiquity, pci) x year
    opportunities: pd.DataFrame  # region x absent sector x year: rca, density, cog, pci, rank, supports
    strength: pd.DataFrame  # region x sector x year: relatedness_density, related_sectors_lq
    window: int


def compute_relatedness(
    facts: pd.DataFrame,
    min_employment: float = MIN_EMPLOYMENT,
    window: int = WINDOW,
    leave_one_out: bool = False,
    universe: list[str] | None = None,
    strength_only: bool = False,
) -> Relatedness:
    """§6 on a long table of ``region_code, sector_code, year, employment`` (the contract of the
    indicators), restricted to the ``universe`` sectors when given, for every year with a full
    window of ``window`` years. ``strength_only``: the strength alone, what scoring reads (the
    selection history); the other tables are empty."""
    if universe is not None:
        facts = facts[facts.sector_code.isin(universe)]
    facts = facts[["region_code", "sector_code", "year", "employment"]].dropna(subset=["employment"])
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_COLUMNS}
    for year, matrix in window_employment(facts, window).items():
        for name, frame in _one_window(matrix, year, min_employment * window, leave_one_out, strength_only).items():
            parts[name].append(frame)
    return Relatedness(
        **{name: _concat(frames, TABLE_COLUMNS[name]) for name, frames in parts.items()},
        window=window,
    )


TABLE_COLUMNS = {  # the columns of each table of ``Relatedness`` (an empty one has them too)
    "pairs": ["sector_code", "related_sector_code", "year", "proximity", "co_occurrence"],
    "complexity": [
        "level",
        "region_code",
        "sector_code",
        "year",
        "diversity",
        "ubiquity",
        "eci",
        "pci",
        "coi",
        "null_reason",
    ],
    "opportunities": [
        "region_code",
        "sector_code",
        "year",
        "rca",
        "density",
        "cog",
        "pci",
        "rank",
        *[f"support_{n}_{part}" for n in range(1, SUPPORTS + 1) for part in ("sector_code", "proximity")],
        "null_reason",
    ],
    "strength": ["region_code", "sector_code", "year", "relatedness_density", "related_sectors_lq", "null_reason"],
}


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _one_window(
    matrix: pd.DataFrame, year: int, minimum: float, leave_one_out: bool, strength_only: bool = False
) -> dict[str, pd.DataFrame]:
    """§6 for one window: ``matrix`` is its employment summed over the window, ``minimum`` the
    minimum size of a present sector on the same scale; with ``strength_only``, the strength
    table alone."""
    employment = matrix.to_numpy()
    regions, sectors = matrix.index.to_numpy(), matrix.columns.to_numpy()
    present = presence(employment, minimum)
    shared = proximity(present)
    phi = proximity_leave_one_out(present) if leave_one_out else shared
    omega = density(present, phi)
    if strength_only:  # what scoring reads: no complexity, no opportunities
        return {
            "strength": _strength(employment, phi, omega, _density_reasons(shared, phi, omega), regions, sectors, year)
        }
    rca = revealed_comparative_advantage(employment)
    result = complexity(present)
    coi, cog = outlook(present, phi, omega, result.pci)
    cooccurrence = co_occurrence(present)
    reasons = _density_reasons(shared, phi, omega)

    i, j = np.nonzero(np.nan_to_num(shared) > 0)
    pairs = pd.DataFrame(
        {
            "sector_code": _codes_at(sectors, i),
            "related_sector_code": _codes_at(sectors, j),
            "year": year,
            "proximity": shared[i, j],
            "co_occurrence": cooccurrence[i, j].astype("int64"),
        }
    )
    region_rows = pd.DataFrame(
        {
            "level": "region",
            "region_code": regions,
            "year": year,
            "diversity": result.diversity.astype("int64"),
            "eci": result.eci,
            "coi": coi,
            "null_reason": result.region_reasons,
        }
    )
    sector_rows = pd.DataFrame(
        {
            "level": "sector",
            "sector_code": sectors,
            "year": year,
            "ubiquity": result.ubiquity.astype("int64"),
            "pci": result.pci,
            "null_reason": result.sector_reasons,
        }
    )
    return {
        "pairs": pairs,
        "complexity": pd.concat([region_rows, sector_rows], ignore_index=True).reindex(
            columns=TABLE_COLUMNS["complexity"]
        ),
        "opportunities": _opportunities(present, phi, omega, reasons, cog, rca, result, regions, sectors, year),
        "strength": _strength(employment, phi, omega, reasons, regions, sectors, year),
    }


def _grid(regions: np.ndarray, sectors: np.ndarray, year: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_code": np.repeat(regions, len(sectors)),
            "sector_code": _codes_at(sectors, np.tile(np.arange(len(sectors)), len(regions))),
            "year": year,
        }
    )


def _codes_at(
    codes: np.ndarray, at: np.ndarray, nullable: bool = False
) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``codes[at]`` (with ``nullable``, a position below 0 is none) as the column pandas makes
    of those values: text codes taken by Arrow rather than converted a Python string at a time
    (a window's pairs are some 50,000 rows); other codes as numpy takes them."""
    missing, values = at < 0, codes.tolist()
    if not all(isinstance(code, str) for code in values):
        return np.where(missing, None, codes[np.clip(at, 0, None)]) if nullable else codes[at]
    taken = pa.array(values, pa.large_string()).take(pa.array(at, mask=missing))
    if taken.null_count == len(taken):  # none (or no rows): objects, as pandas keeps them
        return np.full(len(taken), None, dtype=object)
    return pd.array(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _opportunities(present, phi, omega, density_reasons, cog, rca, result, regions, sectors, year) -> pd.DataFrame:
    """The sectors each region lacks (M = 0), ranked by density then COG (§6.6), with the
    present sectors that give each its density."""
    region, sector = np.nonzero(np.asarray(present) == 0)  # the absent cells, region by region
    frame = pd.DataFrame(
        {
            "region_code": regions[region],
            "sector_code": _codes_at(sectors, sector),
            "year": year,
            "rca": rca[region, sector],
            "density": omega[region, sector],
            "cog": cog[region, sector],
            "pci": result.pci[sector],
        }
    )
    indices, values = supporting_sectors(present, phi)
    for n in range(indices.shape[-1]):
        support = indices[region, sector, n]
        frame[f"support_{n + 1}_sector_code"] = _codes_at(sectors, support, nullable=True)
        frame[f"support_{n + 1}_proximity"] = values[region, sector, n]
    reasons = density_reasons[region, sector]
    sector_reasons = np.array(result.sector_reasons, dtype=object)[sector]
    frame["null_reason"] = np.where(reasons == None, sector_reasons, reasons)  # noqa: E711
    defined = frame.density.notna()
    ordered = frame[defined].sort_values(
        ["region_code", "density", "cog", "sector_code"], ascending=[True, False, False, True], na_position="last"
    )
    frame["rank"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame.loc[ordered.index, "rank"] = ordered.groupby("region_code").cumcount().to_numpy() + 1
    return frame[TABLE_COLUMNS["opportunities"]].reset_index(drop=True)


def _density_reasons(shared: np.ndarray, phi: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Why each region x sector density is null (None where it is not)."""
    nowhere = np.broadcast_to(np.isnan(shared).all(axis=1), omega.shape)
    nowhere_else = np.isnan(phi).all(axis=-1) if phi.ndim == 3 else np.zeros(omega.shape, dtype=bool)
    return np.select(
        [~np.isnan(omega), nowhere, nowhere_else], [None, NO_UBIQUITY, NO_OTHER_REGION], default=NO_RELATED
    ).astype(object)


def _strength(employment, phi, omega, density_reasons, regions, sectors, year) -> pd.DataFrame:
    """Each sector's related-sector strength in each region (§6.7): its density, and the
    employment LQ of its related sectors taken together."""
    related = related_sectors(phi)
    lq = related_sectors_lq(employment, related)
    frame = _grid(regions, sectors, year)
    frame["relatedness_density"] = omega.ravel()
    frame["related_sectors_lq"] = lq.ravel()
    has_related = np.broadcast_to(related.any(axis=-1), omega.shape)
    lq_reasons = np.where(~has_related, NO_RELATED, np.where(np.isnan(lq), NO_RELATED_EMPLOYMENT, None))
    reasons = np.where(density_reasons == None, lq_reasons, density_reasons)  # noqa: E711
    frame["null_reason"] = reasons.ravel()
    return frame
