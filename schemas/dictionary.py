"""The data dictionary of the published datasets: for every column its unit, meaning, the
formula it comes from (``docs/methodology.md`` sections) and the function that computes it
(``COMPUTED_IN``). ``docs/data_dictionary.md`` is generated from it together with the pyarrow
schemas (``python -m schemas.dictionary``). The functions are named as strings: schemas imports
nothing of the project's code; ``tests/schemas/test_dictionary.py`` resolves every entry and
proves it is the only place its column is written."""

from __future__ import annotations

from pathlib import Path

from schemas.outputs import CRITERIA, DATASETS, PARTITIONS, SCHEMA_VERSION, SCORE_INDICATORS, SUPPORTS

M = "docs/methodology.md"
COLUMNS: dict[str, tuple[str, str, str]] = {
    # name: (unit, meaning, formula / reference)
    "run_id": (
        "",
        "publication id: hash of input file hashes, parameters and code version (and, for a publication "
        "carrying provinces over, the runs they come from); every row of a publication has its id",
        "tasks/publish/snapshot.py (run_identity)",
    ),
    "computed_in_run": (
        "",
        "run that computed the row: run_id, or the earlier run whose rows this publication carried over "
        "(a province outside the run's provinces, or whose inputs failed)",
        "manifest provinces",
    ),
    "parameters_id": (
        "",
        "parameter set the row was computed with: 12 hex characters of its hash; the full set is in the "
        "manifest's parameter_sets",
        "manifest parameter_sets",
    ),
    "plate_code": ("", "province plate code (1-81)", "data/reference/tr_provinces.csv"),
    "province": ("", "province name (Turkish)", "data/reference/tr_provinces.csv"),
    "host": ("", "local partner hosting the province's Cluster Information Centre", f"{M} §5"),
    "year": ("year", "reference year of the figures", ""),
    "sector_code": ("", "NACE Rev.2 class (dotted, e.g. 28.93); '*' = the province's sums (growth)", f"{M} §1.3"),
    "sector_name": ("", "NACE Rev.2 class name (English; data/reference/nace_rev2_section_c.csv)", f"{M} §1.3"),
    "cluster_name": (
        "",
        "name of the programme's cluster whose main class this is (English; data/reference/cluster_sectors.csv), "
        "else null",
        f"{M} §5",
    ),
    "nace_classes": ("", "the cluster's NACE classes: main class then related classes", f"{M} §5"),
    "employment": ("persons", "insured employees (SGK) e(r,s,t)", f"{M} §1.1"),
    "establishments": ("workplaces", "SGK workplaces f(r,s,t)", f"{M} §1.1"),
    "exports": ("USD", "exports x(r,s,t), allocated from exporter sectors by employment shares", f"{M} §1.5"),
    "turnover": ("USD", "turnover_try at the year's average USD/TRY rate (reference year)", f"{M} §1.6"),
    "turnover_try": (
        "TRY",
        "net sales: the chamber registry's member firms (Ciro), else the agency's sector_turnover "
        "(division figures allocated to classes by employment); see size_basis",
        f"{M} §1.6",
    ),
    "region_employment": ("persons", "E(r,t): the province's total over the reference universe", f"{M} §1.2"),
    "national_sector_employment": ("persons", "E(N,s,t): published national total of the sector", f"{M} §1.2"),
    "national_employment": ("persons", "E(N,t): published national total of the universe", f"{M} §1.2"),
    "lq_employment": ("ratio", "location quotient on employment (e/E(r)) / (E(N,s)/E(N))", f"{M} §2.1"),
    "lq_establishments": ("ratio", "location quotient on establishments", f"{M} §2.1"),
    "lq_exports": ("ratio", "Balassa's revealed comparative advantage: LQ on exports", f"{M} §2.1"),
    "focus": ("share", "share of the province's employment e / E(r)", f"{M} §2.2"),
    "national_share": ("share", "share of the nation's sector employment e / E(N,s)", f"{M} §2.2"),
    "avg_firm_size": ("persons", "employment per establishment e / f", f"{M} §2.2"),
    "export_intensity": ("share", "exports / turnover (same currency)", f"{M} §2.2"),
    "growth_years": ("years", "span k of the CAGR and shift-share columns", f"{M} §2.3"),
    "span_years": ("years", "span k of the row's CAGR and shift-share", f"{M} §2.3"),
    "employment_cagr": ("share per year", "(e(t)/e(t-k))^(1/k) - 1", f"{M} §2.3"),
    "national_sector_employment_cagr": ("share per year", "CAGR of the national sector total", f"{M} §2.3"),
    "exports_cagr": ("share per year", "CAGR of exports", f"{M} §2.3"),
    "shift_national": ("persons", "Dunn NS = e0 (N1/N0 - 1)", f"{M} §2.4"),
    "shift_industry_mix": ("persons", "Dunn IM = e0 (n1/n0 - N1/N0)", f"{M} §2.4"),
    "shift_regional": ("persons", "Dunn RS = e0 (e1/e0 - n1/n0); NS + IM + RS = e1 - e0", f"{M} §2.4"),
    "cmp_qualifying": ("flag", "US CMP: LQ > P25 and e > P25 and f > P25", f"{M} §3.1"),
    "cmp_significant": ("flag", "US CMP: LQ > P50 and e > P25 and f > P25", f"{M} §3.1"),
    "cmp_strong": ("flag", "US CMP: LQ >= P75, LQ >= 1, e > P25, f > P25", f"{M} §3.1"),
    "cmp_strong10": ("flag", "US CMP: LQ >= P90, LQ >= 1, e > P25, f > P25", f"{M} §3.1"),
    "cmp_lq_percentile": ("0-100", "US CMP percentile rank of LQ: round(100/n (i + 0.5))", f"{M} §3.1"),
    "cmp_employment_percentile": ("0-100", "US CMP percentile rank of employment", f"{M} §3.1"),
    "cmp_establishments_percentile": ("0-100", "US CMP percentile rank of establishments", f"{M} §3.1"),
    "eco_size_star": ("flag", "ECO: province in the top 10 % of the region set by employment", f"{M} §3.2"),
    "eco_specialisation_star": ("flag", "ECO: LQ >= 2", f"{M} §3.2"),
    "eco_focus_star": ("flag", "ECO: province in the top 10 % by focus", f"{M} §3.2"),
    "eco_stars": ("0-3", "number of ECO stars", f"{M} §3.2"),
    "null_reason": ("", "why a value of the row is null (indicator: reason)", f"{M} §2.6"),
    "regions": ("count", "regions in the set that year (n)", f"{M} §2.5"),
    "herfindahl": ("0-1", "H = sum of the regions' squared shares of the sector", f"{M} §2.5"),
    "herfindahl_normalised": ("0-1", "H* = (H - 1/n) / (1 - 1/n)", f"{M} §2.5"),
    "eg_gamma": ("index", "Ellison-Glaeser gamma from registry plants", f"{M} §2.5"),
    "eg_plant_herfindahl": ("0-1", "H_p: Herfindahl of the sector's plant employment shares", f"{M} §2.5"),
    "eg_plants": ("count", "registry plants of the sector", f"{M} §2.5"),
    "eg_regions": ("count", "provinces with registries (gamma's region set)", f"{M} §2.5"),
    "eg_null_reason": ("", "why gamma is null (one plant, one region)", f"{M} §2.5"),
    "rank": ("", "rank in the province: eligible sectors first, by total score (1 = best)", f"{M} §4.5"),
    "total_score": ("0-100", "weighted mean of the criteria present", f"{M} §4.3"),
    "economic_impact": ("0-100", "Economic Impact criterion score", f"{M} §4"),
    "demand": ("0-100", "Demand criterion score", f"{M} §4"),
    "networking": ("0-100", "Networking & Cooperation criterion score", f"{M} §4"),
    "factor_conditions": ("0-100", "Factor Conditions criterion score", f"{M} §4"),
    "contribution_economic_impact": ("points", "Economic Impact's share of the total score", f"{M} §4.7"),
    "contribution_demand": ("points", "Demand's share of the total score", f"{M} §4.7"),
    "contribution_networking": ("points", "Networking & Cooperation's share of the total", f"{M} §4.7"),
    "contribution_factor_conditions": ("points", "Factor Conditions' share of the total score", f"{M} §4.7"),
    "top_indicators": ("points", "indicators that lifted the total most against the province mean", f"{M} §4.7"),
    "weakest_indicators": ("points", "indicators that lowered it most", f"{M} §4.7"),
    "robustness_share": ("share", "share of weight draws in which the sector ranks first", f"{M} §4.6"),
    "robust": ("flag", "selected and robustness_share >= 0.75", f"{M} §4.6"),
    "eligible": ("flag", "passes every eligibility gate", f"{M} §4.4"),
    "gate_failures": ("", "the gates failed, with values and thresholds", f"{M} §4.4"),
    "selected": ("flag", "the province's selection (rank 1 and eligible)", f"{M} §4.5"),
    "size_rank": (
        "",
        "rank by size in the province (1 = largest): by turnover_try, or by employment where size_basis is "
        "employment; null where the sector has no turnover on a turnover basis",
        f"{M} §4.5",
    ),
    "size_basis": (
        "",
        "what size_rank compares: turnover_registry (the chamber's Ciro), turnover_agency (sector_turnover), "
        "or employment (the province has no turnover data)",
        f"{M} §4.5",
    ),
    "largest_sector_code": ("", "the province's largest sector on its size_basis (size_rank 1)", f"{M} §4.5"),
    "largest_sector_name": ("", "its NACE class name", f"{M} §4.5"),
    "largest_cluster_name": ("", "its programme cluster's name, else null (as cluster_name)", f"{M} §5"),
    "programme_sector_code": ("", "the programme's published selection for the province", f"{M} §5"),
    "consultation_support": ("count", "stakeholder records supporting this sector", f"{M} §4.8"),
    "consultation_neutral": ("count", "stakeholder records neutral on this sector", f"{M} §4.8"),
    "consultation_oppose": ("count", "stakeholder records opposing this sector", f"{M} §4.8"),
    "consultation_agreement": ("share", "agreeing / (agreeing + disagreeing) records in the province", f"{M} §4.8"),
    "consultation_disagreements": ("count", "records disagreeing with the selection", f"{M} §4.8"),
    "carried_over_from": (
        "",
        "computed_in_run when the row was carried over from an earlier run (the province was not recomputed: "
        "not among the run's provinces, or its inputs failed), else null",
        "README",
    ),
    "indicators_missing": ("", "indicators without a value for the sector (dropped, reweighted)", f"{M} §4.1"),
    "indicators_constant": ("", "indicators without variation in the province (dropped for all)", f"{M} §4.1"),
    "firms": ("count", "member firms in the chamber registry", f"{M} §4.2"),
    "sme_share": ("share", "firms with < 250 employees among firms of known size", f"{M} §2.2"),
    "top_district_share": ("share", "share of the registry's employment in the top district", f"{M} §4.2"),
    "associations": ("count", "sector associations and cooperatives", f"{M} §4.2"),
    "joint_projects": ("count", "cluster initiatives and joint projects", f"{M} §4.2"),
    "cooperation_willingness": ("1-5", "mean surveyed willingness to cooperate (Likert)", f"{M} §4.2"),
    "programmes": ("count", "related university and vocational programmes", f"{M} §4.2"),
    "graduates": ("persons", "their graduates", f"{M} §4.2"),
    "rd_design_centres": ("count", "R&D and design centres", f"{M} §4.2"),
    "specialised_zones": ("count", "specialised industrial zones", f"{M} §4.2"),
    "testing_labs": ("count", "testing laboratories", f"{M} §4.2"),
    "higher_education_share": ("%", "share of population with higher education (TÜİK 2015)", f"{M} §4.2"),
    "airport_access": ("%", "access to an airport (TÜİK 2015)", f"{M} §4.2"),
    "source": ("", "input source name", "schemas/inputs.py"),
    "file": ("", "input file (inbox/ prefix for inbox files; <db>:<table> for the database)", ""),
    "sha256": ("", "content hash of the input file", ""),
    "rows_in": ("rows", "rows read from the file", ""),
    "rows_accepted": ("rows", "rows that passed every rule", ""),
    "rows_quarantined": ("rows", "rows set aside with a reason (rows_in = accepted + quarantined)", ""),
    "failed_rules": ("", "rule codes with their counts", "expectations/"),
    "error": (
        "",
        "why the file could not be read at all; `NOT READ: <reason>` for a file in a source folder that was not "
        "taken (hidden or temporary, .xls, another ending, a link outside the data folder)",
        "",
    ),
    "row": ("", "line in the file (header = 1) or sheet row; database: record id", ""),
    "column": ("", "column the rule checks", ""),
    "rule": ("", "rule code of the failed expectation", "expectations/"),
    "message": ("", "what the rule requires", "expectations/"),
    "raw_value": ("", "the value as the file wrote it", ""),
    "meeting_date": ("date", "consultation meeting date", ""),
    "institution": ("", "participating institution", ""),
    "institution_type": ("", "chamber, development agency, university, NGO, ...", ""),
    "stance": ("", "support / neutral / oppose", f"{M} §4.8"),
    "selected_sector_code": ("", "the province's selected sector", f"{M} §4.8"),
    "agrees": ("flag", "the record agrees with the selection (null: neutral)", f"{M} §4.8"),
    "assessment": ("", "how the record stands against the selection", f"{M} §4.8"),
    "note": ("", "free-text note of the record", ""),
    "relatedness_density": (
        "0-1",
        "density of the sector among the province's present sectors: sum_j M(r,j) phi(s,j) / sum_j phi(s,j), "
        "in the reference year, to 12 decimals",
        f"{M} §6.7",
    ),
    "related_sectors_lq": (
        "ratio",
        "employment LQ of the sector's related sectors taken together (phi > 0 at or above the 90th "
        "percentile of its row), in the reference year",
        f"{M} §6.7",
    ),
    "related_sector_code": ("", "the other NACE class of the pair", f"{M} §6.2"),
    "related_sector_name": ("", "its NACE class name", f"{M} §6.2"),
    "window_years": ("years", "years averaged (ending in year) before presence is decided", f"{M} §6.1"),
    "proximity": (
        "0-1",
        "phi(i,j) = C(i,j) / max(u(i), u(j)): the provinces having both over the more ubiquitous",
        f"{M} §6.2",
    ),
    "co_occurrence": ("count", "C(i,j): provinces where both classes are present", f"{M} §6.2"),
    "level": ("", "what the row describes: province (diversity, eci, coi) or sector (ubiquity, pci)", f"{M} §6.4"),
    "diversity": ("count", "k(r,0): classes present in the province", f"{M} §6.4"),
    "ubiquity": ("count", "k(s,0): provinces where the class is present", f"{M} §6.4"),
    "eci": ("index", "economic complexity index: standardised over the provinces (mean 0, sd 1)", f"{M} §6.4"),
    "pci": ("index", "product complexity index, on the ECI's scale", f"{M} §6.4"),
    "coi": ("index", "complexity outlook: sum_s density (1 - M) PCI over the classes not present", f"{M} §6.5"),
    "density": (
        "0-1",
        "relatedness density: sum_j M(r,j) phi(s,j) / sum_j phi(s,j), to 12 decimals (the digits after them "
        "differ between CPUs)",
        f"{M} §6.3",
    ),
    "cog": ("index", "complexity outlook gain of acquiring the class, to 12 decimals", f"{M} §6.5"),
    "rca": ("ratio", "revealed comparative advantage: LQ on window-average employment (present at >= 1)", f"{M} §6.1"),
    "cluster_id": (
        "",
        "data-driven cluster of the window: c01, c02, ... by descending employment in year",
        f"{M} §7.7",
    ),
    "name_source": (
        "",
        "where cluster_name comes from: programme (the curated name of the programme cluster whose main class the "
        "cluster holds, with an expert_overlap of at least 0.5) or largest_class (the NACE class name of its "
        "largest member by employment in year)",
        f"{M} §7.7",
    ),
    "cluster_size": ("count", "member classes of the cluster", f"{M} §7.3"),
    "cluster_employment": ("persons", "the cluster's national employment in year (its members' sum)", f"{M} §7.7"),
    "clusters": ("count", "number of clusters of the definition, chosen by the validation scores", f"{M} §7.3"),
    "vs_industry": (
        "share",
        "VS-industry: share of classes whose mean R to their own cluster exceeds that to every other cluster",
        f"{M} §7.4",
    ),
    "vs_cluster": (
        "share",
        "VS-cluster: share of clusters whose mean R within exceeds their mean R to every other cluster",
        f"{M} §7.4",
    ),
    "sector_passes_vs": (
        "flag",
        "the class is more related to its own cluster than to any other (VS-industry)",
        f"{M} §7.4",
    ),
    "cluster_passes_vs": (
        "flag",
        "the cluster is more related within than to any other cluster (VS-cluster)",
        f"{M} §7.4",
    ),
    "within_relatedness": (
        "0-1",
        "mean R(i,j) over the cluster's pairs of member classes; null for one class",
        f"{M} §7.2",
    ),
    "weak_link_share": (
        "share",
        "share of the cluster's pairs whose log(1 + LQ) correlation is below 0.22 in absolute value (noise with "
        "81 provinces) or has no value; null for one class",
        f"{M} §7.6",
    ),
    "stability_province_ari_mean": (
        "index",
        "mean adjusted Rand index between the definition and those leaving one province out (same count)",
        f"{M} §7.5",
    ),
    "stability_province_ari_min": ("index", "the lowest of those indices", f"{M} §7.5"),
    "least_stable_plate_code": (
        "",
        "the province whose leaving out changes the definition most (lowest index; null when none changes it)",
        f"{M} §7.5",
    ),
    "stability_previous_window_ari": (
        "index",
        "adjusted Rand index against the definition (same count) of the window ending a year earlier; null when "
        "that window is not wholly in the data",
        f"{M} §7.5",
    ),
    "stability_next_window_ari": (
        "index",
        "adjusted Rand index against the window ending a year later; null when it is not wholly in the data",
        f"{M} §7.5",
    ),
    "expert_sector_code": (
        "",
        "the programme cluster (by its main class) whose expert list (main and related classes) overlaps the "
        "cluster most (Jaccard); null when no list shares a class",
        f"{M} §7.7",
    ),
    "expert_overlap": ("0-1", "that Jaccard overlap: shared classes / classes in either", f"{M} §7.7"),
    "expert_shared_classes": ("", "the classes both hold, space-separated", f"{M} §7.7"),
    "robust_share": ("share", "share of weight draws in which the sector ranks first (robustness_share)", f"{M} §4.6"),
    "snapshot_inputs": (
        "flag",
        "whether the undated snapshot inputs (registries, agency database, sector turnover) entered the year's "
        "selection: only in the run's reference year, so nothing after a year enters its selection",
        f"{M} §8.1",
    ),
    "origin_year": ("year", "t0: the year whose data alone the method read (everything recomputed)", f"{M} §8"),
    "horizon": ("years", "h: the outcome is read at t0 + h (entries confirmed at t0 + h + 1)", f"{M} §8"),
    "test": ("", "entry (does density predict the sectors a province enters?) or selection (do they grow?)", f"{M} §8"),
    "method": (
        "",
        "entry: density, rca_below_one, national_growth or random (the baselines); selection: selected (rank 1 "
        "and eligible at t0) or cmp_strong (CMP strong clusters at t0)",
        f"{M} §8",
    ),
    "metric": (
        "",
        "entry: precision_at_5, precision_at_10 (mean over provinces), pr_auc (pooled average precision), "
        "entry_rate; selection: growth, exit_share, growth_vs_matched, growth_vs_shift_share, effect_raw, "
        "effect_controlled, effect_controlled_se (log growth over t0..t0+h)",
        f"{M} §8.2, §8.3",
    ),
    "value": ("", "the metric's value (shares, or log growth differences)", f"{M} §8.2, §8.3"),
    "n": (
        "count",
        "what the value is over: provinces (precision), absent cells (pr_auc, entry_rate), sectors or pairs "
        "(growth), province x sector cells (effects)",
        f"{M} §8.2, §8.3",
    ),
}
_ORDINALS = {1: "first", 2: "second", 3: "third"}
for _n in range(1, SUPPORTS + 1):
    _which = _ORDINALS.get(_n, f"number {_n}")
    COLUMNS[f"support_{_n}_sector_code"] = (
        "",
        f"the {_which} present class giving the opportunity its density (largest phi(s,j) M(r,j))",
        f"{M} §6.6",
    )
    COLUMNS[f"support_{_n}_sector_name"] = ("", "its NACE class name", f"{M} §6.6")
    COLUMNS[f"support_{_n}_proximity"] = ("0-1", "its proximity phi(s,j) to the opportunity", f"{M} §6.6")
