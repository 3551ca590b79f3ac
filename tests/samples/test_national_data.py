"""The national-scale generator, small: a registry for every province, the sizes asked for, the
same files for the same seed, and the real flow reading and validating them with only the
planted rows quarantined and publishing, for all 81 provinces, the content it published before
the speed work of issue 17 (``national_outputs.json``)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from helpers import run_selection

from kume.settings import PROJECT_ROOT
from samples.national_data import LAYOUTS, _decimal_comma, generate_national, registry_layout
from tasks.reference import Reference

FIRMS, YEARS = 30_000, 6
NACE_CLASSES = 230
# per registry: an unknown NACE code, a negative employee count, an unknown province;
# Kahramanmaraş lists three firms twice
# every member list: an unknown NACE code, a negative employee count and an unknown province ('Atlantis',
# or in the lists in the documented layout, without a province column, a district of another province)
DOCUMENTED = sum("province" not in LAYOUTS[registry_layout(plate)][5] for plate in range(1, 82))
PLANTED = {
    "REG-NACE-02": 81,
    "REG-EMP-02": 81,
    "REG-PROV-01": 81 - DOCUMENTED,
    "REG-DIST-01": DOCUMENTED,
    "REG-DUP-01": 3,
}


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    data_dir = tmp_path_factory.mktemp("national") / "data"
    return data_dir, generate_national(data_dir, firms=FIRMS, years=YEARS)


@pytest.fixture(scope="module")
def national_run(national, tmp_path_factory) -> dict:
    """The nightly run of all 81 provinces on the small national workload."""
    data_dir, _ = national
    return run_selection(tmp_path_factory.mktemp("national-out"), data_dir)


OUTPUT_DIGESTS = Path(__file__).with_name("national_outputs.json")
RUN_COLUMNS = ("run_id", "computed_in_run", "carried_over_from")  # the run's identity: its code version


# Floats are compared to this share of their size: the BLAS kernels a CPU gets sum in different
# orders, so a product of matrices (ECI, PCI, COI, COG) differs in its last digits from one
# machine to another (seen: ~1e-11 of a PCI, between OpenBLAS's AVX-512 and AVX2 kernels)
FLOAT_TOLERANCE = 1e-10


def content_digests(run_dir: Path) -> dict[str, dict]:
    """Each published dataset's rows, a SHA-256 of its content in published order (every column
    but the floats, and where those are null), and per float column its sum weighted by row and
    the weighted sum of its magnitudes: what a faster pipeline must not change. The run's own
    identity (which hashes the code version) is replaced."""
    digests = {}
    for folder in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        files = sorted(str(f) for f in folder.rglob("*.parquet"))
        if not files:
            continue
        partitioning = ds.partitioning(flavor="hive")
        table = ds.dataset(files, partitioning=partitioning, partition_base_dir=str(folder)).to_table()
        frame = table.to_pandas()
        floats = [column for column in frame.columns if pd.api.types.is_float_dtype(frame[column])]
        exact = frame.drop(columns=floats).assign(**{f"{column} is null": frame[column].isna() for column in floats})
        for column in exact.columns:
            if column in RUN_COLUMNS:
                exact[column] = exact[column].where(exact[column].isna(), "RUN")
            elif exact[column].map(lambda v: isinstance(v, np.ndarray | list)).any():
                exact[column] = exact[column].map(lambda v: None if v is None else "\x1f".join(v))
        hashed = pd.util.hash_pandas_object(exact, index=False).to_numpy()
        digest = hashlib.sha256(str(table.schema.remove_metadata()).encode() + hashed.tobytes()).hexdigest()
        weights = 1.0 + np.arange(len(frame)) * 0.6180339887498949 % 1.0  # by row: an order changed moves the sum
        sums = {
            column: [float(np.nansum(weights * frame[column])), float(np.nansum(weights * frame[column].abs()))]
            for column in floats
        }
        digests[folder.name] = {"rows": table.num_rows, "sha256": digest, "float_sums": sums}
    return digests


def differences(digests: dict[str, dict], expected: dict[str, dict]) -> list[str]:
    """What differs between two ``content_digests``: a dataset's rows or exact content, or a float
    column's weighted sum by more than ``FLOAT_TOLERANCE`` of its weighted magnitude."""
    found = [f"{name}: missing" for name in expected.keys() - digests.keys()]
    found += [f"{name}: not expected" for name in digests.keys() - expected.keys()]
    for name in digests.keys() & expected.keys():
        got, want = digests[name], expected[name]
        shape = [(digest["rows"], digest["sha256"], digest["float_sums"].keys()) for digest in (got, want)]
        if shape[0] != shape[1]:
            found.append(f"{name}: rows, content or float columns differ")
            continue
        for column, (total, magnitude) in want["float_sums"].items():
            if abs(got["float_sums"][column][0] - total) > FLOAT_TOLERANCE * magnitude:
                found.append(f"{name}.{column}: weighted sum differs")
    return found


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) - 1  # without the header


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.*")}


