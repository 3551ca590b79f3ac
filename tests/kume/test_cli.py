"""The kume command as a user types it (subprocess), including the README's worked example."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from helpers import kume

from kume.settings import PROJECT_ROOT


def readme_example() -> tuple[str, str]:
    """The facts table and the command of the README's worked example, as written there."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Worked example", 1)[1]
    facts = re.search(r"```csv\n(.*?)```", section, re.S).group(1)
    command = re.search(r"```sh\n(kume indicators .*?)\n```", section, re.S).group(1)
    return facts, command


def test_readme_worked_example_runs_as_written(tmp_path):
    facts, command = readme_example()
    (tmp_path / "basque.csv").write_text(facts, encoding="utf-8")
    args = command.split()[1:]
    result = subprocess.run([sys.executable, "-m", "kume.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(tmp_path / "out" / "indicators.parquet")
    assert set(table.region_code) == {"01", "20", "48"}  # leading zero kept
    bizkaia = table[(table.region_code == "48") & (table.sector_code == "30.11") & (table.year == 2022)].iloc[0]
    # Bizkaia shipbuilding 2022: (1800/2900) / (2200/6700) = 1.890...
    assert bizkaia.lq_employment == pytest.approx((1800 / 2900) / (2200 / 6700))
    assert bizkaia.cmp_strong and bizkaia.eco_stars == 2
    for column in (
        "lq_establishments",
        "focus",
        "national_share",
        "cmp_qualifying",
        "cmp_significant",
        "cmp_strong10",
        "eco_stars",
        "lq_exports",
        "employment_cagr",
    ):
        assert column in table


def test_indicators_rejects_a_bad_table_naming_file_row_and_column(tmp_path):
    facts = tmp_path / "facts.csv"
    facts.write_text("region_code,sector_code,year,employment,establishments\n01,a,2020,12,1\n02,a,2020,x,1\n")
    result = kume("indicators", str(facts), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{facts}: row 3, column employment: 'x' is not a number" in result.stderr
    missing = tmp_path / "missing.csv"
    missing.write_text("region_code,year,employment\n01,2020,3\n")
    result = kume("indicators", str(missing), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "lacks required columns ['sector_code', 'establishments']" in result.stderr


def test_run_rejects_invalid_weights_naming_the_problem():
    result = kume("run", "--weights", "0.5,0.5,0.5,0.5")
    assert result.returncode == 2 and "sum to 2; expected four shares" in result.stderr
    result = kume("run", "--weights=-0.25,0.75,0.25,0.25")
    assert result.returncode == 2 and "-0.25 is not a share between 0 and 1" in result.stderr


def test_serve_refuses_to_expose_the_server_without_basic_auth():
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "kume.cli", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "without basic auth" in done.stderr and "PREFECT_SERVER_API_AUTH_STRING" in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--weights", "0.5,0.5"], "--weights '0.5,0.5' has 2 value(s); expected four shares"),
        (["--weights", "nan,0.5,0.25,0.25"], "--weights: nan is not a share between 0 and 1"),
        (["--weights", "inf,0,0,0"], "--weights: inf is not a share between 0 and 1"),
        (["--weights", "-0.5,0.5,0.5,0.5"], "--weights: -0.5 is not a share between 0 and 1"),
        (["--weights", "0.5,0.5,0.5,0.5"], "--weights '0.5,0.5,0.5,0.5' sum to 2"),
        (["--weights", "a,b,c,d"], "--weights: 'a' is not a number"),
        (
            ["--reference-year", "2099"],
            "reference year 2099 is not in the data: the SGK employment statistics cover 2011-2022",
        ),  # noqa: E501
        (["--reference-year", "1900"], "reference year 1900 is not in the data"),
        (["--provinces", "Atlantis"], "--provinces: 'Atlantis' is not one of the 81 provinces"),
        (["--growth-years", "0"], "growth_spans must be between 1 and 30 years"),
    ],
)
def test_bad_parameters_are_refused_in_one_line_before_any_work(tmp_path, args, says):
    result = kume("run", "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kume run: invalid parameters: "), result.stderr
    assert says in lines[0]
    assert not (tmp_path / "out").exists()  # no flow started, nothing written
    assert "Traceback" not in result.stderr and not result.stdout


def test_the_flow_refuses_a_year_outside_the_data_before_reading_any_input(tmp_path):
    """The UI's form reaches the flow without the CLI: its first step checks the year."""
    from helpers import run_selection

    from tasks.errors import ParameterError

    with pytest.raises(ParameterError, match="reference year 2099 is not in the data") as refused:
        run_selection(tmp_path / "out", provinces=["Samsun"], reference_year=2099)
    assert refused.value.parameter == "reference_year"
    assert not (tmp_path / "out" / "work").exists()  # no task ran


def test_run_passes_out_and_data_as_settings_without_touching_the_environment(tmp_path, monkeypatch):
    """``kume run --out --data`` puts its settings in force around the flow (``use_settings``):
    the flow sees them, and the environment is neither used to pass them nor left changed."""
    import flows.select_clusters  # noqa: F401 (imported by the command; its imports set library defaults)
    import kume.cli
    from kume.settings import current_settings

    seen = []
    monkeypatch.setattr(kume.cli, "configure_prefect", lambda: None)  # Prefect's defaults: not kume's settings
    monkeypatch.setattr(kume.cli, "prefect_server_for_this_run", contextlib.nullcontext)
    monkeypatch.setattr(kume.cli, "_run_flow", lambda request: seen.append((request, current_settings())) or 0)
    monkeypatch.delenv("KUME_OUT_DIR", raising=False)
    monkeypatch.delenv("KUME_DATA_DIR", raising=False)
    before = dict(os.environ)
    data = PROJECT_ROOT / "data"
    assert kume.cli.main(["run", "--out", str(tmp_path / "out"), "--data", str(data), "--provinces", "samsun"]) == 0
    [(request, settings)] = seen
    assert request.provinces == ["Samsun"]
    assert settings.out_dir == (tmp_path / "out").resolve() and settings.data_dir == data.resolve()
    assert dict(os.environ) == before
    assert current_settings().out_dir != settings.out_dir  # in force for the run only


def test_generate_sample_finds_the_generators_in_the_checkout_from_anywhere(tmp_path):
    """``samples/`` is not installed: ``kume`` imports it from its checkout, not from the working folder."""
    probe = "from kume.cli import _checkout_samples; print(_checkout_samples('national_data').__file__)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(PROJECT_ROOT / "samples" / "national_data.py")


def test_generate_sample_without_a_checkout_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    import kume.cli

    monkeypatch.setattr(kume.cli, "PROJECT_ROOT", tmp_path)
    assert kume.cli.main(["generate-sample", "--data", str(tmp_path / "data")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kume generate-sample: the sample generators are not installed")
    assert not (tmp_path / "data").exists()
