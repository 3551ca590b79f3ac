"""Names next to codes: the NACE class's in sector_name, the programme cluster's in cluster_name,
and the names of publications before schema 4.0 read as today's."""

from __future__ import annotations

import pandas as pd

from tasks.datasets.names import names_before_schema_4, sector_names, with_province, with_sector_names

SHIPS = "Building of ships and floating structures"
GRAIN = "Manufacture of grain mill products"


def test_every_class_has_its_own_name_and_only_the_programme_clusters_a_cluster_name(ref):
    names = sector_names(ref).set_index("sector_code")
    assert len(names) == 230
    assert names.loc["30.11"].tolist() == [SHIPS, "shipbuilding"]
    assert names.loc["15.20"].tolist() == ["Manufacture of footwear", "footwear"]
    assert pd.isna(names.cluster_name["10.61"]) and names.sector_name["10.61"] == GRAIN
    assert names.cluster_name.notna().sum() == 5  # data/reference/cluster_sectors.csv


def test_names_are_added_by_code_and_the_province_sums_have_none(ref):
    frame = pd.DataFrame({"plate_code": [61, 55], "sector_code": ["30.11", "*"]})
    named = with_sector_names(with_province(frame, ref), ref, clusters=True)
    assert named.province.tolist() == ["Trabzon", "Samsun"]
    assert named.sector_name.tolist()[0] == SHIPS and pd.isna(named.sector_name[1])
    assert named.cluster_name.tolist()[0] == "shipbuilding" and pd.isna(named.cluster_name[1])
    assert "cluster_name" not in with_sector_names(frame, ref)


def test_a_schema_3_publication_had_the_cluster_name_in_sector_name(ref):
    old = pd.DataFrame(
        {
            "sector_code": ["30.11", "10.61", "30.11"],
            "sector_name": ["shipbuilding", GRAIN, SHIPS],  # the last: already the class's name
            "largest_sector_code": ["10.61", "30.11", None],
            "largest_sector_name": [GRAIN, "shipbuilding", None],
        }
    )
    read = names_before_schema_4(old, ref)
    assert read.sector_name.tolist() == [SHIPS, GRAIN, SHIPS]
    assert read.cluster_name.tolist()[0] == "shipbuilding" and read.cluster_name[1:].isna().all()
    assert read.largest_sector_name.tolist()[:2] == [GRAIN, SHIPS] and pd.isna(read.largest_sector_name[2])
    assert read.largest_cluster_name.tolist()[1] == "shipbuilding"
    assert read.largest_cluster_name.drop(1).isna().all()
    assert old.sector_name.tolist()[0] == "shipbuilding"  # the frame read is left as it was


def test_a_schema_4_publication_and_a_frame_without_names_are_left_as_they_are(ref):
    new = pd.DataFrame({"sector_code": ["30.11"], "sector_name": [SHIPS], "cluster_name": ["shipbuilding"]})
    consultation = pd.DataFrame({"sector_code": ["30.11"], "stance": ["support"]})
    assert names_before_schema_4(new, ref) is new
    assert names_before_schema_4(consultation, ref) is consultation
