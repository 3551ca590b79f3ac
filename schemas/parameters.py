"""Run parameters: the typed, validated knobs of a selection run (weights, gates, years)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from schemas.names import fold_key
from schemas.provinces import PROVINCE_KEYS, PROVINCE_NAMES

ProvinceName = Literal[PROVINCE_NAMES]  # the UI offers these 81 names as a choice


class CriteriaWeights(BaseModel):
    """Weights of the four criteria (methodology.md §4): non-negative and summing to 1."""

    economic_impact: float = Field(0.25, ge=0, description="Economic Impact (Ekonomik Etki)")
    demand: float = Field(0.25, ge=0, description="Demand (Talep)")
    networking: float = Field(0.25, ge=0, description="Networking & Cooperation (Ağ Oluşturma ve İşbirliği)")
    factor_conditions: float = Field(0.25, ge=0, description="Factor Conditions (Faktör Koşulları)")

    @model_validator(mode="after")
    def _sum_to_one(self) -> CriteriaWeights:
        total = sum(self.as_dict().values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"criteria weights must sum to 1, got {total:g}")
        return self

    def as_dict(self) -> dict[str, float]:
        return self.model_dump()


class EligibilityGates(BaseModel):
    """A sector failing a gate is listed with the reason and never selected (§4.4)."""

    min_firms: int = Field(10, ge=0, description="firms (registry) or workplaces (SGK)")
    min_employment: float = Field(100, ge=0, description="insured employees")
    min_lq_employment: float = Field(1.0, ge=0, description="employment location quotient")


class Robustness(BaseModel):
    """Weight draws around the chosen weights (§4.6): Dirichlet with concentration ``kappa``
    (alpha = kappa x weight; criteria weighted 0 stay 0), a fixed seed."""

    draws: int = Field(1000, ge=1000, le=100_000, description="number of weight vectors drawn")
    kappa: float = Field(50.0, gt=0, description="Dirichlet concentration: larger draws stay closer")
    robust_share: float = Field(0.75, gt=0, le=1, description="share of draws ranking first to call it robust")
    seed: int = Field(20111001, description="random seed of the draws")


class RelatednessParameters(BaseModel):
    """Relatedness and economic complexity (methodology.md §6): when a province counts as having
    a sector (its employment LQ at least 1 and at least a minimum size, on averages over a few
    years), and whether a province's own sectors count in its proximities."""

    min_employment: float = Field(
        10.0,
        ge=0,
        description="insured employees (averaged over the window) a province needs in a sector, besides an "
        "employment LQ of at least 1, for the sector to count as present there",
    )
    window: int = Field(
        3,
        ge=1,
        le=10,
        description="years averaged before presence is decided (damps year-to-year flicker); the first "
        "window - 1 years of the data get no relatedness figures",
    )
    leave_one_out: bool = Field(
        False,
        description="compute each province's proximities without the province itself, so that its own "
        "sectors never raise its density (slower)",
    )


class ClusterParameters(BaseModel):
    """Cluster definitions from co-location (methodology.md §7): the window of years the three
    relatedness measures are averaged over, the range of cluster counts searched, and the
    presence minimum of the proximity phi (as in relatedness)."""

    window: int = Field(3, ge=1, le=10, description="years the co-location measures are averaged over")
    min_clusters: int = Field(20, ge=2, description="fewest clusters the validation scores are searched over")
    max_clusters: int = Field(80, ge=2, description="most clusters the validation scores are searched over")
    min_employment: float = Field(
        10.0,
        ge=0,
        description="insured employees a province needs in a sector, besides an employment LQ of at least 1, "
        "for the sector to count as present there (the proximity phi, one of the three measures)",
    )

    @model_validator(mode="after")
    def _range(self) -> ClusterParameters:
        if self.min_clusters > self.max_clusters:
            raise ValueError("min_clusters must not exceed max_clusters")
        return self


class SelectionParameters(BaseModel):
    """Everything besides the input files that decides a selection."""

    reference_year: int | None = Field(None, description="latest year in the data when empty")
    growth_spans: list[int] = Field(
        default_factory=lambda: [5, 3, 10],
        min_length=1,
        description="spans of CAGR and shift-share in years; the first is the one scored",
    )
    universe: list[str] | None = Field(
        None,
        description="NACE classes forming the reference universe of LQs (e.g. traded sectors); "
        "empty = all manufacturing, with the published totals",
    )
    weights: CriteriaWeights = Field(default_factory=CriteriaWeights)
    gates: EligibilityGates = Field(default_factory=EligibilityGates)
    robustness: Robustness = Field(default_factory=Robustness)
    relatedness: RelatednessParameters = Field(
        default_factory=RelatednessParameters,
        description="which sectors a province has, for relatedness density and the opportunities",
    )
    clusters: ClusterParameters = Field(
        default_factory=ClusterParameters,
        description="the data-driven cluster definitions (co-location): window, count range, presence minimum",
    )
    candidates: Literal["class", "cluster"] = Field(
        "class",
        description="what is scored: NACE classes, or the data-driven clusters of methodology §7 (their "
        "indicators computed on the sums over their member classes)",
    )
    top_n: int = Field(5, ge=1, le=50, description="ranked sectors published per province")
    report_language: Literal["tr", "en"] = Field("tr", description="language of the HTML reports")

    @model_validator(mode="after")
    def _spans_valid(self) -> SelectionParameters:
        if any(span < 1 or span > 30 for span in self.growth_spans):
            raise ValueError("growth_spans must be between 1 and 30 years")
        return self

    @property
    def growth_years(self) -> int:
        """The primary span: the CAGR and shift-share that scoring uses."""
        return self.growth_spans[0]


class RunTarget(BaseModel):
    """Which provinces a run selects for."""

    provinces: list[ProvinceName] = Field(
        default_factory=list, description="provinces to select for; empty = all 81", title="Provinces"
    )

    @field_validator("provinces", mode="before")
    @classmethod
    def _canonical_names(cls, names: object) -> object:
        """Accept ASCII names, any case and plate codes; keep the Turkish name, once each."""
        if not isinstance(names, list):
            return names
        canonical = [PROVINCE_KEYS.get(fold_key(name), name) for name in names]
        return sorted(dict.fromkeys(canonical), key=fold_key)


class RunRequest(SelectionParameters, RunTarget):
    """One run of the selection as an operator asks for it: the provinces, the selection
    parameters, and what to do with the result. The Prefect UI renders it as the run form."""

    force: bool = Field(False, description="recompute everything: ignore the task cache and the read cache")
    publish: bool = Field(
        True, description="publish the result; no = compute it and show it in the run's artifacts only"
    )
    reason: str = Field("", max_length=500, description="why this run: recorded in the manifest")
    backtest: bool = Field(
        False,
        description="also backtest the method (methodology §8): every origin year recomputed from its own data, "
        "horizons 3 and 5 years (slower; off for the nightly run)",
    )

    def selection_parameters(self) -> SelectionParameters:
        return SelectionParameters(**self.model_dump(include=set(SelectionParameters.model_fields)))
