"""The run summary of ``kume run`` and the Markdown of its Prefect artifacts (``kume.report``):
known answers on small frames and manifests, and the printed table of the real run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kume import report
from kume.report import (
    explain_province,
    largest_label,
    origins_markdown,
    print_selection,
    quality_markdown,
    sector_label,
    selection_summary,
    selection_table,
)
from tasks.sources.files import NOT_READ_OLD_EXCEL

SAMSUN_TSO = "Samsun Ticaret ve Sanayi Odası (Samsun TSO)"


def selection_rows() -> pd.DataFrame:
    """Samsun: medical equipment selected over bread, its largest sector; Ankara: nothing eligible."""
    common = {"largest_cluster_name": np.nan, "carried_over_from": None}
    samsun = {
        "plate_code": 55, "province": "Samsun", "host": SAMSUN_TSO, "largest_sector_code": "10.71",
        "largest_sector_name": "Manufacture of bread", "size_basis": "turnover_registry",
        "programme_sector_code": "32.50", **common,
    }  # fmt: skip
    ankara = {
        "plate_code": 6, "province": "Ankara", "host": None, "largest_sector_code": None,
        "largest_sector_name": None, "size_basis": "employment", "programme_sector_code": None, **common,
    }  # fmt: skip
    sectors = ["sector_code", "sector_name", "cluster_name", "rank", "selected", "total_score", "size_rank"]
    rows = [
        # listed out of rank order: the summary sorts by rank
        (samsun, ("10.71", "Manufacture of bread", np.nan, 2, False, 64.44, 1), 1.0),
        (samsun, ("32.50", "Manufacture of medical instruments", "medical equipment", 1, True, 71.26, 3), 0.93),
        (samsun, ("22.29", "Manufacture of other plastic products", np.nan, 3, False, 50.0, 2), 0.0),
        (ankara, ("28.11", "Manufacture of engines", np.nan, 1, False, 40.04, 2), np.nan),
        (ankara, ("10.71", "Manufacture of bread", np.nan, 2, False, 30.0, 1), np.nan),
    ]
    return pd.DataFrame(
        [{**province, **dict(zip(sectors, sector, strict=True)), "robustness_share": share}
         for province, sector, share in rows]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("basis", "label"),
    [
        ("turnover_registry", "largest sector by turnover (registry)"),
        ("turnover_agency", "largest sector by turnover (agency)"),
        ("employment", "largest sector by employment; no turnover data"),
        (None, "largest sector by employment; no turnover data"),
        ("something new", "largest sector by employment; no turnover data"),
    ],
)
def test_the_largest_sector_is_labelled_with_its_basis(basis, label):
    assert largest_label(basis) == label


def test_a_sector_is_named_by_its_cluster_where_it_is_one_else_by_its_class():
    assert sector_label("30.11", "Building of ships", "shipbuilding") == "30.11 shipbuilding"
    assert sector_label("10.71", "Manufacture of bread", np.nan) == "10.71 Manufacture of bread"
    assert sector_label("10.71", "Manufacture of bread", None) == "10.71 Manufacture of bread"


@pytest.mark.parametrize(
    ("host", "short"),
    [(SAMSUN_TSO, "Samsun TSO"), ("Trabzon TSO", "Trabzon TSO"), (None, ""), (np.nan, ""), ("A (b) c", "A (b) c")],
)
def test_the_host_is_shortened_to_the_name_in_its_last_brackets(host, short):
    assert report._short_host(host) == short


def test_the_summary_has_one_row_per_province_with_its_choice_runner_up_and_largest_sector():
    summary = selection_summary(selection_rows())
    assert summary.plate_code.tolist() == [6, 55]  # by plate
    samsun = summary.set_index("province").loc["Samsun"]
    assert samsun.to_dict() == {
        "plate_code": 55,
        "host": "Samsun TSO",
        "selected": "32.50 medical equipment",
        "score": 71.3,
        "runner_up": "10.71 Manufacture of bread",
        "runner_up_score": 64.4,
        "largest_sector": "10.71 Manufacture of bread",
        "size_basis": "turnover_registry",
        "selected_size_rank": 3,
        "robustness_share": 0.93,
        "programme_choice": "32.50",
        "carried_over_from": None,
    }
    ankara = summary.set_index("province").loc["Ankara"]
    assert (ankara.host, ankara.selected, ankara.largest_sector) == ("", "none eligible", "n/a")
    assert pd.isna(ankara.score) and pd.isna(ankara.selected_size_rank) and pd.isna(ankara.robustness_share)
    # nothing selected: the runner-up is the first ranked
    assert (ankara.runner_up, ankara.runner_up_score) == ("28.11 Manufacture of engines", 40.0)


def test_the_summary_keeps_only_the_plates_asked_for():
    assert selection_summary(selection_rows(), [55]).province.tolist() == ["Samsun"]
    assert selection_summary(selection_rows(), []).empty


def test_the_operators_table_says_how_robust_and_where_each_selection_was_computed():
    selection = selection_rows()
    selection.loc[selection.plate_code == 6, "carried_over_from"] = "0a1b2c3d4e5f6a7b"
    ankara, samsun = selection_table(selection, [6, 55])
    assert samsun == {
        "province": "Samsun",
        "selected sector": "32.50 medical equipment",
        "score": 71.3,
        "runner-up": "10.71 Manufacture of bread (64.4)",
        "robustness": "93% of draws",
        "selected's size rank": "3",
        "largest sector": "10.71 Manufacture of bread",
        "size basis": "turnover (registry)",
        "computed": "this run",
    }
    assert ankara["selected sector"] == "none eligible" and ankara["robustness"] == "n/a"
    assert ankara["selected's size rank"] == "n/a" and ankara["largest sector"] == "n/a"
    assert ankara["size basis"] == "employment; no turnover data"
    assert ankara["computed"] == "carried over from run 0a1b2c3d4e5f6a7b"


def scores_rows() -> pd.DataFrame:
    """Samsun's scores: the winner and its largest sector, with their criteria and contributions."""
    columns = [
        "sector_code", "sector_name", "cluster_name", "rank", "selected", "total_score", "size_rank",
        "robustness_share", "robust", "top_indicators", "gate_failures",
        "economic_impact", "demand", "networking", "factor_conditions",
        "contribution_economic_impact", "contribution_demand", "contribution_networking",
        "contribution_factor_conditions",
    ]  # fmt: skip
    rows = [
        ("32.50", "Manufacture of medical instruments", "medical equipment", 1, True, 71.26, 3, 0.934, True,
         "lq_employment, exports", None, 80.0, 60.0, 70.0, 75.0, 20.04, 15.0, 18.22, 18.0),
        ("10.71", "Manufacture of bread", np.nan, 4, False, 40.21, 1, 0.0, False,
         None, "cmp_strong", 70.0, 10.0, 65.0, 72.0, 17.5, 2.5, 16.25, 18.0),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(province="Samsun", size_basis="turnover_registry")


def test_the_explanation_gives_the_winners_score_robustness_and_why_the_largest_lost():
    assert explain_province(scores_rows(), 1000).splitlines() == [
        "Samsun: 32.50 medical equipment scores 71.3 and ranks first in 93% of 1,000 weight draws (robust). "
        "Criteria: Economic Impact 20.0, Demand 15.0, Networking & Cooperation 18.2, Factor Conditions 18.0.",
        "  It gains most on lq_employment, exports.",
        "  The largest sector by turnover (registry), 10.71 Manufacture of bread, ranks 4 with 40.2; "
        "it trails most on Demand (10.0 against 60.0); gates failed: cmp_strong.",
    ]


def test_a_winner_that_is_also_the_largest_needs_no_contrast():
    scores = scores_rows().iloc[:1].assign(size_rank=1, robust=False, robustness_share=0.5, top_indicators=None)
    assert explain_province(scores, 200).splitlines() == [
        "Samsun: 32.50 medical equipment scores 71.3 and ranks first in 50% of 200 weight draws (fragile). "
        "Criteria: Economic Impact 20.0, Demand 15.0, Networking & Cooperation 18.2, Factor Conditions 18.0.",
        "  It gains most on no single indicator.",
    ]


def test_a_province_without_an_eligible_sector_says_so():
    assert explain_province(scores_rows().assign(selected=False), 1000) == (
        "Samsun: no sector passes the eligibility gates."
    )


def test_the_quality_table_has_one_row_per_source_with_counts_rules_and_carried_over_provinces():
    manifest = {
        "run_id": "r2",
        "inputs": {
            "chamber_registry": {
                "files": ["a.csv", "b.csv"],
                "rows_in": 12_345,
                "rows_accepted": 12_342,
                "rows_quarantined": 3,
                "rule_failures": {"REG-NACE-02": 2, "REG-EMP-02": 1},
            },
            "agency_db": {"rows_in": None},
        },
        "provinces_carried_over": {"61": ["trabzon.csv"]},
        "carried_over_from": "r1",
    }
    assert quality_markdown(manifest).splitlines() == [
        "# Data quality of run r2",
        "",
        "| source | files | rows in | accepted | quarantined | failed rules | unreadable files | files not read |",
        "|---|---:|---:|---:|---:|---|---|---|",
        "| chamber_registry | 2 | 12,345 | 12,342 | 3 | REG-EMP-02 x1, REG-NACE-02 x2 | none | none |",
        "| agency_db | 0 | 0 | 0 | 0 | none | none | none |",
        "",
        "Provinces keeping the previous selection (run r1):",
        "- plate 61: trabzon.csv",
        "",
        "Rows in = accepted + quarantined for every file; the quarantine dataset lists each row and rule.",
    ]


def test_the_quality_artifact_escapes_names_and_lists_files_not_read():
    manifest = {
        "run_id": "r",
        "inputs": {
            "chamber_registry": {
                "files": [],
                "errors": ["bad\n| name.csv: no header row"],
                "not_read": [{"file": "inbox/x\n.xls", "reason": NOT_READ_OLD_EXCEL}],
            }
        },
    }
    [row] = [line for line in quality_markdown(manifest).splitlines() if line.startswith("| chamber_registry")]
    assert "bad\\n\\| name.csv: no header row" in row
    assert f"inbox/x\\n.xls: NOT READ: {NOT_READ_OLD_EXCEL}" in row


def test_the_origins_group_provinces_by_the_run_and_parameters_that_computed_them():
    origin = {"carried_over": False, "computed_in_run": "r2", "parameters_id": "p2"}
    manifest = {
        "run_id": "r2",
        "previous_publication": "r1",
        "provinces": {
            "55": {**origin, "province": "Samsun"},
            "61": {
                "carried_over": True,
                "computed_in_run": "r1",
                "parameters_id": "p1",
                "province": "Trabzon",
                "reason": "its member list could not be read",
            },
            "19": {**origin, "province": "Çorum"},
        },  # fmt: skip
        "provinces_carried_over": {"61": ["trabzon.csv"]},
        "parameter_sets": {
            "p2": {
                "weights": {"economic_impact": 0.4, "demand": 0.3, "networking": 0.2, "factor_conditions": 0.1},
                "reference_year": 2022,
                "growth_spans": [3, 5],
            }
        },
    }
    assert origins_markdown(manifest) == [
        "",
        "## Provinces of the publication (3)",
        "",
        "Replaces the publication of run r1.",
        "",
        "- recomputed in this run, parameters p2 (weights 0.4/0.3/0.2/0.1, reference year 2022, spans [3, 5]): "
        "2: Samsun, Çorum",
        "- carried over unchanged from run r1, parameters p1 (parameters unknown): "
        "1: Trabzon (its member list could not be read)",
    ]


def test_a_first_publication_replaces_nothing_and_a_manifest_without_provinces_has_no_origins():
    manifest = {
        "run_id": "r1",
        "previous_publication": "r1",
        "provinces": {"55": {"carried_over": False, "computed_in_run": "r1", "parameters_id": "p1", "province": "S"}},
    }
    assert "Replaces" not in "\n".join(origins_markdown(manifest))
    assert origins_markdown({"run_id": "r1", "provinces": {}}) == []


def test_the_printed_table_names_each_pilot_and_explains_the_choice(published_run, capsys):
    print_selection(published_run["run_dir"])
    printed = capsys.readouterr().out
    for text in ("Çorum", "Gaziantep", "Kahramanmaraş", "Samsun", "Trabzon", "shipbuilding", "footwear"):
        assert text in printed
    assert printed.count("ranks first in 100% of 1,000 weight draws (robust)") == 5
    assert printed.count("The largest sector by turnover (registry)") == 3
    assert printed.count("The largest sector by turnover (agency)") == 2
    assert "size basis" in printed
    assert "Samsun: 32.50 medical equipment and supplies scores" in " ".join(printed.split())
