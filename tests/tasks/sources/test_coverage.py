"""The years the SGK files cover, read from their year column alone, and a reference year
outside them refused before any work."""

from __future__ import annotations

import pytest

from tasks.errors import ParameterError
from tasks.sources.coverage import check_reference_year, sgk_years


def sgk_folder(root, name: str, text: str, encoding: str = "utf-8"):
    folder = root / "sources" / "sgk_employment"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))
    return folder


def test_years_come_from_every_readable_file_after_any_title_lines(tmp_path):
    sgk_folder(tmp_path, "a.csv", "year;province;nace_code;establishments;employment\n2020;Trabzon;30.11;1;5\n")
    sgk_folder(
        tmp_path,
        "b.csv",
        "SGK İşyeri ve Sigortalı İstatistikleri\n\nyear,province,nace_code,establishments,employment\n"
        "2021,Samsun,32.50,2,9\nx,Samsun,32.50,2,9\n2019,Türkiye,C,3,7\n",
        encoding="cp1254",
    )
    folder = tmp_path / "sources" / "sgk_employment"
    assert sgk_years([folder, tmp_path / "inbox" / "sgk_employment"], tmp_path) == {2019, 2020, 2021}


def test_a_file_without_a_header_is_left_to_the_run(tmp_path):
    sgk_folder(tmp_path, "a.csv", "year;province;nace_code;establishments;employment\n2020;Trabzon;30.11;1;5\n")
    folder = sgk_folder(tmp_path, "broken.csv", "nothing that looks like a header\n")
    assert sgk_years([folder], tmp_path) == {2020}


def test_a_reference_year_outside_the_data_is_refused_and_one_inside_or_none_passes(tmp_path):
    folder = sgk_folder(
        tmp_path, "a.csv", "year;province;nace_code;establishments;employment\n2020;Trabzon;30.11;1;5\n"
    )
    check_reference_year(2020, [folder], tmp_path)
    check_reference_year(None, [folder], tmp_path)
    with pytest.raises(ParameterError) as refused:
        check_reference_year(2023, [folder], tmp_path)
    assert refused.value.parameter == "reference_year" and "2020-2020" in str(refused.value)
    check_reference_year(2023, [tmp_path / "empty"], tmp_path)  # no SGK files: the run reports it, not this check
