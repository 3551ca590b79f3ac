"""The selection of every reference year the data allow, each from the data up to that year
only (methodology.md §8.1): what the method would have selected had it been run then.

The yearly panels (SGK employment, exports by sector) describe each year by its own rows; the
undated snapshots (chamber registries, agency database, sector turnover; the capacity register
and the consultation are not scored) describe the present, so they enter the latest year only.
An earlier year is scored on what the panels say of it, the indicators they do not give
dropping out as scoring lets a missing indicator drop out (§4.1).

The indicators are computed once over every year: a year's rows (LQs on that year's totals,
growth over earlier years, presence on a window ending in it) read no later year, which
``tests/tasks/methods/test_history.py`` proves by planting a later value. So the history of the
classes reads the indicators the indicators stage computed, rather than computing them again.
"""

from __future__ import annotations

import pandas as pd

from schemas.parameters import SelectionParameters
from tasks.methods.model import (
    ModelInputs,
    candidates_as_of,
    compute_model,
    earlier_candidates,
    model_candidates,
    relatedness_of,
    with_strength,
)
from tasks.methods.scoring import score_candidates

HISTORY_TOP = 3  # ranks kept per province and year
COLUMNS = ["plate_code", "year", "rank", "sector_code", "total_score", "robust", "robustness_share", "snapshot_inputs"]


def history_years(inputs: ModelInputs, parameters: SelectionParameters) -> list[int]:
    """The reference years of the history: every year up to the run's reference year (the
    latest in the data unless given) whose relatedness window (and, when clusters are scored,
    whose co-location window) and the start of whose primary growth span are in the SGK data,
    so that every indicator the yearly panels give is defined."""
    years = set(inputs.years())
    if not years:
        return []
    reference = parameters.reference_year or max(years)
    window = parameters.relatedness.window
    if parameters.candidates == "cluster":
        window = max(window, parameters.clusters.window)
    return [
        year
        for year in sorted(years)
        if year <= reference and year - parameters.growth_years in years and {*range(year - window + 1, year)} <= years
    ]


def selection_history(
    inputs: ModelInputs,
    parameters: SelectionParameters,
    years: list[int] | None = None,
    top: int = HISTORY_TOP,
    indicators: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    provinces: list[int] | None = None,
) -> pd.DataFrame:
    """The ``top`` ranked sectors of every province (of ``provinces`` only, when given: each
    province is scored alone) in every year of ``years`` (default
    ``history_years``), each year scored from the data up to it, the snapshot inputs only in
    the run's reference year (``snapshot_inputs``), which is what the run publishes for it.
    Columns ``COLUMNS``: score_candidates' rank, total_score, robust and robustness_share.
    ``yearly_candidates`` then ``score_history``; ``indicators`` and ``candidates``: as there."""
    years = history_years(inputs, parameters) if years is None else sorted(years)
    if not years:
        return pd.DataFrame(columns=COLUMNS)
    reference = parameters.reference_year or max(inputs.years())
    listed = yearly_candidates(inputs, parameters, years, indicators, candidates)
    return score_history(listed, parameters, reference, top, provinces)


def yearly_candidates(
    inputs: ModelInputs,
    parameters: SelectionParameters,
    years: list[int],
    indicators: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The candidates of every province in every year of ``years`` (a ``year`` column), each
    year's from the data up to it, the snapshot inputs in the run's reference year only: what
    the history scores. They do not depend on what scoring alone reads (the weights, gates and
    robustness draws), so a rerun with other weights scores them again without building them.

    ``indicators`` and ``candidates``, given together when classes are scored: what the
    indicators stage computed from ``inputs`` with ``parameters``, its indicator table of every
    year (by ``region_code``; the columns scoring reads suffice) and the candidates of the
    reference year; without them they are computed here."""
    reference = parameters.reference_year or max(inputs.years())
    if parameters.candidates == "cluster":  # the clusters differ by year
        frames = [candidates_as_of(inputs, parameters, year, year == reference).candidates for year in years]
        return pd.concat(frames, ignore_index=True).infer_objects()
    return _class_candidates(inputs, parameters, years, reference, indicators, candidates).infer_objects()


def score_history(
    candidates: pd.DataFrame,
    parameters: SelectionParameters,
    reference: int,
    top: int = HISTORY_TOP,
    provinces: list[int] | None = None,
) -> pd.DataFrame:
    """The ``top`` ranked sectors of every province (of ``provinces`` only, when given) in every
    year of ``candidates`` (``yearly_candidates``), each province and year scored alone; the
    rows of the ``reference`` year are those with the snapshot inputs. Columns ``COLUMNS``."""
    if provinces is not None:
        candidates = candidates[candidates.plate_code.isin(provinces)]
    scored = score_candidates(candidates, parameters, by=["plate_code", "year"], explain=False)
    ranked = scored[scored["rank"].le(top)]
    return ranked.assign(snapshot_inputs=ranked.year.eq(reference))[COLUMNS].reset_index(drop=True)


def _class_candidates(
    inputs: ModelInputs,
    parameters: SelectionParameters,
    years: list[int],
    reference: int,
    indicators: pd.DataFrame | None,
    current: pd.DataFrame | None,
) -> pd.DataFrame:
    """The candidate classes of every year of ``years``, from one computation of the
    indicators (``indicators``, the reference year's candidates ``current``: computed here
    when not given) and of the relatedness over every year up to ``reference``."""
    if indicators is None:
        model = compute_model(inputs.until(reference), parameters, reference)
        indicators, current = model.indicators.table, model_candidates(model)
    first = years[0] - parameters.relatedness.window + 1
    facts = indicators[indicators.year.between(first, reference)][["region_code", "sector_code", "year", "employment"]]
    # the universe of the classes' model is the parameters' (model.candidate_sectors)
    strength = relatedness_of(facts, parameters, parameters.universe, strength_only=True).strength
    earlier = [year for year in years if year != reference]
    frames = [earlier_candidates(inputs, indicators, earlier)] if earlier else []
    frames += [current] if reference in years else []
    return with_strength(pd.concat(frames, ignore_index=True), strength)
