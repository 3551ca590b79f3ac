"""The sample generator's pieces (``samples/sample_data.py``) on small inputs: the helpers' known
answers and each writer's layout. (The whole ``generate`` takes about 20 s, too slow for the
suite: its parts are tested here.)"""

from __future__ import annotations

import sqlite3
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from samples.sample_data import (
    SampleGenerator,
    _anchor_series,
    _csv_bytes,
    _excel_value,
    _format_decimal_comma,
    _plant_duplicates,
    _plant_errors,
    _tr_upper,
    _write_registry_xlsx,
    write_agency_db,
    write_capacity_register,
    write_exporter_exports,
    write_sector_turnover,
    write_sgk,
)

# ---- helpers -----------------------------------------------------------------------------


def test_anchor_series_is_geometric_between_anchors_and_extends_the_nearest_slope():
    series = _anchor_series({2011: 100, 2013: 400, 2014: 400}, (2010, 2011, 2012, 2013, 2014, 2015))
    # 100 -> 400 over two years doubles each year; flat after 2013; the same slopes outside
    assert series == pytest.approx([50, 100, 200, 400, 400, 400])


def test_anchor_series_of_one_anchor_is_constant():
    assert _anchor_series({2017: 700}, (2011, 2017, 2022)).tolist() == [700, 700, 700]


@pytest.mark.parametrize(
    ("text", "upper"),
    [("istanbul", "İSTANBUL"), ("Kırşehir", "KIRŞEHİR"), ("Iğdır", "IĞDIR"), ("Çorum", "ÇORUM"), (None, None)],
)
def test_tr_upper_keeps_the_dot_of_i(text, upper):
    assert _tr_upper(text) == upper


def test_format_decimal_comma_writes_dot_thousands_and_a_comma_before_two_decimals():
    values = pd.Series([1234567.891, 5.0, 999.995, 0.1])
    assert _format_decimal_comma(values).tolist() == ["1.234.567,89", "5,00", "1.000,00", "0,10"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [("123", 123), ("-5", -5), ("12345", 12345), ("123456", "123456"), ("12a", "12a"), ("", ""), (3.5, 3.5)],
)
def test_excel_value_turns_short_integer_text_into_numbers_only(value, cell):
    assert _excel_value(value) == cell
    assert type(_excel_value(value)) is type(cell)


def test_csv_bytes_uses_crlf_the_separator_the_encoding_and_the_decimal_mark():
    frame = pd.DataFrame({"İl": ["Muş", "Iğdır; Merkez"], "Değer": [1.5, 2.0]})
    data = _csv_bytes(frame, ";", "cp1254", decimal=",")
    assert data == 'İl;Değer\r\nMuş;1,5\r\n"Iğdır; Merkez";2,0\r\n'.encode("cp1254")
    assert _csv_bytes(frame, "\t", "utf-8").decode("utf-8").splitlines()[1] == "Muş\t1.5"


def registry(rows: int = 15) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "registry_no": [str(1001 + i) for i in range(rows)],
            "nace_code": ["28.93"] * rows,
            "employees": [str(10 + i) for i in range(rows)],
            "province": ["Çorum"] * rows,
        }
    )


def test_plant_errors_appends_three_malformed_copies_of_the_first_rows():
    frame = _plant_errors(registry(), 19)
    assert len(frame) == 18
    bad = frame.tail(3)
    assert bad.registry_no.tolist() == ["H190", "H191", "H192"]
    assert bad.nace_code.tolist() == ["99.99", "28.93", "28.93"]  # an unknown NACE code
    assert bad.employees.tolist() == ["10", "-5", "12"]  # a negative employee count
    assert bad.province.tolist() == ["Çorum", "Çorum", "Atlantis"]  # an unknown province
    assert frame.head(15).equals(registry())


def test_plant_duplicates_lists_three_kahramanmaras_firms_twice_and_no_others():
    assert _plant_duplicates(registry(), 19).equals(registry())
    frame = _plant_duplicates(registry(), 46)
    twice = frame.tail(3)
    assert len(frame) == 18 and twice.registry_no.tolist() == ["1011", "1012", "1013"]
    assert (twice.nace_code == "25.71").all() and (twice.employees == "1").all()


def test_firm_sizes_of_samsun_medical_keep_three_medium_and_five_small_firms(ref):
    generator = SampleGenerator(ref)
    sizes = generator._firm_sizes(55, "32.50", 20, 1450)
    assert len(sizes) == 20 and sizes.min() >= 1
    assert sizes[:3].tolist() == sorted(sizes[:3], reverse=True) and sizes[2] > sizes[3]  # medium above small
    assert sizes.sum() == pytest.approx(1450, abs=20)  # shares of the employment, rounded
    other = generator._firm_sizes(55, "10.13", 50, 3000)
    assert len(other) == 50 and other.min() >= 1 and other.sum() == pytest.approx(3000, abs=50)