for _indicator in SCORE_INDICATORS:
    COLUMNS[f"score_{_indicator}"] = ("0-100", f"percentile score of {_indicator} within the province", f"{M} §4.1")

# A column whose meaning in one dataset is narrower than COLUMNS says (the same name and type).
_WINDOW_YEAR = ("year", "last year of the window the figures are averaged over (window_years)", f"{M} §6.1")
COLUMNS_IN_DATASET: dict[str, dict[str, tuple[str, str, str]]] = {
    "relatedness": {"year": _WINDOW_YEAR},
    "complexity": {
        "year": _WINDOW_YEAR,
        "plate_code": ("", "province plate code (1-81); null on sector rows", "data/reference/tr_provinces.csv"),
        "sector_code": ("", "NACE Rev.2 class (dotted, e.g. 28.93); null on province rows", f"{M} §1.3"),
        "null_reason": ("", "why eci, pci or coi is null (no class present, a disconnected network)", f"{M} §6.4"),
    },
    "opportunities": {
        "year": _WINDOW_YEAR,
        "rank": (
            "",
            "rank of the opportunity in the province and year: by density, then cog (both to 12 decimals, so "
            "that equal figures tie on every CPU), then class code (1 = best); null where the density is not defined",
            f"{M} §6.6",
        ),
        "national_sector_employment_cagr": (
            "share per year",
            "CAGR of the national sector total over growth_years ending in year (the indicators dataset's)",
            f"{M} §2.3",
        ),
        "null_reason": ("", "why density is null (the class is present in no province)", f"{M} §6.3"),
    },
    "selection_history": {
        "year": ("year", "reference year of the selection, computed from the data up to it only", f"{M} §8.1"),
        "rank": ("", "rank in the province that year: eligible sectors first, by total score (1-3)", f"{M} §8.1"),
    },
    "cluster_definitions": {
        "year": ("year", "last year of the window the co-location measures are averaged over", f"{M} §7.1"),
        "window_years": ("years", "years of the window (ending in year) the measures are averaged over", f"{M} §7.1"),
        "sector_code": ("", "NACE Rev.2 class (dotted, e.g. 28.93): a member of the cluster", f"{M} §7.3"),
        "cluster_name": (
            "",
            "the cluster's name: the programme's curated name or its largest class's name (name_source)",
            f"{M} §7.7",
        ),
    },
}


