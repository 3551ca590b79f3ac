"""The consumer contract: committed schemas, the data dictionary, and the README's reader
one-liners run as written against a real publication."""

from __future__ import annotations

import re

import pyarrow as pa

from kume.settings import PROJECT_ROOT
from schemas import contract, dictionary
from schemas.outputs import DATASETS, SCHEMA_VERSION


def test_output_schemas_match_the_committed_contract_of_their_version():
    committed = contract.committed()
    assert committed is not None, f"no schemas/contract/{SCHEMA_VERSION}.json: run python -m schemas.contract"
    assert contract.snapshot() == committed, "schema changed without a new SCHEMA_VERSION"


def test_a_schema_change_without_a_version_bump_is_caught(monkeypatch):
    schema, keys = DATASETS["selection"]
    monkeypatch.setitem(DATASETS, "selection", (schema.append(pa.field("new_column", pa.string())), keys))
    assert contract.snapshot() != contract.committed()


def test_every_column_is_in_the_data_dictionary_and_the_page_is_current():
    for schema, _ in DATASETS.values():
        for field in schema:
            assert field.name in dictionary.COLUMNS, field.name
    page = (PROJECT_ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert page == dictionary.render(), "run python -m schemas.dictionary"


def test_readme_reader_one_liners_run_as_written(published_run, tmp_path, monkeypatch):
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- consumer-one-liners -->\n```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "out").symlink_to(published_run["out_dir"])
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(code, "README.md", "exec"), names)  # noqa: S102 - the README's own code
    selected = names["selection_pandas"][names["selection_pandas"].selected]
    assert len(names["selection_duckdb"]) == len(selected) == 81
    assert names["indicators_duckdb"].year.tolist() == list(range(2011, 2023))
    assert names["indicators_polars"].height == names["indicators_arrow"].num_rows > 8000
