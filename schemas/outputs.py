"""Output contracts: the explicit pyarrow schema of every published dataset. Consumers rely on
these; a change to a schema must bump ``SCHEMA_VERSION``."""

from __future__ import annotations

import pyarrow as pa

# 4.0: sector_name is the NACE class name everywhere; cluster_name added.
# 5.0: relatedness (§6): the datasets relatedness, complexity and opportunities; the networking
# indicators relatedness_density and related_sectors_lq (and their scores) in scores.
# 6.0: cluster definitions and backtests (§7, §8): the datasets cluster_definitions,
# selection_history and backtest; scores and selection may hold data-driven clusters (candidates).
SCHEMA_VERSION = "6.0.0"

_f64 = pa.float64()
_str = pa.string()

GROWTH_FIELDS = [
    pa.field("employment_cagr", _f64),
    pa.field("national_sector_employment_cagr", _f64),
    pa.field("exports_cagr", _f64),
    pa.field("shift_national", _f64),
    pa.field("shift_industry_mix", _f64),
    pa.field("shift_regional", _f64),
]
CLASSIFICATION_FIELDS = [
    pa.field("cmp_qualifying", pa.bool_()),
    pa.field("cmp_significant", pa.bool_()),
    pa.field("cmp_strong", pa.bool_()),
    pa.field("cmp_strong10", pa.bool_()),
    pa.field("eco_stars", pa.int8()),
]
EXPLANATION_FIELDS = [
    pa.field("contribution_economic_impact", _f64),
    pa.field("contribution_demand", _f64),
    pa.field("contribution_networking", _f64),
    pa.field("contribution_factor_conditions", _f64),
    pa.field("top_indicators", _str),
    pa.field("weakest_indicators", _str),
    pa.field("robustness_share", _f64),
    pa.field("robust", pa.bool_()),
]

CRITERIA_FIELDS = [
    pa.field("economic_impact", _f64),
    pa.field("demand", _f64),
    pa.field("networking", _f64),
    pa.field("factor_conditions", _f64),
]

INDICATORS = pa.schema(
    [
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("employment", _f64),
        pa.field("establishments", _f64),
        pa.field("exports", _f64),
        pa.field("turnover", _f64),
        pa.field("region_employment", _f64),
        pa.field("national_sector_employment", _f64),
        pa.field("national_employment", _f64),
        pa.field("lq_employment", _f64),
        pa.field("lq_establishments", _f64),
        pa.field("lq_exports", _f64),
        pa.field("focus", _f64),
        pa.field("national_share", _f64),
        pa.field("avg_firm_size", _f64),
        pa.field("export_intensity", _f64),
        pa.field("growth_years", pa.int16()),
        *GROWTH_FIELDS,
        *CLASSIFICATION_FIELDS,
        pa.field("cmp_lq_percentile", pa.int16()),
        pa.field("cmp_employment_percentile", pa.int16()),
        pa.field("cmp_establishments_percentile", pa.int16()),
        pa.field("eco_size_star", pa.bool_()),
        pa.field("eco_specialisation_star", pa.bool_()),
        pa.field("eco_focus_star", pa.bool_()),
        pa.field("null_reason", _str),
    ]
)

