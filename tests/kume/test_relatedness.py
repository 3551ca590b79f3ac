"""``kume relatedness`` on an analyst's own table: the README's worked example run as written
with the figures it states, the national growth of the opportunities, and the typed errors
naming the file and the problem."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from kume.cli import main
from kume.relatedness import run
from kume.settings import PROJECT_ROOT
from schemas.parameters import RelatednessParameters
from tasks.errors import IndicatorInputError, KumeError

SECTION = "### Worked example: relatedness"  # of "Relatedness and opportunities on your own table"


def readme_example() -> tuple[str, str, str, str]:
    """The facts table, the command, the RCA table and the printed output of the README's
    relatedness example, as written there."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    facts = re.search(r"```csv\n(.*?)```", section, re.S).group(1)
    command = re.search(r"```sh\n(kume relatedness .*?)\n```", section, re.S).group(1)
    rca = re.search(r"\n(\| region \|.*?)\n\n", section, re.S).group(1)
    printed = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return facts, command, rca, printed


def rca_table(text: str) -> tuple[dict[tuple[str, str], tuple[float, bool]], dict[str, int], dict[str, int]]:
    """The README's RCA table: (region, sector) -> (RCA, present), diversity and ubiquity."""
    lines = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()]
    sectors = lines[0][1:-1]
    cells, diversity, ubiquity = {}, {}, {}
    for row in lines[2:]:
        if row[0] == "ubiquity":
            ubiquity = dict(zip(sectors, map(int, row[1:-1]), strict=True))
            continue
        diversity[row[0]] = int(row[-1])
        for sector, cell in zip(sectors, row[1:-1], strict=True):
            cells[row[0], sector] = (float(cell.rstrip(" ●")), cell.endswith("●"))
    return cells, diversity, ubiquity


