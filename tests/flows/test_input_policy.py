"""The inbox, the read cache and the policy for inputs that fail, through the real flow."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from helpers import run_selection

from kume.settings import PROJECT_ROOT
from tasks.errors import NationalInputError
from tasks.publish.snapshot import read_dataset


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("policy")
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    return root


def manifest_of(out_dir) -> dict:
    return json.loads((out_dir / "current" / "manifest.json").read_text(encoding="utf-8"))


def files_of(manifest: dict, source: str) -> dict[str, dict]:
    return {f["file"]: f for f in manifest["inputs"][source]["files"]}


def test_inbox_cache_partial_failure_and_national_failure(workspace):
    data, out = workspace / "data", workspace / "out"
    first = run_selection(out, data, provinces=["Samsun", "Trabzon"])
    assert first["status"] == "complete"
    assert {f["read"] for f in files_of(first, "chamber_registry").values()} == {"parsed"}

    # A steward drops a newer Trabzon list in the inbox (one firm again, grown), and Samsun's
    # registry arrives broken.
    trabzon = pd.read_csv(data / "sources/chamber_registry/trabzon_tso_uyeler.tsv", sep="\t", dtype=str)
    newer = trabzon.head(1).assign(**{"Çalışan Sayısı": "77"})
    newer.to_csv(data / "inbox/chamber_registry/trabzon_2023.csv", sep=";", index=False)
    (data / "sources/chamber_registry/samsun_tso_members.csv").write_bytes(b"\x00\x01 not a csv")
    second = run_selection(out, data, provinces=["Samsun", "Trabzon"])

    registry = files_of(second, "chamber_registry")
    assert registry["trabzon_tso_uyeler.tsv"]["read"] == "cached"  # same content: not parsed again
    assert registry["inbox/trabzon_2023.csv"]["read"] == "parsed"
    assert second["status"] == "partial"
    assert second["provinces_carried_over"] == {"55": ["chamber_registry/samsun_tso_members.csv"]}
    assert second["carried_over_from"] == first["run_id"]
    run_dir = out / "runs" / second["run_id"]
    selection = read_dataset(run_dir / "selection", "selection")
    assert (selection[selection.plate_code == 55].carried_over_from == first["run_id"]).all()
    assert selection[selection.plate_code == 61].carried_over_from.isna().all()
    quarantine = read_dataset(run_dir / "quarantine", "quarantine")
    replaced = quarantine[quarantine.rule == "REG-DUP-02"]
    assert replaced[["file", "row"]].values.tolist() == [["trabzon_tso_uyeler.tsv", 2]]
    assert "newer file inbox/trabzon_2023.csv" in replaced.message.iloc[0]
    assert manifest_of(out)["run_id"] == second["run_id"]

    # A national source that cannot be read stops the run before publishing.
    (data / "sources/sgk_employment/sgk_il_nace4_2020.csv").write_bytes(b"")
    with pytest.raises(NationalInputError, match="sgk_employment: sgk_il_nace4_2020.csv: no header row"):
        run_selection(out, data, provinces=["Samsun"], force=True)
    assert manifest_of(out)["run_id"] == second["run_id"]  # the previous publication stays current


def test_forced_run_parses_every_file_again(workspace, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    out = tmp_path / "out"
    run_selection(out, data, provinces=["Trabzon"])
    forced = run_selection(out, data, provinces=["Trabzon"], force=True)
    assert {f["read"] for f in files_of(forced, "sgk_employment").values()} == {"parsed"}
