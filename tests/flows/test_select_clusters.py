"""End to end: the real nightly flow (embedded Prefect server) over the shipped data."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from kume.report import selection_summary
from kume.settings import PROJECT_ROOT
from schemas.outputs import DATASETS, PARTITIONS, SCHEMA_VERSION
from tasks.publish.snapshot import hive_partitioning, read_dataset
from tasks.store import file_sha256


def read(run, name: str) -> pd.DataFrame:
    return read_dataset(run["run_dir"] / name, name)


def test_pilot_provinces_select_the_programmes_published_sectors(published_run):
    selection = read(published_run, "selection")
    chosen = selection[selection.selected].set_index("province")
    pilots = chosen[chosen.host.notna()]
    assert pilots.sector_code.to_dict() == {
        "Çorum": "28.93",
        "Gaziantep": "15.20",
        "Kahramanmaraş": "25.99",
        "Samsun": "32.50",
        "Trabzon": "30.11",
    }
    assert (pilots.sector_code == pilots.programme_sector_code).all()
    assert pilots.loc["Trabzon", "sector_name"] == "Building of ships and floating structures"  # the NACE class
    assert pilots.loc["Trabzon", "cluster_name"] == "shipbuilding"  # the programme's cluster
    assert pilots.loc["Gaziantep", "nace_classes"].tolist() == ["15.20", "15.11", "22.19", "22.29"]


def test_the_largest_sector_by_turnover_is_a_different_one(published_run):
    summary = selection_summary(read(published_run, "selection"), [19, 27, 46, 55, 61])
    assert len(summary) == 5
    for row in summary.itertuples():
        assert row.selected_size_rank > 1, row
        assert not row.largest_sector.startswith(row.selected.split()[0]), row
    largest = dict(zip(summary.province, summary.largest_sector.str[:2], strict=True))
    assert largest == {"Çorum": "10", "Gaziantep": "13", "Kahramanmaraş": "13", "Samsun": "10", "Trabzon": "10"}
    # Çorum's and Trabzon's member lists are in the documented layout (no turnover column): their
    # turnover comes from the agency's sector_turnover; the other three chambers give Ciro
    basis = dict(zip(summary.province, summary.size_basis, strict=True))
    assert basis == {
        "Çorum": "turnover_agency",
        "Gaziantep": "turnover_registry",
        "Kahramanmaraş": "turnover_registry",
        "Samsun": "turnover_registry",
        "Trabzon": "turnover_agency",
    }


def test_provinces_without_turnover_compare_by_employment_and_say_so(published_run):
    scores = read(published_run, "scores")
    basis = scores.groupby("plate_code").size_basis.agg(set)
    assert (basis.map(len) == 1).all()  # one basis per province
    no_turnover = scores[scores.size_basis == "employment"]
    assert no_turnover.plate_code.nunique() == 76
    assert no_turnover.turnover_try.isna().all()  # never an invented turnover
    ankara = no_turnover[no_turnover.plate_code == 6]
    assert ankara.loc[ankara.size_rank == 1, "employment"].iloc[0] == ankara.employment.max()
    selection = read(published_run, "selection")
    assert set(selection.size_basis) == {"employment", "turnover_agency", "turnover_registry"}


def test_agency_statistics_cover_every_province_and_every_manufacturing_class(published_run, ref):
    indicators = read(published_run, "indicators")
    assert indicators.plate_code.nunique() == 81
    assert set(indicators.sector_code) == set(ref.nace_classes.nace_class)
    assert indicators.year.nunique() >= 6


def test_every_province_is_scored_and_ranked(published_run):
    scores = read(published_run, "scores")
    assert scores.plate_code.nunique() == 81
    assert (scores.groupby("plate_code")["rank"].min() == 1).all()
    assert not scores[scores.selected].eligible.eq(False).any()


def test_nothing_is_lost_rows_in_equal_accepted_plus_quarantined(published_run):
    quality = read(published_run, "quality")
    assert (quality.rows_in == quality.rows_accepted + quality.rows_quarantined).all()
    manifest = published_run["manifest"]
    for source, info in manifest["inputs"].items():
        assert info["rows_in"] == info["rows_accepted"] + info["rows_quarantined"], source
    quarantine = read(published_run, "quarantine")
    planted = quarantine[quarantine.source == "chamber_registry"]
    # each of the five registries carries an unknown NACE code, a negative employee count and an unknown
    # province: 'Atlantis', or in the two lists without a province column a district of another province
    rules = planted.groupby("file").rule.apply(set)
    assert rules.map(lambda found: {"REG-NACE-02", "REG-EMP-02"} <= found).all()
    assert planted.file.nunique() == 5
    documented = {"corum_tso_uye_listesi_2022.csv", "trabzon_tso_uyeler.tsv"}
    assert all(("REG-DIST-01" if file in documented else "REG-PROV-01") in found for file, found in rules.items())
    assert set(planted[planted.rule == "REG-PROV-01"].raw_value) == {"Atlantis"}
    assert set(planted[planted.rule == "REG-DIST-01"].raw_value) == {"Bafra", "Ardeşen"}


def test_manifest_traces_inputs_code_and_parameters(published_run):
    manifest = json.loads((published_run["run_dir"] / "manifest.json").read_text(encoding="utf-8"))
    files = {f["file"]: f["sha256"] for info in manifest["inputs"].values() for f in info["files"]}
    sources = PROJECT_ROOT / "data" / "sources"
    for path in sources.rglob("*"):
        if path.is_file():
            assert files[path.name] == file_sha256(path), path
    assert manifest["code_version"] and manifest["parameters"]["weights"]["demand"] == 0.25
    assert manifest["totals_used"]["national_employment"] == "published"
    assert manifest["status"] == "complete"
    assert manifest["outputs"]["selection"]["rows"] == len(read(published_run, "selection"))
    assert manifest["sql"].startswith("sqlite:///")


def test_outputs_follow_their_contract_schemas(published_run):
    for name, (schema, _) in DATASETS.items():
        folder = published_run["run_dir"] / name
        partition = PARTITIONS.get(name, [])
        written = pads.dataset(
            folder,
            format="parquet",
            partitioning=hive_partitioning(name),
        ).schema
        expected = pa.schema([f for f in schema if f.name not in partition] + [schema.field(c) for c in partition])
        assert written.remove_metadata().equals(expected), name
        first_file = sorted(folder.rglob("*.parquet"))[0]
        assert pq.read_schema(first_file).metadata[b"kume.schema_version"] == SCHEMA_VERSION.encode()
    assert sorted(p.name for p in (published_run["run_dir"] / "indicators").iterdir())[0] == "year=2011"
    current = published_run["out_dir"] / "current"
    assert current.is_symlink() and current.resolve() == published_run["run_dir"].resolve()


def test_sample_figures_are_within_the_orders_of_magnitude_of_the_published_facts(published_run):
    indicators = read(published_run, "indicators").set_index(["plate_code", "sector_code", "year"])

    def near(value, fact, factor=2.0):
        return fact / factor <= value <= fact * factor

    assert near(indicators.loc[(55, "32.50", 2011), "employment"], 824)  # Samsun medical, 2011
    assert near(indicators.loc[(55, "32.50", 2011), "establishments"], 37)
    assert near(indicators.loc[(27, "15.20", 2017), "employment"], 10_500)  # Gaziantep footwear, 2017
    footwear_2017 = indicators.xs(("15.20", 2017), level=("sector_code", "year")).exports
    assert near(footwear_2017[27] / footwear_2017.sum(), 0.16)  # 16 % of Turkey's footwear exports
    for year, fact in {2011: 76.4e6, 2017: 107e6, 2018: 127e6, 2019: 129e6, 2020: 172e6}.items():
        assert near(indicators.loc[(46, "25.99", year), "exports"], fact), year  # K.Maraş kitchenware
    kmaras_2011 = indicators.xs((46, 2011), level=("plate_code", "year")).exports.sum()
    assert near(indicators.loc[(46, "25.99", 2011), "exports"] / kmaras_2011, 0.10)  # about 10 % of the province


def test_each_pilot_selection_is_robust_explained_and_set_against_the_stakeholders(published_run):
    selection = read(published_run, "selection")
    pilots = selection[selection.selected & selection.host.notna()]
    assert (pilots.robustness_share >= 0.75).all() and pilots.robust.all()
    contributions = pilots[[c for c in pilots if c.startswith("contribution_")]].sum(axis=1)
    assert contributions.to_numpy() == pytest.approx(pilots.total_score.to_numpy())
    assert pilots.top_indicators.notna().all()
    assert pilots.cmp_strong.all() and (pilots.eco_stars >= 2).all()
    review = read(published_run, "consultation")
    disagreements = review[review.agrees == False]  # noqa: E712
    assert set(disagreements.assessment) == {"backs_another_sector", "opposes_selection"}
    per_province = disagreements.groupby("province").size()
    assert per_province.to_dict() == pilots.set_index("province").consultation_disagreements.to_dict()
    assert (pilots.consultation_agreement > 0.5).all()


def test_concentration_and_growth_cover_every_class_and_span(published_run):
    concentration = read(published_run, "concentration")
    assert concentration.herfindahl.between(0, 1).all()
    assert concentration.eg_gamma.notna().sum() > 100  # sectors present in the five registries
    growth = read(published_run, "growth")
    assert set(growth.span_years) == {3, 5, 10}
    region_sums = growth[(growth.sector_code == "*") & (growth.span_years == 5) & (growth.year == 2022)]
    assert len(region_sums) == 81


def test_the_run_publishes_its_cluster_definitions_history_and_an_empty_backtest(published_run, ref):
    definitions = read(published_run, "cluster_definitions")
    assert set(definitions.year) == {2022} and set(definitions.window_years) == {3}
    assert definitions.sector_code.is_unique and len(definitions) == len(ref.nace_classes)  # a partition
    history = read(published_run, "selection_history")
    assert history.plate_code.nunique() == 81 and set(history["rank"]) == {1, 2, 3}
    # the reference year's top three are the published selection's (§8.1), the earlier years without snapshots
    latest = history[history.year == 2022].set_index(["plate_code", "rank"]).sector_code
    selection = read(published_run, "selection").set_index(["plate_code", "rank"]).sector_code
    assert latest.to_dict() == selection[latest.index].to_dict()
    assert history.snapshot_inputs.eq(history.year == 2022).all()
    backtest = read(published_run, "backtest")  # the nightly run does not backtest: empty, with its schema
    assert backtest.empty and list(backtest.columns) == DATASETS["backtest"][0].names
    assert published_run["manifest"]["backtest_run"] is None
    page = (published_run["run_dir"] / "reports" / "province-55-samsun.html").read_text(encoding="utf-8")
    cluster = page.split("id='data-cluster'")[1].split("</section>")[0]
    assert "2020–2022" in cluster  # the window's years, not its length


def test_the_readme_table_of_the_sample_s_cluster_definitions_is_this_run_s(published_run, ref):
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    row = readme.split("<!-- sample-cluster-definitions -->")[1].strip().splitlines()[2]
    rows = read(published_run, "cluster_definitions")
    d = rows.iloc[0]  # the definition's figures are on every row
    least = ref.province_name(int(d.least_stable_plate_code))
    expected = (
        f"| {d.year - d.window_years + 1}–{d.year} | {len(rows)} | {d.clusters} | {d.vs_industry:.2f} "
        f"| {d.vs_cluster:.2f} | {d.stability_province_ari_mean:.2f} | {d.stability_province_ari_min:.2f} ({least}) "
        f"| {d.stability_previous_window_ari:.2f} |"
    )
    assert row == expected


def test_stages_done_in_processes_of_their_own_publish_the_same_bytes(published_run, tmp_path, monkeypatch):
    """Every source validated in a process of its own, all at once (as a national
    registry is: ``LARGE_SOURCE_ROWS``), the definitions in theirs beside the indicators (at a
    lower priority) and the history's candidates beside the scoring: the same run and the same
    Parquet files, byte for byte, as the session's run (whose sources were validated in the
    flow's process; tests/flows/test_dask.py runs every stage there)."""
    from helpers import run_selection

    import flows.select_clusters as selection_flow
    from tasks import stages
    from tasks.sources import ALL_SOURCES

    made = []

    class Counted(selection_flow.OwnProcess):
        def __init__(self, background: bool = False) -> None:
            super().__init__(background)
            made.append(background)

    monkeypatch.setattr(stages, "LARGE_SOURCE_ROWS", 0)
    monkeypatch.setattr(selection_flow, "OwnProcess", Counted)
    manifest = run_selection(tmp_path / "out")
    assert manifest["run_id"] == published_run["manifest"]["run_id"]
    assert len(made) == len(ALL_SOURCES) + 2 and made.count(True) == 1  # the definitions'

    def parquet_files(run_dir):
        return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*.parquet"))}

    mine = parquet_files(tmp_path / "out" / "runs" / manifest["run_id"])
    theirs = parquet_files(published_run["run_dir"])
    assert len(mine) >= 10 and mine.keys() == theirs.keys()
    assert [name for name in mine if mine[name] != theirs[name]] == []
    # run again on the same inputs: the stages that would go beside are in the cache, and no
    # process is forked for them (``_in_cache``); forced, every one is forked again
    made.clear()
    assert run_selection(tmp_path / "out")["run_id"] == manifest["run_id"] and made == []
    assert run_selection(tmp_path / "out", force=True)["run_id"] == manifest["run_id"]
    assert len(made) == len(ALL_SOURCES) + 2


def test_what_exists_when_a_run_starts_is_out_of_the_collector_s_sight_until_it_ends():
    """A full collection during a run walks only what the run made (``_frozen_for_the_run``, which
    ``select_clusters`` runs in): what existed before is frozen until the run ends, then given back,
    so that a long-lived process still frees what it no longer needs."""
    import gc

    from flows.select_clusters import _frozen_for_the_run

    made_before = [[]]  # a container: the collector tracks it
    with _frozen_for_the_run():
        made_in_the_run = [[]]
        tracked = {id(o) for o in gc.get_objects()}
        assert id(made_in_the_run) in tracked and id(made_before) not in tracked
    assert gc.get_freeze_count() == 0 and any(o is made_before for o in gc.get_objects())