def column(dataset: str, name: str) -> tuple[str, str, str]:
    """Unit, meaning and reference of ``name`` in ``dataset``."""
    return COLUMNS_IN_DATASET.get(dataset, {}).get(name, COLUMNS[name])


# Where each published column is computed: ``module:function``. The rule (stated on the page):
# a column is computed in the function that writes it under its published name on its way into
# the dataset (an assignment, a constructor, a rename, an aggregation); merges, concatenation,
# selection and sorting pass it on unchanged. A column the dataset takes unchanged from a
# source's rows is computed in that source's normaliser; one taken from a reference table, in
# the builder that takes it in. By column name; ``COMPUTED_IN_DATASET`` where a dataset gets a
# column elsewhere.
_FACTS = "tasks.methods.sector_facts"
_INDICATORS = "tasks.methods.indicators"
_CLASSES = "tasks.methods.classifications"
_SCORING = "tasks.methods.scoring:score_candidates"
_SCORES = "tasks.datasets.scores:build_scores"
_SELECTION = "tasks.datasets.selection:build_selection"
_REVIEW = "tasks.datasets.consultation:consultation_review"
_CONSULTED = "tasks.sources.consultation:normalize_consultation"
_QUALITY = "tasks.datasets.quality:quality_rows"
_VALIDATE = "tasks.validate:_check"
_RELATED = "tasks.methods.relatedness"
_COLOCATION = "tasks.methods.colocation"
_CLUSTER_DEFINITIONS = "tasks.datasets.cluster_definitions:build_cluster_definitions"
COMPUTED_IN: dict[str, str] = {
    "run_id": _SCORES,
    "computed_in_run": _SCORES,
    "parameters_id": _SCORES,
    "plate_code": f"{_FACTS}:candidate_table",
    "province": "tasks.datasets.names:with_province",
    "host": _SELECTION,
    "year": _SCORES,
    "sector_code": f"{_FACTS}:sgk_tables",
    "sector_name": "tasks.datasets.names:sector_names",
    "cluster_name": "tasks.datasets.names:sector_names",
    "nace_classes": "tasks.datasets.selection:cluster_classes",
    "employment": "tasks.sources.sgk_employment:normalize_sgk",
    "establishments": "tasks.sources.sgk_employment:normalize_sgk",
    "exports": f"{_FACTS}:allocate_exports",
    "turnover": f"{_FACTS}:turnover_usd",
    "turnover_try": f"{_FACTS}:registry_features",
    "region_employment": f"{_INDICATORS}:_region_totals",
    "national_sector_employment": f"{_INDICATORS}:_national_totals",
    "national_employment": f"{_INDICATORS}:_national_totals",
    **dict.fromkeys(
        ["lq_employment", "lq_establishments", "lq_exports", "focus", "national_share", "avg_firm_size"],
        f"{_INDICATORS}:compute_indicators",
    ),
    **dict.fromkeys(
        ["export_intensity", "growth_years", "span_years", "null_reason"], f"{_INDICATORS}:compute_indicators"
    ),
    **dict.fromkeys(["employment_cagr", "national_sector_employment_cagr", "exports_cagr"], f"{_INDICATORS}:_growth"),
    **dict.fromkeys(["shift_national", "shift_industry_mix", "shift_regional"], f"{_INDICATORS}:shift_share"),
    **dict.fromkeys(
        ["cmp_qualifying", "cmp_significant", "cmp_strong", "cmp_strong10", "cmp_lq_percentile"],
        f"{_CLASSES}:cmp_classification",
    ),
    **dict.fromkeys(["cmp_employment_percentile", "cmp_establishments_percentile"], f"{_CLASSES}:cmp_classification"),
    **dict.fromkeys(
        ["eco_size_star", "eco_specialisation_star", "eco_focus_star", "eco_stars"], f"{_CLASSES}:eco_stars"
    ),
    **dict.fromkeys(["regions", "herfindahl", "herfindahl_normalised"], f"{_CLASSES}:herfindahl"),
    **dict.fromkeys(
        ["eg_gamma", "eg_plant_herfindahl", "eg_plants", "eg_regions", "eg_null_reason"],
        f"{_CLASSES}:ellison_glaeser",
    ),
    **dict.fromkeys(
        [
            "rank",
            "total_score",
            *CRITERIA,
            *(f"contribution_{criterion}" for criterion in CRITERIA),
            "eligible",
            "gate_failures",
            "selected",
            "size_rank",
            "robustness_share",
            "robust",
            "indicators_missing",
            "indicators_constant",
            *(f"score_{indicator}" for indicator in SCORE_INDICATORS),
        ],
        _SCORING,
    ),
    "top_indicators": "tasks.methods.scoring:indicator_impacts",
    "weakest_indicators": "tasks.methods.scoring:indicator_impacts",
    "size_basis": f"{_FACTS}:candidate_table",
    "largest_sector_code": _SELECTION,
    "largest_sector_name": _SELECTION,
    "largest_cluster_name": _SELECTION,
    "programme_sector_code": _SELECTION,
    **dict.fromkeys(
        ["consultation_support", "consultation_neutral", "consultation_oppose"],
        "tasks.datasets.consultation:consultation_counts",
    ),
    "consultation_agreement": _SELECTION,
    "consultation_disagreements": _SELECTION,
    "carried_over_from": "tasks.stages:carry_over",
    **dict.fromkeys(["firms", "sme_share", "top_district_share"], f"{_FACTS}:registry_features"),
    **dict.fromkeys(
        ["associations", "joint_projects", "programmes", "graduates", "rd_design_centres", "specialised_zones"],
        f"{_FACTS}:agency_features",
    ),
    **dict.fromkeys(["testing_labs", "cooperation_willingness"], f"{_FACTS}:agency_features"),
    **dict.fromkeys(["higher_education_share", "airport_access"], f"{_FACTS}:province_features"),
    **dict.fromkeys(
        ["source", "file", "sha256", "rows_in", "rows_accepted", "rows_quarantined", "failed_rules", "error"], _QUALITY
    ),
    **dict.fromkeys(["row", "column", "rule", "message", "raw_value"], _VALIDATE),
    **dict.fromkeys(["meeting_date", "institution", "institution_type", "stance", "note"], _CONSULTED),
    **dict.fromkeys(["selected_sector_code", "agrees", "assessment"], _REVIEW),
    **dict.fromkeys(["relatedness_density", "related_sectors_lq"], f"{_RELATED}:_strength"),
    **dict.fromkeys(
        ["related_sector_code", "proximity", "co_occurrence", "diversity", "ubiquity", "eci", "pci", "coi"],
        f"{_RELATED}:_one_window",
    ),
    "related_sector_name": "tasks.datasets.relatedness:build_relatedness",
    "level": "tasks.datasets.complexity:build_complexity",
    **dict.fromkeys(["density", "cog", "rca"], f"{_RELATED}:_opportunities"),
    **{
        f"support_{n}_{part}": f"{_RELATED}:_opportunities"
        for n in range(1, SUPPORTS + 1)
        for part in ("sector_code", "proximity")
    },
    **{f"support_{n}_sector_name": "tasks.datasets.opportunities:build_opportunities" for n in range(1, SUPPORTS + 1)},
    **dict.fromkeys(
        ["cluster_id", "sector_passes_vs", "within_relatedness", "cluster_passes_vs", "weak_link_share"],
        f"{_COLOCATION}:_describe",
    ),
    **dict.fromkeys(
        ["cluster_size", "cluster_employment", "clusters", "vs_industry", "vs_cluster"], _CLUSTER_DEFINITIONS
    ),
    **dict.fromkeys(
        [
            "stability_province_ari_mean",
            "stability_province_ari_min",
            "least_stable_plate_code",
            "stability_previous_window_ari",
            "stability_next_window_ari",
        ],
        "tasks.datasets.cluster_definitions:stability_columns",
    ),
    "name_source": "tasks.datasets.cluster_definitions:cluster_names",
    **dict.fromkeys(
        ["expert_sector_code", "expert_overlap", "expert_shared_classes"],
        "tasks.datasets.cluster_definitions:expert_overlaps",
    ),
    "robust_share": "tasks.datasets.selection_history:build_selection_history",
    "snapshot_inputs": "tasks.methods.history:score_history",
    **dict.fromkeys(
        ["origin_year", "horizon", "test", "method", "metric", "value", "n"], "tasks.methods.backtest:evaluate_origin"
    ),
}
_HISTORY = "tasks.datasets.selection_history:build_selection_history"
COMPUTED_IN_DATASET: dict[str, dict[str, str]] = {
    "indicators": {
        "plate_code": "tasks.datasets.indicators:build_indicators",
        "year": f"{_INDICATORS}:compute_indicators",
    },
    "growth": {"plate_code": "tasks.datasets.growth:build_growth", "year": f"{_INDICATORS}:compute_indicators"},
    "concentration": {"year": f"{_INDICATORS}:compute_indicators", "null_reason": f"{_CLASSES}:herfindahl"},
    "consultation": {"plate_code": _CONSULTED, "sector_code": _REVIEW},
    "quality": {"run_id": "tasks.datasets.quality:build_quality"},
    "quarantine": {"run_id": "tasks.datasets.quarantine:build_quarantine", "source": _VALIDATE, "file": _VALIDATE},
    "relatedness": {
        "sector_code": f"{_RELATED}:_one_window",
        "year": f"{_RELATED}:_one_window",
        "window_years": "tasks.datasets.relatedness:build_relatedness",
    },
    "complexity": {
        "plate_code": "tasks.datasets.complexity:build_complexity",
        "sector_code": f"{_RELATED}:_one_window",
        "year": f"{_RELATED}:_one_window",
        "window_years": "tasks.datasets.complexity:build_complexity",
        "null_reason": f"{_RELATED}:_one_window",
    },
    "opportunities": {
        "plate_code": "tasks.datasets.opportunities:build_opportunities",
        "sector_code": f"{_RELATED}:_grid",
        "year": f"{_RELATED}:_grid",
        "window_years": "tasks.datasets.opportunities:build_opportunities",
        "rank": f"{_RELATED}:_opportunities",
        "pci": f"{_RELATED}:_opportunities",
        "null_reason": f"{_RELATED}:_opportunities",
    },
    "selection_history": {
        "year": f"{_INDICATORS}:compute_indicators",
        **dict.fromkeys(("run_id", "computed_in_run", "parameters_id"), _HISTORY),
    },
    "cluster_definitions": {
        "year": _CLUSTER_DEFINITIONS,
        "window_years": _CLUSTER_DEFINITIONS,
        "sector_code": f"{_COLOCATION}:_describe",
        "cluster_name": "tasks.datasets.cluster_definitions:cluster_names",
    },
}