# ---- writers -----------------------------------------------------------------------------


def panel(plates=(19, 61), classes=("28.93", "30.11", "30.12"), years=range(2018, 2023)) -> pd.DataFrame:
    """A tiny employment panel: 30.12 has two workplaces (a suppressed cell), the rest ten."""
    rows = [
        {
            "plate_code": plate,
            "nace_class": nace_class,
            "year": year,
            "employment": 100.0 + plate + year - 2018,
            "establishments": 2.0 if nace_class == "30.12" else 10.0,
            "exports_usd": 1000.0,
        }
        for plate in plates
        for nace_class in classes
        for year in years
    ]
    return pd.DataFrame(rows)


def test_write_sgk_writes_a_file_a_year_and_national_totals_above_the_provinces(ref, tmp_path):
    facts = panel(years=range(2021, 2023))
    rows = write_sgk(facts, ref, np.random.default_rng(1), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sgk_il_nace4_2021.csv",
        "sgk_il_nace4_2022.csv",
        "sgk_turkiye_toplam.csv",
    ]
    year = pd.read_csv(tmp_path / "sgk_il_nace4_2022.csv", sep=";", dtype={"NACE Kodu": str})
    assert list(year.columns) == ["Yıl", "İl Kodu", "İl", "NACE Kodu", "İşyeri Sayısı", "Sigortalı Sayısı"]
    assert set(year["İl"]) == {"Çorum", "Trabzon"} and set(year["NACE Kodu"]) == {"2893", "3011", "3012"}
    national = pd.read_csv(tmp_path / "sgk_turkiye_toplam.csv", sep=";", dtype={"NACE Kodu": str})
    assert (national["İl"] == "TÜRKİYE").all() and national["İl Kodu"].isna().all()
    assert rows == len(facts) + len(national) == 12 + 8  # 3 classes and the total "C", two years
    for year_value, group in national.groupby("Yıl"):
        classes, total = group[group["NACE Kodu"] != "C"], group[group["NACE Kodu"] == "C"].iloc[0]
        assert total["Faaliyet"] == "İmalat sanayi toplamı"
        assert total["Sigortalı Sayısı"] == classes["Sigortalı Sayısı"].sum()
        provinces = facts[facts.year == year_value].groupby("nace_class").employment.sum().to_numpy()
        ratio = classes.sort_values("NACE Kodu")["Sigortalı Sayısı"].to_numpy() / provinces
        assert ((ratio >= 1.0) & (ratio <= 1.045)).all()  # 1-4 % not allocated to a province, rounded


def test_write_capacity_register_masks_the_capacity_of_three_or_fewer_producers(ref, tmp_path):
    facts = panel(years=[2022]).assign(establishments=lambda f: np.where(f.nace_class == "28.93", 200.0, 4.0))
    rows = write_capacity_register(facts, ref, np.random.default_rng(2), tmp_path)
    table = pd.read_csv(tmp_path / "capacity_register" / "tobb_kapasite_2022.csv", sep=";", dtype=str)
    assert rows == len(table) == 4  # two provinces x divisions 28 and 30
    assert list(table.columns) == ["İl", "NACE Bölümü", "Ürün Grubu", "Üretici Sayısı", "Kapasite", "Birim"]
    masked = table["Kapasite"] == "*"
    assert masked.tolist() == (table["Üretici Sayısı"].astype(int) <= 3).tolist()
    assert masked[table["NACE Bölümü"] == "30"].all()  # 8 workplaces: at most 2 producers
    assert not masked[table["NACE Bölümü"] == "28"].any()  # 200 workplaces: at least 10
    assert (table["Birim"] == "ton/yıl").all()


def test_write_sector_turnover_gives_divisions_classes_asked_for_and_suppresses_small_cells(ref, tmp_path):
    facts = panel()
    rows = write_sector_turnover(facts, ref, tmp_path, provinces={19: (), 61: ("30",)})
    path = tmp_path / "sector_turnover" / "tuik_il_nace_ciro.csv"
    table = pd.read_csv(path, sep=";", dtype=str)
    assert list(table.columns) == ["Yıl", "İl", "NACE Rev.2", "Faaliyet", "Ciro (TL)"]
    assert rows == len(table) == 5 * (2 + 4)  # a year: Çorum 28, 30; Trabzon 28, 30, 30.11, 30.12
    trabzon = table[(table["İl"] == "Trabzon") & (table["Yıl"] == "2022")]
    assert trabzon["NACE Rev.2"].tolist() == ["28", "30", "30.11", "30.12"]
    assert trabzon.set_index("NACE Rev.2")["Ciro (TL)"]["30.12"] == "C"  # two workplaces
    assert (table[table["NACE Rev.2"] == "28"]["Ciro (TL)"].astype(float) % 1000 == 0).all()  # rounded to thousands
    before = path.read_bytes()
    write_sector_turnover(facts, ref, tmp_path, provinces={19: (), 61: ("30",)})
    assert path.read_bytes() == before  # its own random stream: the same file again