def test_every_province_has_a_registry_and_the_sizes_are_as_asked(national):
    data_dir, counts = national
    sources = data_dir / "sources"
    plates = Reference(PROJECT_ROOT / "data" / "reference").provinces.plate_code.tolist()
    registries = sorted((sources / "chamber_registry").iterdir())
    assert [int(p.name[:2]) for p in registries] == plates
    rows = {int(p.name[:2]): _lines(p) for p in registries}
    assert sum(rows.values()) == counts["chamber_registry"] == FIRMS + sum(PLANTED.values())
    assert max(rows, key=rows.get) == 34  # İstanbul
    sgk = sorted((sources / "sgk_employment").glob("sgk_il_nace4_*.csv"))
    assert [p.stem[-4:] for p in sgk] == [str(y) for y in range(2023 - YEARS, 2023)]
    assert all(_lines(p) == len(plates) * NACE_CLASSES for p in sgk)
    national_totals = _lines(sources / "sgk_employment" / "sgk_turkiye_toplam.csv")
    assert national_totals == (NACE_CLASSES + 1) * YEARS  # every class and C, every year
    assert counts["sgk_employment"] == (len(plates) * NACE_CLASSES + NACE_CLASSES + 1) * YEARS
    assert len(list((sources / "exports_by_sector").glob("*.csv"))) == YEARS
    assert (data_dir / "reference" / "nace_rev2_section_c.csv").exists()


def test_the_same_seed_writes_the_same_files(national, tmp_path):
    data_dir, counts = national
    again = generate_national(tmp_path / "data", firms=FIRMS, years=YEARS)
    assert again == counts
    assert _digests(tmp_path / "data" / "sources") == _digests(data_dir / "sources")


def test_the_flow_reads_and_validates_it_quarantining_only_the_planted_rows(national, national_run):
    _, counts = national
    manifest = national_run
    assert manifest["status"] == "complete"
    inputs = manifest["inputs"]
    assert set(inputs) == set(counts)
    for source, info in inputs.items():
        assert not info["errors"], source
        assert info["rows_in"] == info["rows_accepted"] + info["rows_quarantined"], source
        assert info["rows_in"] == counts[source], source
    failures = {rule: n for info in inputs.values() for rule, n in (info["rule_failures"] or {}).items()}
    assert failures == PLANTED
    run_dir = Path(manifest["locations"]["run"])
    quarantine = pd.read_parquet(run_dir / "quarantine")
    assert quarantine.groupby("rule").size().to_dict() == PLANTED
    selection = pd.read_parquet(run_dir / "selection")
    samsun = selection[selection.selected & (selection.plate_code == 55)]
    assert samsun.sector_code.tolist() == ["32.50"]  # Samsun's planted cluster
    rules = {f["province_rule"] for f in inputs["chamber_registry"]["files"]}
    assert rules == {"province column", "district"}  # the lists without a province column: by their districts
    assert inputs["sector_turnover"]["rows_in"] > 0


def test_every_published_dataset_is_what_it_was_before_the_speed_work(national_run):
    """Issue 17: same rows, same values (floats to ``FLOAT_TOLERANCE``), same order, same schema in
    every dataset. After a change that is meant to move the figures, write the new digests with
    ``KUME_WRITE_DIGESTS=1``."""
    digests = content_digests(Path(national_run["locations"]["run"]))
    if os.environ.get("KUME_WRITE_DIGESTS"):
        OUTPUT_DIGESTS.write_text(json.dumps(digests, indent=2) + "\n", encoding="utf-8")
    assert differences(digests, json.loads(OUTPUT_DIGESTS.read_text(encoding="utf-8"))) == []


def test_the_digests_let_through_a_kernels_last_digits_but_no_change_of_a_figure_or_an_order(tmp_path):
    rng = np.random.default_rng(17)
    frame = pd.DataFrame({"sector_code": [f"{n:04d}" for n in range(60_000)], "pci": rng.normal(size=60_000)})

    def digests_of(changed: pd.DataFrame) -> dict[str, dict]:
        (tmp_path / "opportunities").mkdir(exist_ok=True)
        changed.to_parquet(tmp_path / "opportunities" / "part-0.parquet", index=False)
        return content_digests(tmp_path)

    expected = digests_of(frame)
    noise = frame.assign(pci=frame.pci * (1 + rng.uniform(-1e-11, 1e-11, len(frame))))
    assert noise.pci.ne(frame.pci).any() and differences(digests_of(noise), expected) == []
    one_figure = frame.assign(pci=frame.pci.where(frame.index != 123, frame.pci * (1 + 1e-4)))
    assert differences(digests_of(one_figure), expected) == ["opportunities.pci: weighted sum differs"]
    floats_swapped = frame.assign(pci=frame.pci.to_numpy()[[1, 0, *range(2, len(frame))]])
    assert differences(digests_of(floats_swapped), expected) == ["opportunities.pci: weighted sum differs"]
    reordered = differences(digests_of(frame.iloc[::-1]), expected)
    assert reordered == ["opportunities: rows, content or float columns differ"]


def test_decimal_comma_has_dot_thousands_like_the_chambers_files():
    values = np.array([0.5, 999.999, 1250000.5, 12_345_678_901.25])
    assert _decimal_comma(values).tolist() == ["0,50", "1.000,00", "1.250.000,50", "12.345.678.901,25"]
