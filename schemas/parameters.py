"""Run parameters: the typed, validated knobs of a selection run (weights, gates, years)."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field, model_validator


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


class SelectionParameters(BaseModel):
    """Everything besides the input files that decides a selection."""

    reference_year: int | None = Field(None, description="latest year in the data when empty")
    growth_years: int = Field(5, ge=1, le=20, description="span of CAGR and shift-share, in years")
    weights: CriteriaWeights = Field(default_factory=CriteriaWeights)
    gates: EligibilityGates = Field(default_factory=EligibilityGates)
    top_n: int = Field(5, ge=1, le=50, description="ranked sectors published per province")