def test_write_exporter_exports_lists_the_gaziantep_and_kahramanmaras_exporters(ref, tmp_path):
    firms = pd.DataFrame(
        {
            "plate_code": [27, 27, 46, 19],
            "exporter": [True, False, True, True],
            "registry_no": ["1001", "1002", "1001", "1001"],
            "firm_name": ["Anka Deri", "Beta Tekstil", "Maraş Metal", "Çorum Makina"],
            "nace_class": ["15.20", "13.10", "25.99", "28.93"],
            "employees": [10, 20, 30, 40],
        }
    )
    rows = write_exporter_exports(firms, ref, np.random.default_rng(3), tmp_path)
    text = (tmp_path / "exporter_exports" / "gaib_uye_ihracat_2022.csv").read_text(encoding="utf-8")
    table = pd.read_csv(tmp_path / "exporter_exports" / "gaib_uye_ihracat_2022.csv", sep=";", decimal=",")
    assert rows == len(table) == 2
    assert table["Firma Ünvanı"].tolist() == ["Anka Deri", "Maraş Metal"]
    assert table["İl"].tolist() == ["Gaziantep", "Kahramanmaraş"] and (table["Yıl"] == 2022).all()
    assert (table["İhracat (USD)"] > 0).all() and "," in text.splitlines()[1].split(";")[-1]


def test_write_agency_db_writes_each_table_and_replaces_an_old_file(tmp_path):
    path = tmp_path / "agency_db" / "agency.sqlite"
    tables = {
        "sector_associations": pd.DataFrame({"plate_code": [19, 61], "nace_class": ["28.93", "30.11"]}),
        "testing_labs": pd.DataFrame({"plate_code": [19], "nace_class": ["28.93"]}),
    }
    assert write_agency_db(tables, path) == 3
    assert write_agency_db({"testing_labs": tables["testing_labs"]}, path) == 1
    with sqlite3.connect(path) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert names == ["testing_labs"]
        assert connection.execute("SELECT plate_code, nace_class FROM testing_labs").fetchall() == [(19, "28.93")]


def members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Sicil No": ["1001", "1002", "1003"],
            "Firma Ünvanı": ["Anka Deri", "Beta Tekstil", "Gama Metal"],
            "Çalışan Sayısı": ["12", "", "30"],  # one blank count
        }
    )


def test_registry_xlsx_has_a_merged_title_the_header_the_members_and_a_total_row(tmp_path):
    path = tmp_path / "members.xlsx"
    _write_registry_xlsx(members(), path, "GAZİANTEP - ÜYE FİRMA LİSTESİ (2022)")
    sheet = openpyxl.load_workbook(path).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert sheet.title == "Üyeler" and [str(r) for r in sheet.merged_cells.ranges] == ["A1:C1"]
    assert rows[0][0] == "GAZİANTEP - ÜYE FİRMA LİSTESİ (2022)" and rows[1] == [None] * 3
    assert rows[2] == ["Sicil No", "Firma Ünvanı", "Çalışan Sayısı"]
    assert rows[3:6] == [[1001, "Anka Deri", 12], [1002, "Beta Tekstil", None], [1003, "Gama Metal", 30]]
    assert rows[6] == [None] * 3
    assert rows[7] == [None, "TOPLAM", 42]  # the chamber's total row: employees summed, blanks skipped


def test_registry_xlsx_carries_fixed_dates_so_it_is_reproducible(tmp_path):
    path = tmp_path / "members.xlsx"
    _write_registry_xlsx(members(), path, "title")
    core = zipfile.ZipFile(path).read("docProps/core.xml").decode()
    assert "<dcterms:created" in core and core.count("2022-12-31T00:00:00Z") == 2  # created and modified
    assert {info.date_time for info in zipfile.ZipFile(path).infolist()} == {(2022, 12, 31, 0, 0, 0)}
    again = tmp_path / "again.xlsx"
    _write_registry_xlsx(members(), again, "title")
    assert again.read_bytes() == path.read_bytes()