def computed_in(dataset: str, column: str) -> str | None:
    """The ``module:function`` that computes ``column`` of ``dataset`` (None: no entry)."""
    return COMPUTED_IN_DATASET.get(dataset, {}).get(column, COMPUTED_IN.get(column))


def render() -> str:
    """The data dictionary as Markdown."""
    lines = [
        "# Data dictionary",
        "",
        f"Schema version {SCHEMA_VERSION}. Generated by `python -m schemas.dictionary` from `schemas/outputs.py`",
        "and `schemas/dictionary.py`; do not edit by hand. Formulas and rules: `docs/methodology.md` (§1-§8).",
        "",
        "**computed in** names the one function that computes the column, as `module:function` (open",
        "`tasks/methods/scoring.py` at `def score_candidates` for `tasks.methods.scoring:score_candidates`).",
        "The rule: a column is computed in the function that writes it under its published name on its way into",
        "the dataset (an assignment, a constructor, a rename or an aggregation); merges, concatenation, selection",
        "and sorting pass it on unchanged. So a key such as `plate_code` is computed where the dataset's rows get",
        "it under that name (e.g. `build_indicators` renames the methods' `region_code`); a column taken unchanged",
        "from a source's rows is computed in that source's normaliser (`tasks/sources/`); one taken from a",
        "reference table (`data/reference/`), in the builder that takes it in. `tests/schemas/test_dictionary.py`",
        "proves each entry is the only function in `tasks/` that writes the column (its docstring lists the",
        "few reasoned exceptions).",
        "",
    ]
    for name, (schema, keys) in DATASETS.items():
        partition = PARTITIONS.get(name, [])
        lines += [f"## {name}", "", f"Row order: {', '.join(keys)}."]
        if partition:
            lines.append(f"Hive-partitioned by {', '.join(partition)} (`{partition[0]}=<value>/part-0.parquet`).")
        lines += ["", "| column | type | unit | meaning | reference | computed in |", "|---|---|---|---|---|---|"]
        for field in schema:
            unit, meaning, reference = column(name, field.name)
            nullable = "" if field.nullable else ", not null"
            where = computed_in(name, field.name)
            lines.append(f"| `{field.name}` | {field.type}{nullable} | {unit} | {meaning} | {reference} | `{where}` |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "docs" / "data_dictionary.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
