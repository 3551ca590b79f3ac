"""The data dictionary of the published datasets: for every column its unit, meaning and the
formula it comes from (methodology.md sections). ``docs/data_dictionary.md`` is generated
from it together with the pyarrow schemas (``python -m schemas.dictionary``)."""

from __future__ import annotations

from pathlib import Path

from schemas.outputs import DATASETS, PARTITIONS, SCHEMA_VERSION, SCORE_INDICATORS

M = "methodology.md"
COLUMNS: dict[str, tuple[str, str, str]] = {
    # name: (unit, meaning, formula / reference)
    "run_id": (
        "",
        "publication id: hash of input file hashes, parameters and code version (and, for a publication "
        "carrying provinces over, the runs they come from); every row of a publication has its id",
        "tasks/publish.py",
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
    "plate_code": ("", "province plate code (1-81)", "reference/tr_provinces.csv"),
    "province": ("", "province name (Turkish)", "reference/tr_provinces.csv"),
    "host": ("", "local partner hosting the province's Cluster Information Centre", f"{M} §5"),
    "year": ("year", "reference year of the figures", ""),
    "sector_code": ("", "NACE Rev.2 class (dotted, e.g. 28.93); '*' = the province's sums (growth)", f"{M} §1"),
    "sector_name": ("", "cluster name where the programme defined one, else the NACE class name", f"{M} §5"),
    "nace_classes": ("", "the cluster's NACE classes: main class then related classes", f"{M} §5"),
    "employment": ("persons", "insured employees (SGK) e(r,s,t)", f"{M} §1"),
    "establishments": ("workplaces", "SGK workplaces f(r,s,t)", f"{M} §1"),
    "exports": ("USD", "exports x(r,s,t), allocated from exporter sectors by employment shares", f"{M} §1"),
    "turnover": ("USD", "turnover_try at the year's average USD/TRY rate (reference year)", f"{M} §1"),
    "turnover_try": (
        "TRY",
        "net sales: the chamber registry's member firms (Ciro), else the agency's sector_turnover "
        "(division figures allocated to classes by employment); see size_basis",
        f"{M} §1",
    ),
    "region_employment": ("persons", "E(r,t): the province's total over the reference universe", f"{M} §1"),
    "national_sector_employment": ("persons", "E(N,s,t): published national total of the sector", f"{M} §1"),
    "national_employment": ("persons", "E(N,t): published national total of the universe", f"{M} §1"),
    "lq_employment": ("ratio", "location quotient on employment (e/E(r)) / (E(N,s)/E(N))", f"{M} §2 LQ"),
    "lq_establishments": ("ratio", "location quotient on establishments", f"{M} §2 LQ"),
    "lq_exports": ("ratio", "Balassa's revealed comparative advantage: LQ on exports", f"{M} §2 RCA"),
    "focus": ("share", "share of the province's employment e / E(r)", f"{M} §2 focus"),
    "national_share": ("share", "share of the nation's sector employment e / E(N,s)", f"{M} §2"),
    "avg_firm_size": ("persons", "employment per establishment e / f", f"{M} §2"),
    "export_intensity": ("share", "exports / turnover (same currency)", f"{M} §2"),
    "growth_years": ("years", "span k of the CAGR and shift-share columns", f"{M} §2 growth"),
    "span_years": ("years", "span k of the row's CAGR and shift-share", f"{M} §2 growth"),
    "employment_cagr": ("share per year", "(e(t)/e(t-k))^(1/k) - 1", f"{M} §2 growth"),
    "national_sector_employment_cagr": ("share per year", "CAGR of the national sector total", f"{M} §2 growth"),
    "exports_cagr": ("share per year", "CAGR of exports", f"{M} §2 growth"),
    "shift_national": ("persons", "Dunn NS = e0 (N1/N0 - 1)", f"{M} §2 shift-share"),
    "shift_industry_mix": ("persons", "Dunn IM = e0 (n1/n0 - N1/N0)", f"{M} §2 shift-share"),
    "shift_regional": ("persons", "Dunn RS = e0 (e1/e0 - n1/n0); NS + IM + RS = e1 - e0", f"{M} §2 shift-share"),
    "cmp_qualifying": ("flag", "US CMP: LQ > P25 and e > P25 and f > P25", f"{M} §3 CMP"),
    "cmp_significant": ("flag", "US CMP: LQ > P50 and e > P25 and f > P25", f"{M} §3 CMP"),
    "cmp_strong": ("flag", "US CMP: LQ >= P75, LQ >= 1, e > P25, f > P25", f"{M} §3 CMP"),
    "cmp_strong10": ("flag", "US CMP: LQ >= P90, LQ >= 1, e > P25, f > P25", f"{M} §3 CMP"),
    "cmp_lq_percentile": ("0-100", "US CMP percentile rank of LQ: round(100/n (i + 0.5))", f"{M} §3 CMP"),
    "cmp_employment_percentile": ("0-100", "US CMP percentile rank of employment", f"{M} §3 CMP"),
    "cmp_establishments_percentile": ("0-100", "US CMP percentile rank of establishments", f"{M} §3 CMP"),
    "eco_size_star": ("flag", "ECO: province in the top 10 % of the region set by employment", f"{M} §3 ECO"),
    "eco_specialisation_star": ("flag", "ECO: LQ >= 2", f"{M} §3 ECO"),
    "eco_focus_star": ("flag", "ECO: province in the top 10 % by focus", f"{M} §3 ECO"),
    "eco_stars": ("0-3", "number of ECO stars", f"{M} §3 ECO"),
    "null_reason": ("", "why a value of the row is null (indicator: reason)", f"{M} §2"),
    "regions": ("count", "regions in the set that year (n)", f"{M} §2 concentration"),
    "herfindahl": ("0-1", "H = sum of the regions' squared shares of the sector", f"{M} §2 concentration"),
    "herfindahl_normalised": ("0-1", "H* = (H - 1/n) / (1 - 1/n)", f"{M} §2 concentration"),
    "eg_gamma": ("index", "Ellison-Glaeser gamma from registry plants", f"{M} §2 concentration"),
    "eg_plant_herfindahl": ("0-1", "H_p: Herfindahl of the sector's plant employment shares", f"{M} §2"),
    "eg_plants": ("count", "registry plants of the sector", f"{M} §2 concentration"),
    "eg_regions": ("count", "provinces with registries (gamma's region set)", f"{M} §2 concentration"),
    "eg_null_reason": ("", "why gamma is null (one plant, one region)", f"{M} §2 concentration"),
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
    "largest_sector_name": ("", "its name", f"{M} §4.5"),
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
    "firms": ("count", "member firms in the chamber registry", f"{M} §4 networking"),
    "sme_share": ("share", "firms with < 250 employees among firms of known size", f"{M} §2"),
    "top_district_share": ("share", "share of the registry's employment in the top district", f"{M} §4"),
    "associations": ("count", "sector associations and cooperatives", f"{M} §4 networking"),
    "joint_projects": ("count", "cluster initiatives and joint projects", f"{M} §4 networking"),
    "cooperation_willingness": ("1-5", "mean surveyed willingness to cooperate (Likert)", f"{M} §4 networking"),
    "programmes": ("count", "related university and vocational programmes", f"{M} §4 factor conditions"),
    "graduates": ("persons", "their graduates", f"{M} §4 factor conditions"),
    "rd_design_centres": ("count", "R&D and design centres", f"{M} §4 factor conditions"),
    "specialised_zones": ("count", "specialised industrial zones", f"{M} §4 factor conditions"),
    "testing_labs": ("count", "testing laboratories", f"{M} §4 factor conditions"),
    "higher_education_share": ("%", "share of population with higher education (TÜİK 2015)", f"{M} §4"),
    "airport_access": ("%", "access to an airport (TÜİK 2015)", f"{M} §4"),
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
}
for _indicator in SCORE_INDICATORS:
    COLUMNS[f"score_{_indicator}"] = ("0-100", f"percentile score of {_indicator} within the province", f"{M} §4.1")


def render() -> str:
    """The data dictionary as Markdown."""
    lines = [
        "# Data dictionary",
        "",
        f"Schema version {SCHEMA_VERSION}. Generated by `python -m schemas.dictionary` from `schemas/outputs.py`",
        "and `schemas/dictionary.py`; do not edit by hand.",
        "",
    ]
    for name, (schema, keys) in DATASETS.items():
        partition = PARTITIONS.get(name, [])
        lines += [f"## {name}", "", f"Row order: {', '.join(keys)}."]
        if partition:
            lines.append(f"Hive-partitioned by {', '.join(partition)} (`{partition[0]}=<value>/part-0.parquet`).")
        lines += ["", "| column | type | unit | meaning | reference |", "|---|---|---|---|---|"]
        for field in schema:
            unit, meaning, reference = COLUMNS[field.name]
            nullable = "" if field.nullable else ", not null"
            lines.append(f"| `{field.name}` | {field.type}{nullable} | {unit} | {meaning} | {reference} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "docs" / "data_dictionary.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
