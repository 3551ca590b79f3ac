"""The selection model as plain functions of the accepted inputs: the facts, indicators and
candidate sectors of a reference year (methodology.md §1-§4) and their related-sector strength
(§6.7). The indicators and relatedness stages, the selection history and the backtests (§8)
all call these, so that what is published, its history and its backtests are one computation.

A candidate sector is a NACE class, or a named set of classes (§1.1): ``sector_sets`` maps
classes to the code of their set, and the facts of a set are its members' facts summed
before any indicator is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd
import pyarrow as pa

from schemas.parameters import SelectionParameters
from tasks.errors import InputDataError
from tasks.methods import sector_facts
from tasks.methods.indicators import KEYS, UNIVERSE, IndicatorSet, compute_indicators
from tasks.methods.relatedness import Relatedness, compute_relatedness
from tasks.reference import Reference
from tasks.store import read_staged, staged_schema

# The accepted sources the model reads. The yearly panels describe each year by its own rows;
# the snapshots describe the present only (the registries' member lists, the agency database,
# the statistics office's turnover), as do the capacity register and the consultation, which
# the model does not read: nothing of a snapshot may enter a computation for an earlier year.
YEARLY_SOURCES = ("sgk_employment", "exports_by_sector")
SNAPSHOT_SOURCES = ("chamber_registry", "capacity_register", "agency_db", "sector_turnover", "consultation")
MODEL_SOURCES = ("sgk_employment", "exports_by_sector", "chamber_registry", "sector_turnover", "agency_db")
STRENGTH = ["relatedness_density", "related_sectors_lq"]  # §6.7: the two networking indicators
MEASURES = ["employment", "establishments", "exports"]  # what a named set sums over its classes
# What the model reads of each source's accepted rows, with the dtypes it computes in: only
# these columns are read (not the raw text, names and provenance validation keeps, which at
# national scale are most of the registry's memory), whatever types the staged table has.
MODEL_COLUMNS = {
    "sgk_employment": {
        "year": "Int64",
        "plate_code": "Int64",
        "nace_class": "str",
        "establishments": "float64",
        "employment": "float64",
    },
    "exports_by_sector": {
        "year": "Int64",
        "plate_code": "Int64",
        "exporter_sector_id": "str",
        "exports_usd": "float64",
    },
    "chamber_registry": {
        "plate_code": "Int64",
        "nace_class": "str",
        "district": "str",
        "employees": "float64",
        "turnover_try": "float64",
    },
    "sector_turnover": {
        "year": "Int64",
        "plate_code": "Int64",
        "nace_level": "str",
        "nace_division": "str",
        "nace_class": "str",
        "turnover_try": "float64",
    },
    "agency_db": {"plate_code": "Int64", "nace_class": "str", "measure": "str", "value": "float64"},
}


@dataclass(frozen=True)
class ModelInputs:
    """The accepted rows the model reads (one frame per source of ``MODEL_SOURCES``) and the
    reference data."""

    sgk_employment: pd.DataFrame
    exports_by_sector: pd.DataFrame
    chamber_registry: pd.DataFrame
    sector_turnover: pd.DataFrame
    agency_db: pd.DataFrame
    reference: Reference

    @classmethod
    def read(cls, accepted: Mapping[str, str], reference: Reference, snapshots: bool = True) -> ModelInputs:
        """The columns the model reads (``MODEL_COLUMNS``) of the staged accepted rows of each
        source (``stages.accepted_paths``); without ``snapshots``, the yearly panels' only (the
        snapshots without rows, as ``without_snapshots`` has them: what earlier years read)."""
        return cls(
            *(
                read_columns(accepted[source], MODEL_COLUMNS[source])
                if snapshots or source in YEARLY_SOURCES
                else no_rows(MODEL_COLUMNS[source])
                for source in MODEL_SOURCES
            ),
            reference,
        )

    def years(self) -> list[int]:
        """The years of the SGK statistics, first to last."""
        return sorted(int(year) for year in self.sgk_employment.year.dropna().unique())

    def until(self, year: int) -> ModelInputs:
        """The inputs as they stood after ``year``: the yearly panels' rows up to it (the
        snapshots unchanged: whether they enter is ``without_snapshots``' business)."""
        return replace(
            self,
            sgk_employment=self.sgk_employment[self.sgk_employment.year.le(year)],
            exports_by_sector=self.exports_by_sector[self.exports_by_sector.year.le(year)],
        )

    def without_snapshots(self) -> ModelInputs:
        """The inputs without the undated snapshots (no rows, same columns): what is known of an
        earlier year."""
        empty = {source: getattr(self, source).iloc[:0] for source in MODEL_SOURCES if source not in YEARLY_SOURCES}
        return replace(self, **empty)


