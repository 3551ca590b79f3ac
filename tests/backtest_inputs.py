"""Small synthetic inputs of the selection model (``tasks.methods.model.ModelInputs``) for the
history and backtest tests: a seeded province x class x year panel of SGK employment with
published national totals, exports by exporter sector, and snapshot inputs (a chamber
registry for the latest year; no agency database, no sector turnover)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.methods.model import MODEL_SOURCES, ModelInputs
from tasks.reference import NATIONAL, Reference

CLASSES = ["10.71", "13.10", "13.20", "14.13", "22.22", "25.62", "28.93", "30.11", "32.50", "13.30"]
PROVINCES = [1, 6, 7, 16, 19, 27, 34, 35, 41, 46, 55, 61]
YEARS = tuple(range(2011, 2021))


def panel(seed: int = 7, years: tuple[int, ...] = YEARS) -> pd.DataFrame:
    """plate_code, nace_class, year, employment, establishments: every cell with employment."""
    rng = np.random.default_rng(seed)
    n_p, n_c, n_y = len(PROVINCES), len(CLASSES), len(years)
    level = rng.lognormal(5, 1.2, (n_p, n_c)) * (rng.random((n_p, n_c)) < 0.75)
    trend = rng.normal(0.03, 0.06, (n_p, n_c))
    steps = np.arange(n_y) - n_y // 2
    employment = np.round(level[..., None] * (1 + trend[..., None]) ** steps * rng.lognormal(0, 0.15, (n_p, n_c, n_y)))
    frame = pd.DataFrame(
        {
            "plate_code": np.repeat(PROVINCES, n_c * n_y),
            "nace_class": np.tile(np.repeat(CLASSES, n_y), n_p),
            "year": np.tile(years, n_p * n_c),
            "employment": employment.ravel(),
        }
    )
    frame = frame[frame.employment > 0].reset_index(drop=True)
    return frame.assign(establishments=np.maximum(np.round(frame.employment / 12), 1))


def sgk_rows(facts: pd.DataFrame) -> pd.DataFrame:
    """The facts with the published national class totals (3 % above the provinces' sums)."""
    national = facts.groupby(["nace_class", "year"], as_index=False)[["employment", "establishments"]].sum()
    national = national.assign(plate_code=NATIONAL, employment=np.round(national.employment * 1.03))
    return pd.concat([facts, national], ignore_index=True)


def exports(facts: pd.DataFrame, ref: Reference, seed: int = 11) -> pd.DataFrame:
    """Exports by province, exporter sector and year: USD 20,000 per employee with noise."""
    rng = np.random.default_rng(seed)
    sector = facts.nace_class.map(ref.exporter_sector_of_class())
    rows = facts.assign(exporter_sector_id=sector, exports_usd=facts.employment * 20_000)
    rows = rows.groupby(["year", "plate_code", "exporter_sector_id"], as_index=False).exports_usd.sum()
    return rows.assign(exports_usd=rows.exports_usd * rng.lognormal(0, 0.2, len(rows)))


def registry(facts: pd.DataFrame, year: int) -> pd.DataFrame:
    """A chamber registry of the latest year: one firm per SGK workplace, in one district."""
    latest = facts[facts.year == year]
    firms = latest.loc[latest.index.repeat(latest.establishments.astype(int))]
    return pd.DataFrame(
        {
            "registry_no": [f"R{n}" for n in range(len(firms))],
            "nace_class": firms.nace_class.to_numpy(),
            "plate_code": firms.plate_code.to_numpy(),
            "district": "Merkez",
            "employees": (firms.employment / firms.establishments).round().to_numpy(),
            "turnover_try": np.nan,
        }
    )


EMPTY = {
    "sector_turnover": pd.DataFrame(
        {
            "year": pd.Series(dtype="int64"),
            "plate_code": pd.Series(dtype="int64"),
            "nace_class": pd.Series(dtype="object"),
            "nace_division": pd.Series(dtype="object"),
            "nace_level": pd.Series(dtype="object"),
            "turnover_try": pd.Series(dtype="float64"),
        }
    ),
    "agency_db": pd.DataFrame(
        {
            "plate_code": pd.Series(dtype="int64"),
            "nace_class": pd.Series(dtype="object"),
            "measure": pd.Series(dtype="object"),
            "value": pd.Series(dtype="float64"),
        }
    ),
}


def synthetic_inputs(ref: Reference, seed: int = 7, years: tuple[int, ...] = YEARS) -> ModelInputs:
    """The model's inputs over ``years``: SGK, exports, and a registry of the last year."""
    facts = panel(seed, years)
    return ModelInputs(
        sgk_rows(facts),
        exports(facts, ref),
        registry(facts, years[-1]),
        EMPTY["sector_turnover"],
        EMPTY["agency_db"],
        ref,
    )


def planted(inputs: ModelInputs, year: int, factor: float = 100.0, plate: int = 34) -> ModelInputs:
    """``inputs`` with the SGK employment and the exports of ``plate`` in ``year`` multiplied
    by ``factor``: a value from the future, for an origin before ``year``."""
    sgk, exported = inputs.sgk_employment, inputs.exports_by_sector
    cells = sgk.year.eq(year) & sgk.plate_code.eq(plate)
    sgk = sgk.assign(employment=sgk.employment.where(~cells, sgk.employment * factor))
    cells = exported.year.eq(year) & exported.plate_code.eq(plate)
    exported = exported.assign(exports_usd=exported.exports_usd.where(~cells, exported.exports_usd * factor))
    return replace(inputs, sgk_employment=sgk, exports_by_sector=exported)


def write_accepted(inputs: ModelInputs, folder: Path) -> dict[str, str]:
    """The inputs as staged accepted Parquet files, as ``stages.accepted_paths`` names them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for source in MODEL_SOURCES:
        paths[source] = str(folder / f"{source}.parquet")
        getattr(inputs, source).to_parquet(paths[source], index=False)
    return paths
