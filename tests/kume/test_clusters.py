"""``kume clusters`` on an analyst's own table: the README's example run as written, a planted
panel recovered with its files and summary, and the typed errors naming the file and the
problem."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from kume.cli import main
from kume.clusters import run
from kume.settings import PROJECT_ROOT
from schemas.parameters import ClusterParameters
from tasks.errors import IndicatorInputError

SECTION = "### Cluster definitions from the data"
# three planted groups of four classes, each at home in its own eight of 24 regions
GROUPS = {
    "textiles": ["13.10", "13.20", "13.30", "14.13"],
    "automotive": ["29.10", "29.31", "29.32", "22.11"],
    "food": ["10.71", "10.82", "10.39", "28.93"],
}


def readme_example() -> tuple[str, str, str]:
    """The facts table (the relatedness example's), the command and the printed output of the
    README's clusters example, as written there."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    facts = re.search(r"```csv\n(region_code,sector_code,year,employment\n.*?)```", readme, re.S).group(1)
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    command = re.search(r"```sh\n(kume clusters food_textiles.*?)\n```", section, re.S).group(1)
    printed = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return facts, command, printed


def test_readme_example_runs_as_written_with_the_output_it_shows(tmp_path):
    facts, command, printed = readme_example()
    args = command.split()[1:]
    (tmp_path / args[1]).write_text(facts, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kume.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == printed
    table = pd.read_csv(tmp_path / "out" / "cluster_definitions.csv", dtype={"sector_code": str})
    assert table.groupby("cluster_id").sector_code.apply(sorted).to_dict() == {
        "c01": ["10.71", "10.82"],
        "c02": ["13.20", "14.13"],
    }
    assert table.set_index("sector_code").within_relatedness.to_dict() == pytest.approx(
        {"10.71": 0.9, "10.82": 0.9, "13.20": 2.6 / 3, "14.13": 2.6 / 3}
    )


def planted_facts(path, years=range(2018, 2024), names: bool = True) -> None:
    """24 regions x 12 classes with the planted groups, small noise, every year."""
    rng = np.random.default_rng(11)
    rows = []
    for year in years:
        for region in range(24):
            for number, classes in enumerate(GROUPS.values()):
                for code in classes:
                    home = region // 8 == number
                    employment = 30 + (600 if home else 0) * rng.uniform(0.8, 1.2) + rng.uniform(0, 10)
                    rows.append((f"{region + 1:02d}", code, year, round(employment), f"class {code}"))
    frame = pd.DataFrame(rows, columns=["region_code", "sector_code", "year", "employment", "sector_name"])
    (frame if names else frame.drop(columns="sector_name")).to_csv(path, index=False)


def test_a_planted_panel_is_recovered_with_its_files_and_summary(tmp_path, capsys):
    facts = tmp_path / "facts.csv"
    planted_facts(facts)
    out = tmp_path / "out"
    assert main(["clusters", str(facts), "--year", "2022", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    for name in ("cluster_definitions", "cluster_scores", "cluster_stability"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    table = pd.read_parquet(out / "cluster_definitions.parquet")
    planted = {code: group for group, classes in GROUPS.items() for code in classes}
    assert adjusted_rand_score(table.sector_code.map(planted), table.cluster_id) == 1.0
    assert set(table.year) == {2022} and set(table.window_years) == {3} and set(table.clusters) == {3}
    assert table.cluster_name.str.startswith("class ").all() and (table.vs_industry == 1.0).all()
    stability = pd.read_parquet(out / "cluster_stability.parquet")
    assert sorted(stability.region_code.dropna()) == [f"{r:02d}" for r in range(1, 25)]  # text, one per region
    assert set(stability.kind) == {"leave_one_province_out", "previous_window", "next_window"}
    assert (stability.ari == 1.0).all() and table.least_stable_region_code.isna().all()
    scores = pd.read_parquet(out / "cluster_scores.parquet")
    assert scores.clusters.tolist() == list(range(2, 12)) and scores.chosen.sum() == 1  # 12 classes: 2..11
    assert printed[0] == (
        "24 regions x 12 sectors, years 2018-2023; 3-year window 2020-2022, minimum employment 10; "
        "searched 2-11 clusters"
    )
    assert (
        printed[1].startswith("chosen: 3 clusters") and printed[2] == "validation: VS-industry 1.000, VS-cluster 1.000"
    )
    assert printed[3].endswith("leaving one region out mean 1.000, min 1.000")
    assert printed[4:6] == ["  previous window 2019-2021: 1.000", "  next window 2021-2023: 1.000"]
    listed = r"  c0\d  class \d\d\.\d\d: 4 classes, employment [\d,]+, passes VS, weak links 0%: "
    assert sum(bool(re.match(listed, line)) for line in printed) == 3


def test_the_universe_keeps_its_sectors_and_the_count_range_reaches_the_method(tmp_path):
    facts = tmp_path / "facts.csv"
    planted_facts(facts, names=False)
    universe = tmp_path / "universe.txt"
    universe.write_text("sector_code\n" + "\n".join(GROUPS["textiles"] + GROUPS["food"]) + "\n", encoding="utf-8")
    result = run(facts, tmp_path / "out", universe, ClusterParameters(min_clusters=2, max_clusters=4))
    table = result.frames["cluster_definitions"]
    assert sorted(table.sector_code) == sorted(GROUPS["textiles"] + GROUPS["food"])
    assert result.searched == range(2, 5) and result.definitions.count == 2
    assert (table.cluster_name == table.groupby("cluster_id").sector_code.transform("first")).all()  # codes


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--year", "2019"], "the 3-year window 2017-2019 is not wholly in the data: no rows for 2017 (years in the "
         "data: 2018-2023): choose --year between 2020 and 2023"),
        (["--window", "7"], "a 7-year window needs 7 consecutive years, the table has 6 (2018, 2019, 2020, 2021, "
         "2022, 2023): add years or use --window 6"),
    ],
)  # fmt: skip
def test_a_window_outside_the_table_is_refused_naming_the_file_and_the_years(tmp_path, capsys, arguments, problem):
    facts = tmp_path / "facts.csv"
    planted_facts(facts)
    assert main(["clusters", str(facts), *arguments, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"kume clusters: {facts}: {problem}\n"
    assert not (tmp_path / "out").exists()


def test_a_bad_table_universe_or_parameter_is_refused_in_one_line(tmp_path, capsys):
    facts = tmp_path / "facts.csv"
    facts.write_text("region_code,sector_code,year,employment\n01,a,2022,x\n", encoding="utf-8")
    with pytest.raises(IndicatorInputError, match=r"row 2, column employment: 'x' is not a number"):
        run(facts, tmp_path / "out")
    planted_facts(facts)
    with pytest.raises(IndicatorInputError, match="no such universe file"):
        run(facts, tmp_path / "out", tmp_path / "nowhere.txt")
    arguments = ["clusters", str(facts), "--min-clusters", "9", "--max-clusters", "3", "--out", str(tmp_path / "out")]
    assert main(arguments) == 2
    assert capsys.readouterr().err == "kume clusters: invalid parameters: min_clusters must not exceed max_clusters\n"