def read_columns(path: str, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """The ``dtypes`` columns of a staged table, as those dtypes: a dictionary-encoded column is
    decoded in Arrow first, so that strings come out as strings, not categories. A table without
    rows may lack them (a source that gave none is staged with its provenance columns only)."""
    names = staged_schema(path).names
    table = read_staged(path, columns=[column for column in dtypes if column in names])
    if table.num_rows == 0:
        return no_rows(dtypes)
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(field.type.value_type))
    return table.to_pandas().astype(dict(dtypes))


def no_rows(dtypes: Mapping[str, str]) -> pd.DataFrame:
    """A table of the ``dtypes`` columns without rows."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


@dataclass(frozen=True)
class Features:
    """What the snapshot inputs say of each province x sector: the registry's features, the
    agency database's and the turnover behind the size comparison (``sector_facts.size_basis``)."""

    registry: pd.DataFrame
    agency: pd.DataFrame
    turnover: pd.DataFrame


@dataclass(frozen=True)
class Model:
    """The indicators of every year of the inputs and what the candidates of ``year`` read."""

    year: int  # the reference year: the year of the turnover facts and of the snapshot features
    indicators: IndicatorSet
    features: Features  # from the snapshot inputs
    provinces: pd.DataFrame  # sector_facts.province_features
    universe: list[str] | None  # the reference universe in the model's sector codes (None: all)
    unallocated_exports: float  # USD of exports no class could take


def compute_model(
    inputs: ModelInputs,
    parameters: SelectionParameters,
    year: int | None = None,
    sector_sets: pd.Series | None = None,
) -> Model:
    """Facts and indicators of every year in ``inputs`` (§1-§3), and the features of the
    candidates of ``year`` (the parameters' reference year, else the latest in the SGK data).

    ``sector_sets`` (class code -> set code): the candidates are the sets, not the classes.
    Employment, establishments, exports (allocated to classes first, §1.5) and turnover are
    summed over each set's classes, and the registry's and the agency database's rows count for
    their class's set, before any indicator is computed; a class in no set is left out, so a
    total that is not published (summed, §1.2) is the sum over the sets: give a partition of the
    universe's classes, as §7's definitions are. The national totals of the sets are the sums of
    their classes' totals; the reference universe (``parameters.universe``) becomes the sets
    holding one of its classes."""
    ref = inputs.reference
    if inputs.sgk_employment.empty:
        raise InputDataError("no accepted SGK employment rows: nothing to compute indicators from")
    facts, region_totals, national_totals = sector_facts.sgk_tables(inputs.sgk_employment)
    year = year or reference_year(facts, parameters)
    if not facts.year.eq(year).any():
        raise InputDataError(f"reference year {year} is not in the SGK data ({facts.year.min()}-{facts.year.max()})")
    exports, unallocated = sector_facts.allocate_exports(
        inputs.exports_by_sector, facts, ref.exporter_sector_of_class()
    )
    snapshots = _features(inputs, facts, year, sector_sets)
    facts = facts.merge(exports, on=KEYS, how="left")
    facts, region_totals, national_totals, universe = candidate_sectors(
        facts, region_totals, national_totals, parameters.universe, sector_sets
    )
    # without turnover (an earlier year: no snapshot) nothing is converted and no rate is needed
    rates = ref.usd_try_rates if len(snapshots.turnover) else pd.Series({year: 1.0})
    facts = facts.merge(
        sector_facts.turnover_usd(snapshots.turnover, rates, year),
        on=["region_code", "sector_code", "year"],
        how="left",
    )
    computed = compute_indicators(facts, region_totals, national_totals, parameters.growth_spans, universe)
    provinces = sector_facts.province_features(ref.life_index)
    return Model(year, computed, snapshots, provinces, universe, unallocated)