def test_readme_worked_example_runs_as_written_with_the_figures_it_states(tmp_path):
    facts, command, rca, printed = readme_example()
    args = command.split()[1:]
    (tmp_path / args[1]).write_text(facts, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kume.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == printed  # the output the README shows, figure for figure

    out = tmp_path / "out"
    opportunities = pd.read_parquet(out / "opportunities.parquet")
    complexity = pd.read_parquet(out / "complexity.parquet")
    pairs = pd.read_parquet(out / "relatedness.parquet")
    cells, diversity, ubiquity = rca_table(rca)
    assert len(cells) == 16 and set(opportunities.region_code) == {"01", "02", "03", "04"}  # leading zero kept
    absent = opportunities.set_index(["region_code", "sector_code"])
    for (region, sector), (value, present) in cells.items():
        assert ((region, sector) not in absent.index) == present, (region, sector)
        if not present:
            assert absent.loc[(region, sector), "rca"] == pytest.approx(value)
    regions = complexity[complexity.level == "region"].set_index("region_code")
    sectors = complexity[complexity.level == "sector"].set_index("sector_code")
    assert regions.diversity.to_dict() == diversity and sectors.ubiquity.to_dict() == ubiquity

    # phi as the README works it: both directions, zero diagonal, bread-outerwear absent (0)
    phi = {(a, b): p for a, b, p in zip(pairs.sector_code, pairs.related_sector_code, pairs.proximity, strict=True)}
    stated = {("10.71", "10.82"): 2 / 3, ("10.71", "13.20"): 1 / 2, ("10.82", "13.20"): 1 / 3}
    stated |= {("10.82", "14.13"): 1 / 3, ("13.20", "14.13"): 1 / 2}
    assert phi == pytest.approx(stated | {(b, a): p for (a, b), p in stated.items()})

    density = absent.density.to_dict()
    assert density == pytest.approx(
        {
            ("01", "13.20"): 0.625,
            ("01", "14.13"): 0.4,
            ("02", "14.13"): 1.0,
            ("03", "10.82"): 0.5,
            ("03", "10.71"): 3 / 7,
            ("04", "13.20"): 0.625,
            ("04", "10.71"): 4 / 7,
        }
    )
    top = absent[absent["rank"] == 1]
    assert top.loc[("01", "13.20"), ["support_1_sector_code", "support_2_sector_code"]].tolist() == ["10.71", "10.82"]
    assert top.loc[("01", "13.20"), "support_1_proximity"] == pytest.approx(0.5)

    # ECI(01) = mean PCI of bread and confectionery = (1.746 + 0.795) / 2 = 1.271
    assert regions.eci["01"] == pytest.approx(sectors.pci[["10.71", "10.82"]].mean())
    assert round(regions.eci["01"], 3) == 1.271 and round(sectors.pci["10.71"], 3) == 1.746
    assert round(sectors.pci["10.82"], 3) == 0.795
    assert opportunities.national_sector_employment_cagr.isna().all()
    assert opportunities.null_reason.str.contains("one year of data").all()
    assert (opportunities.window_years == 1).all()


def facts_table(path, years: range, extra: str = "") -> None:
    """Two regions and two sectors per year; sector b's national employment doubles from the
    first year to the last."""
    lines = ["region_code,sector_code,year,employment"]
    first, last = years[0], years[-1]
    for year in years:
        growth = 1 + (year - first) / (last - first) if last > first else 1
        lines += [f"01,a,{year},100", f"01,b,{year},{20 * growth}", f"02,a,{year},30", f"02,b,{year},{60 * growth}"]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")


def test_opportunities_carry_the_national_growth_over_five_years_or_the_span_the_table_allows(tmp_path):
    facts = tmp_path / "facts.csv"
    facts_table(facts, range(2016, 2024))
    result = run(facts, tmp_path / "out")  # the defaults: a 3-year window
    table = result.frames["opportunities"]
    assert result.growth_years == 5 and sorted(table.year.unique()) == list(range(2018, 2024))
    latest = table[table.year == 2023].set_index("region_code")
    # region 01 lacks b (RCA < 1): b's national employment 2018 -> 2023 is 80 * (1 + 2/7) -> 80 * 2
    assert latest.sector_code["01"] == "b"
    assert latest.national_sector_employment_cagr["01"] == pytest.approx((2 / (1 + 2 / 7)) ** (1 / 5) - 1)
    early = table[table.year < 2021]
    assert early.national_sector_employment_cagr.isna().all()
    assert early.null_reason.str.contains("no national employment 5 years earlier").all()

    short = tmp_path / "short.csv"
    facts_table(short, range(2021, 2024))
    result = run(short, tmp_path / "short", parameters=RelatednessParameters(window=1))
    last = result.frames["opportunities"].query("year == 2023").iloc[0]
    assert result.growth_years == 2 and last.growth_years == 2
    assert last.national_sector_employment_cagr == pytest.approx(2**0.5 - 1)


def test_leave_one_out_and_the_universe_reach_the_method(tmp_path):
    facts = tmp_path / "facts.csv"
    facts.write_text(readme_example()[0], encoding="utf-8")
    result = run(facts, tmp_path / "out", parameters=RelatednessParameters(window=1, leave_one_out=True))
    # without region 01, weaving's neighbours bread, confectionery and outerwear each have phi 1/2:
    # 01 holds two of the three (the README's 0.625 counts 01's own presence)
    density = result.frames["opportunities"].set_index(["region_code", "sector_code"]).density
    assert density["01", "13.20"] == pytest.approx(2 / 3)
    universe = tmp_path / "universe.txt"
    universe.write_text("10.71\n10.82\n13.20\n", encoding="utf-8")
    result = run(facts, tmp_path / "out", universe, RelatednessParameters(window=1))
    assert set(result.frames["complexity"].sector_code.dropna()) == {"10.71", "10.82", "13.20"}
    assert result.sectors == 3


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("region_code,sector_code,year\n01,a,2023\n", "facts lacks required columns ['employment']"),
        (
            "region_code,sector_code,year,employment\n01,a,2023,12\n01,b,2023,lots\n",
            "row 3, column employment: 'lots' is not a number",
        ),
        (
            "region_code,sector_code,year,employment\n01,a,2023,12\n01,b,2023,-4\n",
            "row 3, column employment: -4 is negative",
        ),
        ("region_code,sector_code,year,employment\n01,a,2023,12\n,b,2023,4\n", "row 3, column region_code: empty"),
        (
            "region_code,sector_code,year,employment\n01,a,2022,12\n01,a,2023,12\n",
            "a 3-year window needs 3 consecutive years, the table has 2 (2022, 2023): add years or use --window 2",
        ),
        (
            "region_code,sector_code,year,employment\n01,a,2019,1\n01,a,2021,1\n01,a,2022,1\n",
            "no rows for year(s) 2020 between 2019 and 2022: a 3-year window would count them as 0 employment",
        ),
    ],
    ids=["missing column", "not a number", "negative", "no region", "too few years", "a year missing"],
)
def test_a_table_that_breaks_the_contract_is_refused_naming_the_file_and_the_problem(tmp_path, text, problem):
    facts = tmp_path / "facts.csv"
    facts.write_text(text, encoding="utf-8")
    with pytest.raises(IndicatorInputError) as refused:
        run(facts, tmp_path / "out")
    assert isinstance(refused.value, KumeError)
    assert (refused.value.file, refused.value.problem) == (str(facts), problem)
    assert not (tmp_path / "out").exists()


def test_a_missing_universe_or_one_without_the_table_s_sectors_is_refused(tmp_path):
    facts = tmp_path / "facts.csv"
    facts_table(facts, range(2021, 2024))
    with pytest.raises(IndicatorInputError, match="no such universe file"):
        run(facts, tmp_path / "out", tmp_path / "nowhere.txt")
    other = tmp_path / "other.txt"
    other.write_text("z\n", encoding="utf-8")
    with pytest.raises(IndicatorInputError, match=f"none of its sector codes is in {facts}"):
        run(facts, tmp_path / "out", other)


def test_the_cli_prints_the_one_line_message_and_exits_2(tmp_path, capsys):
    facts = tmp_path / "facts.csv"
    facts_table(facts, range(2022, 2024))
    assert main(["relatedness", str(facts), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"kume relatedness: {facts}: a 3-year window needs 3 consecutive years, the table has 2 (2022, 2023): "
        "add years or use --window 2\n"
    )
    assert main(["relatedness", str(facts), "--window", "2", "--out", str(tmp_path / "out")]) == 0
    assert "computed for year 2023" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (["--window", "0"], "window: Input should be greater than or equal to 1"),
        (["--window", "11"], "window: Input should be less than or equal to 10"),
        (["--min-employment", "-1"], "min_employment: Input should be greater than or equal to 0"),
    ],
)
def test_parameters_outside_the_run_parameters_range_are_refused(tmp_path, capsys, option, problem):
    facts = tmp_path / "facts.csv"
    facts_table(facts, range(2021, 2024))
    assert main(["relatedness", str(facts), *option, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"kume relatedness: invalid parameters: {problem}\n"
    assert not (tmp_path / "out").exists()