GROWTH = pa.schema(
    [
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("sector_code", _str, nullable=False),  # '*' = the province's sums
        pa.field("sector_name", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("span_years", pa.int16(), nullable=False),
        *GROWTH_FIELDS,
    ]
)

CONCENTRATION = pa.schema(
    [
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("regions", pa.int16()),
        pa.field("herfindahl", _f64),
        pa.field("herfindahl_normalised", _f64),
        pa.field("eg_gamma", _f64),
        pa.field("eg_plant_herfindahl", _f64),
        pa.field("eg_plants", pa.int32()),
        pa.field("eg_regions", pa.int16()),
        pa.field("null_reason", _str),
        pa.field("eg_null_reason", _str),
    ]
)

# Where a province's rows come from: the run that computed them (this publication's, or an
# earlier one's when they were carried over) and the parameter set it used (manifest
# ``parameter_sets``). ``run_id`` is always the publication's.
PROVENANCE_FIELDS = [
    pa.field("computed_in_run", _str, nullable=False),
    pa.field("parameters_id", _str, nullable=False),
]

CONSULTATION = pa.schema(
    [
        pa.field("run_id", _str, nullable=False),
        *PROVENANCE_FIELDS,
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("meeting_date", pa.date32()),
        pa.field("institution", _str),
        pa.field("institution_type", _str),
        pa.field("sector_code", _str),
        pa.field("stance", _str),
        pa.field("selected_sector_code", _str),
        pa.field("agrees", pa.bool_()),
        pa.field("assessment", _str),
        pa.field("note", _str),
    ]
)

# The four criteria of the programme and the indicators each averages (methodology.md §4; the
# assignment is kume's reconstruction). Scoring reads it; the scores dataset has a column per
# indicator and per indicator's score.
CRITERIA: dict[str, list[str]] = {
    "economic_impact": [
        "employment",
        "establishments",
        "lq_employment",
        "focus",
        "exports",
        "national_share",
        "turnover_try",
    ],
    "demand": ["national_sector_employment_cagr", "employment_cagr", "exports_cagr", "lq_exports", "shift_regional"],
    "networking": [
        "firms",
        "sme_share",
        "top_district_share",
        "associations",
        "joint_projects",
        "cooperation_willingness",
        "relatedness_density",  # §6.7: related and supporting industries (Delgado-Porter-Stern)
        "related_sectors_lq",
    ],
    "factor_conditions": [
        "programmes",
        "graduates",
        "rd_design_centres",
        "specialised_zones",
        "testing_labs",
        "higher_education_share",
        "airport_access",
    ],
}
SCORE_INDICATORS = [name for names in CRITERIA.values() for name in names]

# What a ranked sector carries, in scores and selection alike.
RANKING_FIELDS = [
    pa.field("rank", pa.int32(), nullable=False),
    pa.field("total_score", _f64),
    *CRITERIA_FIELDS,
    pa.field("eligible", pa.bool_(), nullable=False),
    pa.field("gate_failures", _str),
    pa.field("selected", pa.bool_(), nullable=False),
    pa.field("size_rank", pa.int32()),
    pa.field("size_basis", _str),
    *EXPLANATION_FIELDS,
    *CLASSIFICATION_FIELDS,
]

SCORES = pa.schema(
    [
        pa.field("run_id", _str, nullable=False),
        *PROVENANCE_FIELDS,
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("cluster_name", _str),
        *RANKING_FIELDS,
        pa.field("carried_over_from", _str),
        pa.field("export_intensity", _f64),
        pa.field("indicators_missing", _str),
        pa.field("indicators_constant", _str),
        *[pa.field(name, _f64) for name in SCORE_INDICATORS],
        *[pa.field(f"score_{name}", _f64) for name in SCORE_INDICATORS],
    ]
)

SELECTION = pa.schema(
    [
        pa.field("run_id", _str, nullable=False),
        *PROVENANCE_FIELDS,
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("host", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("cluster_name", _str),
        pa.field("nace_classes", pa.list_(_str)),
        *RANKING_FIELDS,
        pa.field("largest_sector_code", _str),
        pa.field("largest_sector_name", _str),
        pa.field("largest_cluster_name", _str),
        pa.field("programme_sector_code", _str),
        pa.field("consultation_support", pa.int32()),
        pa.field("consultation_neutral", pa.int32()),
        pa.field("consultation_oppose", pa.int32()),
        pa.field("consultation_agreement", _f64),
        pa.field("consultation_disagreements", pa.int32()),
        pa.field("carried_over_from", _str),
    ]
)

QUALITY = pa.schema(
    [
        pa.field("run_id", _str, nullable=False),
        pa.field("source", _str, nullable=False),
        pa.field("file", _str),
        pa.field("sha256", _str),
        pa.field("rows_in", pa.int64(), nullable=False),
        pa.field("rows_accepted", pa.int64(), nullable=False),
        pa.field("rows_quarantined", pa.int64(), nullable=False),
        pa.field("failed_rules", _str),
        pa.field("error", _str),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("run_id", _str, nullable=False),
        pa.field("source", _str, nullable=False),
        pa.field("file", _str, nullable=False),
        pa.field("row", pa.int64(), nullable=False),
        pa.field("column", _str),
        pa.field("rule", _str, nullable=False),
        pa.field("message", _str),
        pa.field("raw_value", _str),
    ]
)

# Relatedness, complexity and opportunities (methodology.md §6), national: every province and
# class in each year with a full window of years (window_years) ending in ``year``.
RELATEDNESS = pa.schema(
    [
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("related_sector_code", _str, nullable=False),
        pa.field("related_sector_name", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("window_years", pa.int16(), nullable=False),
        pa.field("proximity", _f64),
        pa.field("co_occurrence", pa.int16()),
    ]
)

COMPLEXITY = pa.schema(
    [
        pa.field("level", _str, nullable=False),  # 'province' (diversity, eci, coi) or 'sector' (ubiquity, pci)
        pa.field("plate_code", pa.int16()),
        pa.field("province", _str),
        pa.field("sector_code", _str),
        pa.field("sector_name", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("window_years", pa.int16(), nullable=False),
        pa.field("diversity", pa.int16()),
        pa.field("ubiquity", pa.int16()),
        pa.field("eci", _f64),
        pa.field("pci", _f64),
        pa.field("coi", _f64),
        pa.field("null_reason", _str),
    ]
)

SUPPORTS = 3  # the present sectors named with each opportunity (§6.6)
OPPORTUNITIES = pa.schema(
    [
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("window_years", pa.int16(), nullable=False),
        pa.field("rank", pa.int32()),
        pa.field("density", _f64),
        pa.field("cog", _f64),
        pa.field("pci", _f64),
        pa.field("rca", _f64),
        pa.field("national_sector_employment_cagr", _f64),
        *[
            pa.field(f"support_{n}_{part}", _f64 if part == "proximity" else _str)
            for n in range(1, SUPPORTS + 1)
            for part in ("sector_code", "sector_name", "proximity")
        ],
        pa.field("null_reason", _str),
    ]
)

# Cluster definitions from co-location (methodology.md §7): one row per member class of each
# data-driven cluster of the window of window_years ending in ``year``.
CLUSTER_DEFINITIONS = pa.schema(
    [
        pa.field("year", pa.int16(), nullable=False),
        pa.field("window_years", pa.int16(), nullable=False),
        pa.field("cluster_id", _str, nullable=False),
        pa.field("cluster_name", _str),
        pa.field("name_source", _str),  # 'programme' or 'largest_class'
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("cluster_size", pa.int16()),
        pa.field("cluster_employment", _f64),
        pa.field("clusters", pa.int16()),
        pa.field("vs_industry", _f64),
        pa.field("vs_cluster", _f64),
        pa.field("sector_passes_vs", pa.bool_()),
        pa.field("cluster_passes_vs", pa.bool_()),
        pa.field("within_relatedness", _f64),
        pa.field("weak_link_share", _f64),
        pa.field("stability_province_ari_mean", _f64),
        pa.field("stability_province_ari_min", _f64),
        pa.field("least_stable_plate_code", pa.int16()),
        pa.field("stability_previous_window_ari", _f64),
        pa.field("stability_next_window_ari", _f64),
        pa.field("expert_sector_code", _str),
        pa.field("expert_overlap", _f64),
        pa.field("expert_shared_classes", _str),
    ]
)

# The selection of every reference year the data allow, each from the data up to that year
# (methodology.md §8.1): the top three of each province and year.
SELECTION_HISTORY = pa.schema(
    [
        pa.field("plate_code", pa.int16(), nullable=False),
        pa.field("province", _str),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("sector_code", _str, nullable=False),
        pa.field("sector_name", _str),
        pa.field("total_score", _f64),
        pa.field("robust", pa.bool_()),
        pa.field("robust_share", _f64),
        pa.field("snapshot_inputs", pa.bool_(), nullable=False),
        pa.field("run_id", _str, nullable=False),
        *PROVENANCE_FIELDS,
        pa.field("carried_over_from", _str),
    ]
)

# Backtests (methodology.md §8), tidy: one row per origin year, horizon, test, method and metric.
BACKTEST = pa.schema(
    [
        pa.field("origin_year", pa.int16(), nullable=False),
        pa.field("horizon", pa.int16(), nullable=False),
        pa.field("test", _str, nullable=False),  # 'entry' or 'selection'
        pa.field("method", _str, nullable=False),
        pa.field("metric", _str, nullable=False),
        pa.field("value", _f64),
        pa.field("n", pa.int32()),
    ]
)

# Hive-style partition columns: readers of one year touch only that year's files.
PARTITIONS: dict[str, list[str]] = {
    "indicators": ["year"],
    "growth": ["year"],
    "relatedness": ["year"],
    "complexity": ["year"],
    "opportunities": ["year"],
    "cluster_definitions": ["year"],
}

DATASETS: dict[str, tuple[pa.Schema, list[str]]] = {
    # name -> (schema, sort keys that fix the row order)
    "indicators": (INDICATORS, ["plate_code", "sector_code", "year"]),
    "scores": (SCORES, ["plate_code", "rank"]),
    "selection": (SELECTION, ["plate_code", "rank"]),
    "growth": (GROWTH, ["plate_code", "sector_code", "year", "span_years"]),
    "concentration": (CONCENTRATION, ["sector_code", "year"]),
    "consultation": (CONSULTATION, ["plate_code", "meeting_date", "institution", "sector_code"]),
    "quality": (QUALITY, ["source", "file"]),
    "quarantine": (QUARANTINE, ["source", "file", "row", "rule"]),
    "relatedness": (RELATEDNESS, ["sector_code", "related_sector_code", "year"]),
    "complexity": (COMPLEXITY, ["level", "plate_code", "sector_code", "year"]),
    "opportunities": (OPPORTUNITIES, ["plate_code", "year", "rank", "sector_code"]),
    "cluster_definitions": (CLUSTER_DEFINITIONS, ["year", "cluster_id", "sector_code"]),
    "selection_history": (SELECTION_HISTORY, ["plate_code", "year", "rank"]),
    "backtest": (BACKTEST, ["test", "origin_year", "horizon", "method", "metric"]),
}