def reference_year(facts: pd.DataFrame, parameters: SelectionParameters) -> int:
    """The year the candidates are of: the parameters', else the latest of the SGK ``facts``."""
    return parameters.reference_year or int(facts.year.max())


def candidate_sectors(
    facts: pd.DataFrame,
    region_totals: pd.DataFrame | None,
    national_totals: pd.DataFrame,
    universe: list[str] | None,
    sector_sets: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame, list[str] | None]:
    """The facts and totals of the candidate sectors, and the universe in their codes: with
    ``sector_sets``, the facts and the national sector totals summed per set (the universe:
    the sets holding one of its classes). A ``universe`` replaces the published totals of all
    manufacturing (the region totals, the national ``*``), which no longer describe it (§1.3)."""
    codes = universe or None
    if sector_sets is not None:
        facts = sum_over_sets(facts, sector_sets, KEYS, MEASURES)
        per_class = national_totals[national_totals.sector_code.ne(UNIVERSE)]
        measures = [m for m in MEASURES if m in national_totals]
        summed = sum_over_sets(per_class, sector_sets, ["sector_code", "year"], measures)
        national_totals = pd.concat([summed, national_totals[national_totals.sector_code.eq(UNIVERSE)]])
        codes = sorted(set(sector_sets[sector_sets.index.isin(universe)])) if universe else None
    if universe:  # the published C totals are all manufacturing, not this universe
        region_totals = None
        national_totals = national_totals[national_totals.sector_code != UNIVERSE]
    return facts, region_totals, national_totals, (codes if universe else universe)


def _features(inputs: ModelInputs, facts: pd.DataFrame, year: int, sector_sets: pd.Series | None) -> Features:
    """The snapshot features of the candidates of ``year``, per class or per set."""
    registry, agency = inputs.chamber_registry, inputs.agency_db
    turnover = sector_facts.allocate_turnover(inputs.sector_turnover, facts, year)
    if sector_sets is not None:
        registry, agency, turnover = (_in_sets(rows, sector_sets) for rows in (registry, agency, turnover))
        turnover = turnover.groupby(["plate_code", "nace_class"], as_index=False).turnover_try.sum(min_count=1)
    features = sector_facts.registry_features(registry)
    return Features(features, sector_facts.agency_features(agency), sector_facts.size_basis(features, turnover))


def sum_over_sets(frame: pd.DataFrame, sector_sets: pd.Series, keys: list[str], measures: list[str]) -> pd.DataFrame:
    """``frame``'s rows of the classes in ``sector_sets``, summed per set (``sector_code`` becomes
    the set's code); a measure no member has stays null."""
    rows = frame[frame.sector_code.isin(sector_sets.index)]
    rows = rows.assign(sector_code=rows.sector_code.map(sector_sets))
    return rows.groupby(keys, as_index=False)[[m for m in measures if m in rows]].sum(min_count=1)


def _in_sets(rows: pd.DataFrame, sector_sets: pd.Series) -> pd.DataFrame:
    """Rows keyed by ``nace_class`` (a source's), their class replaced by its set's code; rows
    of classes in no set (and of no class) are left out."""
    rows = rows[rows.nace_class.isin(sector_sets.index)]
    return rows.assign(nace_class=rows.nace_class.map(sector_sets))


def model_candidates(model: Model, year: int | None = None) -> pd.DataFrame:
    """The candidates of ``year`` (the model's by default): every province x sector with
    employment that year, with every indicator and feature scoring reads."""
    year = model.year if year is None else year
    features = model.features
    return sector_facts.candidate_table(
        model.indicators.table, features.registry, features.agency, model.provinces, year, features.turnover
    )


