"""The reports, opened as a person would: every page rendered by headless Chromium (Debian's),
with no console errors and no request leaving the machine, and the key elements present; the
sections of relatedness (what could grow next, the sector space) on small frames."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from kume.settings import PROJECT_ROOT
from schemas.outputs import DATASETS, SCORES
from tasks.methods.relatedness import DISCONNECTED
from tasks.publish.snapshot import read_dataset
from tasks.reference import Reference
from tasks.reports.html import grow_next, render_reports
from tasks.reports.language import report_text

REFERENCE = PROJECT_ROOT / "data" / "reference"


def open_page(browser, path):
    browser.get(path.as_uri())
    browser.get_log("browser")  # nothing before this page counts
    browser.get_log("performance")
    browser.refresh()
    console = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    requests = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in browser.get_log("performance")
        if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"
    ]
    return console, requests


def image_widths(browser, selector: str) -> list[int]:
    return browser.execute_script(
        f"return Array.from(document.querySelectorAll('{selector}')).map(i => i.complete ? i.naturalWidth : 0)"
    )


def test_every_page_renders_offline_without_errors_with_its_charts_map_and_tables(browser, published_run, tmp_path):
    reports = published_run["run_dir"] / "reports"
    pages = sorted(reports.glob("*.html"))
    assert len(pages) == 82  # 81 provinces and the national overview
    for page in pages:
        console, requests = open_page(browser, page)
        assert console == [], (page.name, console)
        assert all(url.startswith(("file:", "data:")) for url in requests), (page.name, requests)
        assert browser.find_element("tag name", "h1").text
        picture = tmp_path / f"{page.stem}.png"
        assert browser.save_screenshot(str(picture)) and picture.stat().st_size > 20_000
        rows = len(browser.find_elements("css selector", "table tbody tr"))
        if page.name == "index.html":
            assert image_widths(browser, "img#map")[0] > 600
            assert image_widths(browser, "img#space")[0] > 300  # the sector space
            assert browser.find_element("id", "sector-space").is_displayed()
            assert rows >= 81
        else:
            widths = image_widths(browser, "img.chart")
            assert len(widths) == 2 and min(widths) > 300, (page.name, widths)
            assert rows >= 5
            assert browser.find_element("id", "grow-next").is_displayed()  # what could grow next


def test_pages_speak_turkish_by_default_and_english_on_request(published_run):
    run_dir = published_run["run_dir"]
    samsun = (run_dir / "reports" / "province-55-samsun.html").read_text(encoding="utf-8")
    assert '<html lang="tr">' in samsun
    for text in (
        "Ekonomik Etki",
        "Faktör Koşulları",
        "tıbbi cihaz ve malzemeler",
        "Neden bu sektör?",
        "Ciroya göre en büyük sektör (oda kaydı) neden seçilmedi?",
        "Paydaş görüşleri",
        "Karantina",
        "Sırada hangi sektörler büyüyebilir?",
        "<th>Yoğunluk</th>",
    ):
        assert text in samsun, text
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    datasets = {name: read_dataset(run_dir / name, name) for name in DATASETS}
    english = render_reports(datasets, manifest, PROJECT_ROOT / "data" / "reference", "en")
    page = english["province-61-trabzon.html"]
    # Trabzon's member list has no turnover: its size basis is the statistics office's turnover
    assert '<html lang="en">' in page and "Why not the largest sector by turnover (official statistics)?" in page
    # provinces with no turnover at all compare with their largest sector by employment, and say so
    assert any("largest sector by employment (no turnover data)" in text for text in english.values())
    assert "shipbuilding" in page and "Kahramanmaraş" in english["index.html"]
    assert "What could grow next" in page and "The sector space" in english["index.html"]
    assert "Sektör uzayı" in (run_dir / "reports" / "index.html").read_text(encoding="utf-8")
    # the consultation's assessment codes, said in the page's language
    turkish = [page.read_text(encoding="utf-8") for page in (run_dir / "reports").glob("province-*.html")]
    assert any("farklı görüş: seçime karşı" in text for text in turkish)
    assert any("disagrees: backs another sector" in text for text in english.values())
    assert not any("backs_another_sector" in text for text in [*turkish, *english.values()])
    assert "@media print" in page and "size: A4" in page


def test_reports_are_part_of_the_snapshot_and_listed_in_the_manifest(published_run):
    manifest = published_run["manifest"]
    files = json.loads((published_run["run_dir"] / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    assert "reports/index.html" in files["reports"]["files"]
    assert len(files["reports"]["files"]) == 82 and manifest["run_id"]


def test_the_run_leaves_its_selection_quality_and_outputs_as_prefect_artifacts(published_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    flow_run_id = published_run["manifest"]["flow_run_id"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    by_key = {artifact.key: artifact for artifact in artifacts}
    assert by_key["kume-selection"].type == "table"
    rows = json.loads(by_key["kume-selection"].data)
    assert len(rows) == 81 and "Kahramanmaraş" in {row["province"] for row in rows}
    assert "reports/index.html" in by_key["kume-outputs"].data
    assert "| sgk_employment |" in by_key["kume-data-quality"].data


# ---- what could grow next and the sector space, on small frames ------------------------------

YEAR = 2022
# Samsun (55) selects 32.50 and Çorum (19) 28.93, both programme clusters; Trabzon (61) 30.11.
PROVINCES = {55: ("Samsun", "32.50"), 19: ("Çorum", "28.93"), 61: ("Trabzon", "30.11")}
OTHERS = ["10.61", "25.99"]
# Samsun's twelve opportunities ranked (the page shows ten), two unranked (no density)
SAMSUN = [f"{division}.{n}0" for division in (13, 20, 22, 23, 26, 27) for n in (1, 2)]


CLUSTERS = Reference(REFERENCE).cluster_sectors.set_index("sector_code").name_en.to_dict()


def scores() -> pd.DataFrame:
    rows = []
    for plate, (province, selected) in PROVINCES.items():
        for rank, code in enumerate([selected, *OTHERS], start=1):
            rows.append(
                {
                    "plate_code": plate,
                    "province": province,
                    "year": YEAR,
                    "sector_code": code,
                    "sector_name": f"Manufacture of class {code}",
                    "cluster_name": CLUSTERS.get(code),  # as published: the programme cluster's name
                    "rank": rank,
                    "selected": rank == 1,
                    "eligible": True,
                    "total_score": 90.0 - 10 * rank,
                    "size_rank": rank,
                    "size_basis": "employment",
                    "robust": True,
                    "robustness_share": 0.9,
                    "top_indicators": "lq_employment +3.0",
                    **{c: 60.0 - rank for c in ("economic_impact", "demand", "networking", "factor_conditions")},
                    **{
                        f"contribution_{c}": 15.0
                        for c in ("economic_impact", "demand", "networking", "factor_conditions")
                    },
                    "cmp_strong": rank == 1,
                    "eco_stars": rank,
                    "lq_employment": 3.0 / rank,
                    "employment_cagr": 0.01 * rank,
                    "employment": 1000.0 * rank,
                }
            )
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[field.name for field in SCORES])


def opportunity(plate: int, code: str, rank: int | None, year: int = YEAR, **values) -> dict:
    return {
        "plate_code": plate,
        "province": PROVINCES[plate][0],
        "sector_code": code,
        "sector_name": f"Manufacture of class {code}",
        "year": year,
        "window_years": 3,
        "rank": rank,
        "density": None if rank is None else 0.6 - 0.01 * rank,
        "cog": 0.1,
        "pci": 1.25,
        "rca": 0.4,
        "national_sector_employment_cagr": 0.031,
        "support_1_sector_code": "28.93",
        "support_1_sector_name": "Manufacture of machinery for food, beverage and tobacco processing",
        "support_1_proximity": 0.62,
        "support_2_sector_code": "10.61",
        "support_2_sector_name": "Manufacture of grain mill products",
        "support_2_proximity": 0.41,
        "support_3_sector_code": None,
        "support_3_sector_name": None,
        "support_3_proximity": np.nan,
        "null_reason": None if rank is not None else "present in no region: no proximity, density or complexity",
        **values,
    }


def opportunities() -> pd.DataFrame:
    rows = [opportunity(55, code, rank) for rank, code in enumerate(SAMSUN, start=1)]
    rows += [opportunity(55, "12.00", None), opportunity(55, "19.10", None)]
    rows.append(opportunity(55, "33.11", 1, year=YEAR - 1))  # another year: not on the page
    rows += [opportunity(19, code, rank, pci=np.nan, cog=np.nan) for rank, code in enumerate(["32.50", "31.01"], 1)]
    frame = pd.DataFrame(rows)  # Trabzon: none
    return frame.astype({"rank": "Int32"})


def complexity() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": ["province", "province", "sector"],
            "plate_code": [55, 19, None],
            "province": ["Samsun", "Çorum", None],
            "sector_code": [None, None, "32.50"],
            "year": YEAR,
            "window_years": 3,
            "eci": [0.84, np.nan, 1.1],
            "coi": [1.5, np.nan, np.nan],
            "null_reason": [None, DISCONNECTED, None],
        }
    )


# the sector space: eight classes of the reference year (the selected three among them)
LINKS = {
    ("32.50", "26.60"): 0.8,
    ("28.93", "28.30"): 0.7,
    ("28.30", "25.99"): 0.6,
    ("25.99", "32.50"): 0.5,
    ("10.61", "28.93"): 0.45,
    ("30.11", "25.99"): 0.4,
    ("10.61", "10.71"): 0.35,
    ("26.60", "28.30"): 0.3,
    ("10.71", "30.11"): 0.1,
}


def relatedness() -> pd.DataFrame:
    rows = [(a, b, phi) for (a, b), phi in LINKS.items()] + [(b, a, phi) for (a, b), phi in LINKS.items()]
    frame = pd.DataFrame(rows, columns=["sector_code", "related_sector_code", "proximity"]).assign(year=YEAR)
    earlier = frame.assign(year=YEAR - 1, related_sector_code="33.11")  # another year: not drawn
    return pd.concat([frame, earlier], ignore_index=True).assign(window_years=3, co_occurrence=2)


def synthetic(**replaced) -> tuple[dict, dict]:
    """Datasets and a manifest of a small publication: three provinces, their opportunities,
    complexity and the sector space, as render_reports reads them."""
    codes = sorted({code for pair in LINKS for code in pair})
    indicators = pd.DataFrame(
        [
            {"sector_code": code, "year": year, "national_employment": 1e6, "national_sector_employment": 1000.0 * n}
            for year in (YEAR - 5, YEAR)
            for n, code in enumerate(codes, start=1)
        ]
    )
    selection = scores().merge(pd.DataFrame({"plate_code": [19], "host": ["Çorum TSO"]}), on="plate_code", how="left")
    datasets = {
        "scores": scores(),
        "selection": selection,
        "indicators": indicators,
        "consultation": pd.DataFrame(
            columns=["plate_code", "agrees", "meeting_date", "institution", "sector_code", "assessment"]
        ),
        "quality": pd.DataFrame(
            {"source": ["sgk_employment"], "rows_in": [10], "rows_accepted": [10], "rows_quarantined": [0]}
        ),
        "relatedness": relatedness(),
        "complexity": complexity(),
        "opportunities": opportunities(),
        **replaced,
    }
    manifest = {
        "run_id": "run-1",
        "started_at": "2024-01-01T00:00:00",
        "code_version": "test",
        "parameters": {
            "reference_year": YEAR,
            "growth_spans": [5],
            "weights": {c: 0.25 for c in ("economic_impact", "demand", "networking", "factor_conditions")},
            "gates": {},
            "relatedness": {"min_employment": 10.0, "window": 3, "leave_one_out": False},
            "report_language": "tr",
        },
        "inputs": {},
    }
    return datasets, manifest


@pytest.fixture(scope="module")
def pages() -> dict[str, dict[str, str]]:
    datasets, manifest = synthetic()
    return {language: render_reports(datasets, manifest, REFERENCE, language) for language in ("tr", "en")}


def section(page: str) -> str:
    """The "what could grow next" section of a province page."""
    match = re.search(r"<section class='grow-next'>(.*?)</section>", page)
    assert match, "no grow-next section"
    return match.group(1)


def rows(html_text: str) -> list[list[str]]:
    """The cells of every body row of the first table, tags stripped, lines joined by " | "."""
    body = re.search(r"<tbody>(.*?)</tbody>", html_text).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell.replace("<br>", " | ")) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)
    ]


def test_a_province_page_shows_its_ten_best_opportunities_with_the_sectors_that_support_them(pages):
    grow = section(pages["en"]["province-55-samsun.html"])
    assert "<h2 id='grow-next'>What could grow next</h2>" in grow
    table = rows(grow)
    assert [row[0] for row in table] == [str(rank) for rank in range(1, 11)]  # the top ten, in rank order
    assert [row[1].split()[0] for row in table] == SAMSUN[:10]  # not the 11th, 12th, the unranked, 2021's
    assert table[0][1:6] == ["13.10 Manufacture of class 13.10", "59%", "1.25", "0.10", "3.1%"]
    # the supporting sectors already present, with their proximity; a programme cluster by its name
    assert table[0][6] == "28.93 food processing machinery (0.62) | 10.61 grain mill products (0.41)"
    assert "<b>Density</b> is the share of a sector's closely related sectors" in grow
    assert "not the selection above" in grow and "Employment averaged over 2020–2022" in grow
    assert "Economic complexity of Samsun (ECI): 0.84; complexity outlook (COI): 1.50." in grow
    # the provenance names the relatedness parameters behind these figures
    assert (
        "relatedness {&quot;min_employment&quot;: 10.0, &quot;window&quot;: 3" in pages["en"]["province-55-samsun.html"]
    )


def test_what_could_grow_next_speaks_turkish(pages):
    grow = section(pages["tr"]["province-55-samsun.html"])
    assert "Sırada hangi sektörler büyüyebilir?" in grow and "<th>Yoğunluk</th>" in grow
    assert "28.93 gıda işleme makineleri (0.62)" in grow  # the cluster's Turkish name
    assert "yukarıdaki seçim değil" in grow and "İstihdam 2020–2022 ortalamasıdır" in grow
    assert "Samsun ilinin ekonomik karmaşıklığı (ECI): 0.84" in grow


def test_a_province_with_no_opportunities_gets_a_sentence_and_no_table(pages):
    for language, sentence in (
        ("en", "No growth candidates are computed for Trabzon in 2022"),
        ("tr", "Trabzon için 2022"),
    ):
        grow = section(pages[language]["province-61-trabzon.html"])
        assert sentence in grow and "<table" not in grow


def test_a_null_complexity_says_why_in_the_pages_language(pages):
    grow = section(pages["en"]["province-19-corum.html"])
    assert [row[3:5] for row in rows(grow)] == [["—", "—"], ["—", "—"]]  # no PCI, no COG
    assert "Economic complexity (ECI, PCI, COG) is not computed for 2022: the provinces and sectors split" in grow
    assert "iller ve sektörler hiçbir sektörü paylaşmayan gruplara" in section(pages["tr"]["province-19-corum.html"])
    t = report_text("en")
    frame = complexity().assign(null_reason=[None, "a <new> reason", None])
    assert "not computed for 2022: a &lt;new&gt; reason." in grow_next(19, "Çorum", YEAR, opportunities(), frame, 3, t)


def space_svg(page: str) -> ET.Element:
    uri = re.search(r'id="space" alt="[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    return ET.fromstring(base64.b64decode(uri))


def test_the_national_page_draws_the_sector_space_with_the_selected_sectors_ringed_and_listed(pages):
    index = pages["en"]["index.html"]
    assert "<h2 id='sector-space'>The sector space: how manufacturing classes are related</h2>" in index
    root = space_svg(index)
    groups = {g.get("id"): g for g in root.iter("{http://www.w3.org/2000/svg}g")}
    paths = {
        name: len(groups[name].findall(".//{http://www.w3.org/2000/svg}path"))
        for name in groups
        if name and name.startswith("space-")
    }
    assert paths == {
        "space-tree": 7,
        "space-extra": 0,
        "space-nodes": 8,
        "space-selected": 3,
    }  # 8 classes, 7 tree links
    labels = [
        t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and re.match(r"\d\d\.\d\d$", t.text)
    ]
    assert sorted(labels) == ["28.93", "30.11", "32.50"]
    assert "Each dot is a manufacturing class (8 with a link in 2022)" in index and "the 3 sectors selected" in index
    listed = rows(index[index.index("Selected sectors in the sector space") :])
    assert listed == [
        ["28.93 food processing machinery", "Çorum"],
        ["30.11 shipbuilding", "Trabzon"],
        ["32.50 medical equipment and supplies", "Samsun"],
    ]
    turkish = pages["tr"]["index.html"]
    assert (
        "Sektör uzayı: imalat sınıfları birbirine nasıl bağlı" in turkish and "28.93 gıda işleme makineleri" in turkish
    )
    assert "10 Gıda ürünleri" in {t.text for t in space_svg(turkish).iter("{http://www.w3.org/2000/svg}text")}


def test_no_proximities_for_the_year_say_so_instead_of_a_picture():
    datasets, manifest = synthetic(relatedness=relatedness().assign(year=YEAR - 1))
    index = render_reports(datasets, manifest, REFERENCE, "en")["index.html"]
    assert "No proximities are computed for 2022" in index and 'id="space"' not in index


def test_the_pages_are_the_same_byte_for_byte_on_every_render(pages):
    datasets, manifest = synthetic()
    assert render_reports(datasets, manifest, REFERENCE, "tr") == pages["tr"]


def test_the_new_sections_render_in_chromium_visible_and_offline(browser, pages, tmp_path):
    for name, text in pages["tr"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    console, requests = open_page(browser, tmp_path / "province-55-samsun.html")
    assert console == [] and all(url.startswith(("file:", "data:")) for url in requests), (console, requests)
    assert browser.find_element("id", "grow-next").is_displayed()
    assert len(browser.find_elements("css selector", "section.grow-next tbody tr")) == 10
    console, requests = open_page(browser, tmp_path / "index.html")
    assert console == [] and all(url.startswith(("file:", "data:")) for url in requests), (console, requests)
    space = browser.find_element("id", "space")
    assert space.is_displayed() and image_widths(browser, "img#space")[0] > 300
    picture = tmp_path / "index.png"
    assert browser.save_screenshot(str(picture)) and picture.stat().st_size > 20_000
