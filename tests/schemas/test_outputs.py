"""Output schemas (``schemas.outputs``): each dataset's columns are unique and hold its sort keys
and partitions, a column has one type in every dataset, the scored indicators are columns of
the scores, and ``SCHEMA_VERSION`` is the newest committed contract."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from schemas.contract import CONTRACT_DIR
from schemas.outputs import (
    CRITERIA,
    CRITERIA_FIELDS,
    DATASETS,
    PARTITIONS,
    PROVENANCE_FIELDS,
    RANKING_FIELDS,
    SCHEMA_VERSION,
    SCORE_INDICATORS,
    SCORES,
    SELECTION,
)

NAMES = list(DATASETS)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_eleven_published_datasets():
    assert set(DATASETS) == {
        "indicators",
        "scores",
        "selection",
        "growth",
        "concentration",
        "consultation",
        "quality",
        "quarantine",
        "relatedness",
        "complexity",
        "opportunities",
        "cluster_definitions",
        "selection_history",
        "backtest",
    }


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_has_unique_column_names(name):
    schema, _ = DATASETS[name]
    assert len(schema.names) == len(set(schema.names)), [n for n in schema.names if schema.names.count(n) > 1]
    assert all(isinstance(field.type, pa.DataType) and field.name for field in schema)


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_has_key_columns_and_they_are_its_columns(name):
    schema, keys = DATASETS[name]
    assert keys and len(keys) == len(set(keys))
    assert set(keys) <= set(schema.names), set(keys) - set(schema.names)
    assert not schema.field(keys[0]).nullable  # the leading key is always present


def test_partitions_are_non_null_columns_of_their_dataset():
    assert {
        name: ["year"]
        for name in ("indicators", "growth", "relatedness", "complexity", "opportunities", "cluster_definitions")
    } == PARTITIONS
    for name, columns in PARTITIONS.items():
        schema, _ = DATASETS[name]
        for column in columns:
            assert column in schema.names, (name, column)
            assert not schema.field(column).nullable, (name, column)


def test_a_column_has_one_type_in_every_dataset():
    types: dict[str, set[str]] = {}
    for schema, _ in DATASETS.values():
        for field in schema:
            types.setdefault(field.name, set()).add(str(field.type))
    assert {name: kinds for name, kinds in types.items() if len(kinds) > 1} == {}
    assert types["plate_code"] == {"int16"} and types["year"] == {"int16"} and types["sector_code"] == {"string"}


def test_run_level_datasets_lead_with_a_non_null_run_id_and_ranked_ones_carry_their_provenance():
    for name in ("scores", "selection", "consultation", "quality", "quarantine"):
        field = DATASETS[name][0].field(0)
        assert (field.name, field.type, field.nullable) == ("run_id", pa.string(), False), name
    for schema in (SCORES, SELECTION, DATASETS["consultation"][0]):
        assert schema.names[1:3] == [f.name for f in PROVENANCE_FIELDS]


def test_score_indicators_are_the_criteria_indicators_once_each():
    assert list(CRITERIA) == [field.name for field in CRITERIA_FIELDS]
    assert [name for names in CRITERIA.values() for name in names] == SCORE_INDICATORS
    assert len(SCORE_INDICATORS) == len(set(SCORE_INDICATORS)) == 27
    assert CRITERIA["networking"][-2:] == ["relatedness_density", "related_sectors_lq"]  # §6.7
    assert SCORE_INDICATORS[:2] == ["employment", "establishments"] and SCORE_INDICATORS[-1] == "airport_access"


def test_scores_hold_every_indicator_and_its_score_and_both_ranked_datasets_the_ranking():
    for indicator in SCORE_INDICATORS:
        assert SCORES.field(indicator).type == pa.float64()
        assert SCORES.field(f"score_{indicator}").type == pa.float64()
    for schema in (SCORES, SELECTION):
        for field in RANKING_FIELDS:
            assert schema.field(field.name).equals(field), field.name
    assert not SELECTION.field("rank").nullable and SELECTION.field("nace_classes").type == pa.list_(pa.string())


def test_schema_version_is_the_newest_committed_contract_and_its_major_matches():
    assert re.fullmatch(r"\d+\.\d+\.\d+", SCHEMA_VERSION)
    committed = sorted((path.stem for path in CONTRACT_DIR.glob("*.json")), key=version)
    assert committed, "no contract committed"
    newest = committed[-1]
    assert version(newest)[0] == version(SCHEMA_VERSION)[0]
    assert newest == SCHEMA_VERSION