def earlier_candidates(inputs: ModelInputs, indicators: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """The candidates of the earlier ``years`` as ``model_candidates`` makes them, but with the
    snapshot inputs as if they had no rows (an earlier year knows nothing of the present), from
    ``indicators``: the indicator table of a model of ``inputs`` (``IndicatorSet.table``, or the
    columns of it that scoring reads), so that it need not be computed again."""
    none = _features(inputs.without_snapshots(), indicators, years[0], None)  # no turnover to allocate
    provinces = sector_facts.province_features(inputs.reference.life_index)
    return sector_facts.candidate_table(indicators, none.registry, none.agency, provinces, years, none.turnover)


def relatedness_of(
    facts: pd.DataFrame,
    parameters: SelectionParameters,
    universe: list[str] | None = None,
    strength_only: bool = False,
) -> Relatedness:
    """§6 with the run's relatedness parameters on ``facts`` (region_code, sector_code, year,
    employment), for every year with a full window (``strength_only``: what scoring reads)."""
    settings = parameters.relatedness
    return compute_relatedness(
        facts,
        min_employment=settings.min_employment,
        window=settings.window,
        leave_one_out=settings.leave_one_out,
        universe=universe,
        strength_only=strength_only,
    )


def with_strength(candidates: pd.DataFrame, strength: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """The candidates with their related-sector strength (§6.7) of ``year``; without a year,
    each candidate row with that of its own ``year``. A candidate without one keeps nulls."""
    strength = strength.rename(columns={"region_code": "plate_code"})
    keys = ["plate_code", "sector_code"]
    if year is None:
        keys.append("year")
        strength = strength.astype({"year": candidates.year.dtype})
    else:
        strength = strength[strength.year == year]
    strength = strength[[*keys, *STRENGTH]].astype({"plate_code": candidates.plate_code.dtype})
    return candidates.merge(strength, on=keys, how="left", validate="one_to_one")


def window_relatedness(model: Model, parameters: SelectionParameters, year: int | None = None) -> Relatedness:
    """§6 of the window ending in ``year`` (the model's by default) alone, from that window's
    facts: what the candidates of ``year`` read."""
    year = model.year if year is None else year
    table = model.indicators.table
    first = year - parameters.relatedness.window + 1
    window = table[table.year.between(first, year)][["region_code", "sector_code", "year", "employment"]]
    return relatedness_of(window, parameters, model.universe)


def as_of(inputs: ModelInputs, year: int, snapshots: bool = False) -> ModelInputs:
    """What was known after ``year``: the yearly panels up to it; the snapshot inputs only when
    ``snapshots`` (they describe the present: the latest year's selection may read them)."""
    known = inputs.until(year)
    return known if snapshots else known.without_snapshots()


def clusters_as_of(inputs: ModelInputs, parameters: SelectionParameters, year: int) -> pd.Series | None:
    """The candidate sets of ``year`` when the run scores data-driven clusters
    (``candidates`` = cluster): class -> cluster of the co-location clusters (§7) of the window
    ending in ``year``, from the SGK employment up to it; None when it scores classes."""
    if parameters.candidates != "cluster":
        return None
    from tasks.methods.colocation import define_clusters  # §7 is only needed to score clusters

    facts, _, _ = sector_facts.sgk_tables(inputs.until(year).sgk_employment)
    settings = parameters.clusters
    definitions = define_clusters(
        facts,
        end_year=year,
        window=settings.window,
        min_employment=settings.min_employment,
        counts=(settings.min_clusters, settings.max_clusters),
        universe=parameters.universe or None,
        stability=False,
    )
    return definitions.members.set_index("sector_code").cluster_id


@dataclass(frozen=True)
class AsOf:
    """The selection's inputs of one year, from what was known after it (``candidates_as_of``)."""

    year: int
    model: Model
    related: Relatedness  # §6 of the window ending in year
    candidates: pd.DataFrame  # with their related-sector strength, as scoring reads them
    sector_sets: pd.Series | None  # the clusters of year when clusters are scored


def candidates_as_of(inputs: ModelInputs, parameters: SelectionParameters, year: int, snapshots: bool = False) -> AsOf:
    """The model, the relatedness and the candidates of ``year`` computed from what was known
    after it only (``as_of``: the one place that keeps later rows and, unless ``snapshots``,
    the present's snapshots out): the clusters, if scored, defined at ``year`` too."""
    known = as_of(inputs, year, snapshots)
    sector_sets = clusters_as_of(known, parameters, year)
    model = compute_model(known, parameters, year, sector_sets)
    related = window_relatedness(model, parameters, year)
    candidates = with_strength(model_candidates(model, year), related.strength, year)
    return AsOf(year, model, related, candidates, sector_sets)
