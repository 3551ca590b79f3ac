"""The reports, opened as a person would: every page rendered by headless Chromium (Debian's),
with no console errors and no request leaving the machine, and the key elements present; the
sections of relatedness (what could grow next, the sector space) on small frames."""

from __future__ import annotations

import base64
import json
import multiprocessing
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
from tasks.reports import html as html_reports
from tasks.reports.html import data_cluster_section, grow_next, present_classes, render_reports
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
            widths = image_widths(browser, "img.chart:not(.timeline)")
            assert len(widths) == 2 and min(widths) > 300, (page.name, widths)
            assert rows >= 5
            assert browser.find_element("id", "grow-next").is_displayed()  # what could grow next
            assert browser.find_element("id", "timeline").is_displayed()  # the top three over the years
            assert browser.find_element("id", "data-cluster").is_displayed()  # the data-driven cluster
            assert all(width > 300 for width in image_widths(browser, "img.timeline")), page.name


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


def test_pages_rendered_in_a_pool_of_processes_are_the_same(rich_pages, monkeypatch):
    monkeypatch.setattr(html_reports, "POOLED_PAGES", 1)  # three provinces: pooled too
    datasets, manifest = rich()
    assert render_reports(datasets, manifest, REFERENCE, "en") == rich_pages["en"]
    assert multiprocessing.active_children() == []  # the pool is gone


def test_the_pool_of_page_processes_is_shut_down_when_a_page_fails(monkeypatch):
    monkeypatch.setattr(html_reports, "POOLED_PAGES", 1)

    def broken(*args, **kwargs):
        raise RuntimeError("the national page failed")

    monkeypatch.setattr(html_reports, "national_page", broken)  # rendered here while the pool works
    datasets, manifest = rich()
    with pytest.raises(RuntimeError, match="the national page failed"):
        render_reports(datasets, manifest, REFERENCE, "en")
    assert multiprocessing.active_children() == []
    monkeypatch.undo()
    monkeypatch.setattr(html_reports, "POOLED_PAGES", 1)
    monkeypatch.setattr(html_reports, "province_page", broken)  # a page fails in its process
    with pytest.raises(RuntimeError, match="the national page failed"):
        render_reports(datasets, manifest, REFERENCE, "en")
    assert multiprocessing.active_children() == []


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


# ---- the top three over the years (§8) and the data-driven cluster (§7), on small frames -------

# Samsun's top three by reference year; only the reference year's selection used the snapshot inputs
SAMSUN_HISTORY = {
    2018: ["25.99", "32.50", "10.61"],
    2019: ["32.50", "25.99", "10.61"],
    2020: ["32.50", "10.61", "28.93"],
    2021: ["32.50", "28.93", "25.99"],
    2022: ["32.50", "10.61", "25.99"],
}
CORUM_HISTORY = {
    2020: ["28.93", "10.61", "25.99"],
    2021: ["10.61", "28.93", "25.99"],
    2022: ["28.93", "10.61", "25.99"],
}


def selection_history() -> pd.DataFrame:
    rows = [
        {
            "plate_code": plate,
            "province": PROVINCES[plate][0],
            "year": year,
            "rank": rank,
            "sector_code": code,
            "sector_name": f"Manufacture of class {code}",
            "total_score": 80.0 - 5 * rank + (year - 2018) / 10,
            "robust": rank == 1,
            "robust_share": 0.8,
            "snapshot_inputs": year == YEAR,
        }
        for plate, plan in ((55, SAMSUN_HISTORY), (19, CORUM_HISTORY), (61, {YEAR: ["30.11", "10.61", "25.99"]}))
        for year, codes in plan.items()
        for rank, code in enumerate(codes, start=1)
    ]
    return pd.DataFrame(rows)


def definition(year: int, clusters: dict[str, dict]) -> pd.DataFrame:
    """The ``cluster_definitions`` rows of one window ending in ``year``: cluster id -> its
    ``members``, name and the cluster's columns (defaults for the rest)."""
    rows = []
    for cluster_id, spec in clusters.items():
        spec = dict(spec)
        members = spec.pop("members")
        passes = spec.pop("sector_passes_vs", {})
        for code in members:
            rows.append(
                {
                    "year": year,
                    "window_years": 3,  # the window's length, as published
                    "cluster_id": cluster_id,
                    "name_source": "largest_class",
                    "sector_code": code,
                    "sector_name": f"Manufacture of class {code}",
                    "cluster_size": len(members),
                    "cluster_employment": 12345.0,
                    "clusters": len(clusters),
                    "vs_industry": 0.86,
                    "vs_cluster": 0.75,
                    "sector_passes_vs": passes.get(code, True),
                    "cluster_passes_vs": True,
                    "within_relatedness": 0.7,
                    "weak_link_share": 0.1,
                    "stability_province_ari_mean": np.nan,
                    "stability_province_ari_min": np.nan,
                    "least_stable_plate_code": np.nan,
                    "stability_previous_window_ari": np.nan,
                    "stability_next_window_ari": np.nan,
                    "expert_sector_code": None,
                    "expert_overlap": np.nan,
                    "expert_shared_classes": None,
                    **spec,
                }
            )
    return pd.DataFrame(rows)


def cluster_definitions() -> pd.DataFrame:
    """Three windows: 2020-2022 (the page's), an earlier and a later one the pages must not read."""
    current = definition(
        YEAR,
        {
            "c01": {
                "members": ["32.50", "26.60", "31.01", "13.10", "22.10"],
                "cluster_name": "medical equipment and supplies",  # curated: the programme cluster's name
                "name_source": "programme",
                "weak_link_share": 0.6,
                "stability_province_ari_mean": 0.93,
                "stability_province_ari_min": 0.81,
                "least_stable_plate_code": 34.0,
                "stability_previous_window_ari": 0.88,
                "expert_sector_code": "32.50",
                "expert_overlap": 0.4,
                "expert_shared_classes": "26.60 32.50",
            },
            "c02": {
                "members": ["28.93", "28.30"],
                "cluster_name": "food processing machinery",
                "name_source": "programme",
                "cluster_passes_vs": False,
                "sector_passes_vs": {"28.93": False},
            },
            "c03": {"members": ["10.61", "10.71"], "cluster_name": "Manufacture of grain mill products"},
        },
    )
    earlier = definition(YEAR - 1, {"c01": {"members": ["28.93", "10.61"], "cluster_name": "grain and machinery"}})
    later = definition(YEAR + 1, {"c09": {"members": ["32.50", "28.93"], "cluster_name": "a later window"}})
    return pd.concat([earlier, current, later], ignore_index=True)


def rich_indicators() -> pd.DataFrame:
    """The synthetic indicators with Samsun's and Çorum's classes of the reference year."""
    base = synthetic()[0]["indicators"]
    facts = pd.DataFrame(
        {
            "plate_code": [55, 55, 55, 19],
            "sector_code": ["31.01", "26.60", "32.50", "28.93"],
            "year": YEAR,
            "employment": [1200.0, 450.0, 3000.0, 800.0],
            "lq_employment": [1.1, 1.8, 3.2, 2.5],
            "national_employment": 1e6,
        }
    )
    return pd.concat([base, facts], ignore_index=True)


def rich_opportunities() -> pd.DataFrame:
    """Çorum lacks 26.60 too (unranked: not on its page), so 26.60 is in the year's relatedness."""
    extra = pd.DataFrame([opportunity(19, "26.60", None)]).astype({"rank": "Int32"})
    return pd.concat([opportunities(), extra], ignore_index=True)


def rich() -> tuple[dict, dict]:
    return synthetic(
        selection_history=selection_history(),
        cluster_definitions=cluster_definitions(),
        indicators=rich_indicators(),
        opportunities=rich_opportunities(),
    )


@pytest.fixture(scope="module")
def rich_pages() -> dict[str, dict[str, str]]:
    datasets, manifest = rich()
    return {language: render_reports(datasets, manifest, REFERENCE, language) for language in ("tr", "en")}


def part(page: str, name: str) -> str:
    match = re.search(rf"<section class='{name}'>(.*?)</section>", page)
    assert match, f"no {name} section"
    return match.group(1)


def plain(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text)


def test_the_timeline_tables_the_top_three_of_every_year_with_their_inputs(rich_pages):
    timeline = part(rich_pages["en"]["province-55-samsun.html"], "timeline")
    assert "<h2 id='timeline'>Top three over the years</h2>" in timeline
    assert "<th>Reference year</th><th>1st</th><th>2nd</th><th>3rd</th><th>Inputs</th>" in timeline
    table = rows(timeline)
    assert [row[0] for row in table] == ["2018", "2019", "2020", "2021", "2022"]
    # programme clusters by their names, other classes by their NACE names; the score in brackets
    assert table[0] == [
        "2018",
        "25.99 metal kitchenware (75.0)",
        "32.50 medical equipment and supplies (70.0)",
        "10.61 class 10.61 (65.0)",
        "yearly panels only",
    ]
    assert table[-1][1:] == [
        "32.50 medical equipment and supplies (75.4)",
        "10.61 class 10.61 (70.4)",
        "25.99 metal kitchenware (65.4)",
        "with the snapshot inputs",
    ]
    assert [row[4] for row in table[:-1]] == ["yearly panels only"] * 4
    assert "Hollow: the selection used the yearly panels alone. Filled (2022): it also used" in timeline


def timeline_svg(page: str) -> ET.Element:
    uri = re.search(r'id="timeline-chart" alt="[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    return ET.fromstring(base64.b64decode(uri))


def test_the_timeline_chart_draws_hollow_yearly_dots_filled_snapshot_dots_and_joins_a_sector_over_years(rich_pages):
    root = timeline_svg(rich_pages["en"]["province-55-samsun.html"])
    svg = "{http://www.w3.org/2000/svg}"
    groups = {g.get("id"): g for g in root.iter(f"{svg}g")}
    panels = groups["timeline-panels"].findall(f"{svg}circle")
    snapshot = groups["timeline-snapshot"].findall(f"{svg}circle")
    assert len(panels) == 12 and all(c.get("fill") == "white" for c in panels)  # 2018-2021: hollow
    assert len(snapshot) == 3 and all(c.get("fill") == c.get("stroke") for c in snapshot)  # 2022: filled
    # consecutive years: 32.50 2018-2022 (4), 25.99 2018-19 and 2021-22 (2), 10.61 2018-20 (2), 28.93 (1)
    lines = groups["timeline-lines"].findall(f"{svg}path")
    assert len(lines) == 9
    assert [line.get("stroke") for line in lines].count("#2e8b57") == 4  # the selection's green: 32.50
    labels = [text.text for text in groups["timeline-labels"].findall(f"{svg}text")]
    assert labels == [code for year in sorted(SAMSUN_HISTORY) for code in SAMSUN_HISTORY[year]]
    # first rank on top: the dots of rank 1 lie above those of rank 3
    top = {float(c.get("cy")) for c in snapshot[:1]}
    assert top == {min(float(c.get("cy")) for c in [*panels, *snapshot])}
    titles = [c.find(f"{svg}title").text for c in snapshot]
    assert titles[0] == "2022, 1st: 32.50 medical equipment and supplies (75.4)"
    assert {t.text for t in groups["timeline-key"].iter(f"{svg}text")} == {
        "yearly panels only",
        "with the snapshot inputs",
    }


def test_the_timeline_speaks_turkish(rich_pages):
    timeline = part(rich_pages["tr"]["province-55-samsun.html"], "timeline")
    assert "<h2 id='timeline'>Yıllar içinde ilk üç</h2>" in timeline
    assert "<th>Referans yılı</th><th>1.</th><th>2.</th><th>3.</th><th>Girdiler</th>" in timeline
    assert rows(timeline)[-1][1] == "32.50 tıbbi cihaz ve malzemeler (75.4)"
    assert "yalnızca yıllık veriler" in timeline and "Dolu (2022)" in timeline


def test_the_data_driven_cluster_of_the_selected_class_with_its_members_present_in_the_province(rich_pages):
    cluster = part(rich_pages["en"]["province-55-samsun.html"], "data-cluster")
    assert "<h2 id='data-cluster'>The selected sector's data-driven cluster</h2>" in cluster
    text = plain(cluster)
    assert "32.50 medical equipment and supplies belongs to the data-driven cluster c01 medical equipment" in text
    assert "Its 5 classes tend to locate in the same provinces and employ 12,345 people nationally in 2022" in text
    assert "across the provinces in 2020–2022 (methodology §7), not from expert lists; this is one of 3." in text
    assert "Validation: passes." in text and "VS-industry 86%, VS-cluster 75%" in text
    assert "The selected class itself is more related to its own cluster than to any other." in text
    assert (
        "leaving one province out, at least 0.81 (mean 0.93; least stable without İstanbul); "
        "against the previous window 0.88." in text
    )
    assert "next window" not in text  # not in the data
    assert "<p class='warning'>Caution: 60% of the links within this cluster are correlations below 0.22" in cluster
    assert (
        "Overlap with the programme's expert list for medical equipment and supplies (32.50): "
        "Jaccard index 0.40; shared classes 26.60 32.50." in text
    )
    # its other classes: 26.60 and 31.01 present; 13.10 and 22.10 are among Samsun's opportunities
    assert "Its other classes present in Samsun in 2022" in text and ": 2 of 4." in text
    assert "<th>Employment 2022</th><th>Employment LQ</th>" in cluster
    assert rows(cluster) == [
        ["31.01 Manufacture of class 31.01", "1,200", "1.10"],
        ["26.60 Manufacture of class 26.60", "450", "1.80"],
    ]
    assert "a later window" not in cluster and "grain and machinery" not in cluster  # only the 2020-2022 window


def test_a_failing_cluster_without_present_members_and_a_class_in_no_cluster(rich_pages):
    corum = plain(part(rich_pages["en"]["province-19-corum.html"], "data-cluster"))
    assert "28.93 food processing machinery belongs to the data-driven cluster c02 food processing machinery." in corum
    assert "Validation: fails." in corum and "more related to another cluster than to its own" in corum
    assert "None of its 1 other classes is present in Çorum in 2022" in corum
    assert "Caution" not in corum and "Stability" not in corum and "Overlap" not in corum  # none computed
    trabzon = plain(part(rich_pages["en"]["province-61-trabzon.html"], "data-cluster"))
    assert trabzon.endswith("30.11 shipbuilding is in none of the data-driven clusters of 2020–2022.")


def test_the_data_driven_cluster_speaks_turkish(rich_pages):
    cluster = plain(part(rich_pages["tr"]["province-55-samsun.html"], "data-cluster"))
    assert "<h2" not in cluster and "Seçilen sektörün veriden türetilen kümesi" in cluster
    assert (
        "32.50 tıbbi cihaz ve malzemeler, veriden türetilen c01 tıbbi cihaz ve malzemeler kümesinde yer alır."
        in cluster
    )
    assert "Doğrulama: başarılı." in cluster and "en düşük değer İstanbul dışarıda bırakıldığında" in cluster
    assert "Dikkat: bu kümenin içindeki bağlantıların 60% kadarı mutlak değeri 0.22'nin altında" in cluster
    assert "Programın tıbbi cihaz ve malzemeler (32.50) uzman listesiyle örtüşme: Jaccard indeksi 0.40" in cluster
    assert "4 sınıftan 2 tanesi" in cluster
    corum = plain(part(rich_pages["tr"]["province-19-corum.html"], "data-cluster"))
    assert "Doğrulama: başarısız." in corum and "c02 gıda işleme makineleri" in corum


def test_publications_without_history_or_definitions_say_so(pages):
    for language, history, cluster in (
        ("en", "No selection history is published for Samsun", "No data-driven cluster definitions are published"),
        ("tr", "Samsun için seçim geçmişi yayımlanmadı", "veriden türetilmiş küme tanımları yayımlanmadı"),
    ):
        page = pages[language]["province-55-samsun.html"]
        assert history in part(page, "timeline") and 'id="timeline-chart"' not in page
        assert cluster in part(page, "data-cluster") and "<table" not in part(page, "data-cluster")
    empty = cluster_definitions().iloc[:0]
    datasets, manifest = synthetic(selection_history=selection_history().iloc[:0], cluster_definitions=empty)
    page = render_reports(datasets, manifest, REFERENCE, "en")["province-55-samsun.html"]
    assert "No selection history is published for Samsun" in page
    assert "No data-driven cluster definitions are published" in page


def test_a_province_with_no_history_rows_gets_a_sentence(rich_pages):
    datasets, manifest = rich()
    datasets["selection_history"] = selection_history().query("plate_code != 61")
    page = render_reports(datasets, manifest, REFERENCE, "en")["province-61-trabzon.html"]
    assert "No selection history is published for Trabzon" in part(page, "timeline")
    assert "Top three over the years" in rich_pages["en"]["province-61-trabzon.html"]


def test_the_cluster_section_says_what_is_missing():
    t = report_text("en")
    win = pd.Series({"sector_code": "32.50", "sector_name": "medical equipment and supplies"})
    definitions = cluster_definitions()
    assert "No sector is selected" in data_cluster_section("Samsun", YEAR, None, definitions, None, t)
    early = data_cluster_section("Samsun", YEAR - 2, win, definitions, None, t)
    assert "No data-driven cluster definition has a window ending in or before 2020." in early
    unknown = data_cluster_section("Samsun", YEAR, win, definitions, None, t)
    assert "Which of its other classes are present in Samsun is not computed for 2022" in unknown
    alone = definition(YEAR, {"c01": {"members": ["32.50"], "cluster_name": "alone"}})
    assert "The cluster has no other class." in data_cluster_section("Samsun", YEAR, win, alone, None, t)


def test_a_selected_data_driven_cluster_shows_all_its_classes_present():
    """When clusters are the candidates (``candidates = cluster``) the selection is a cluster id."""
    t = report_text("en")
    win = pd.Series({"sector_code": "c01", "sector_name": "medical equipment and supplies"})
    present = pd.DataFrame(
        {"sector_code": ["32.50", "31.01"], "employment": [3000.0, 1200.0], "lq_employment": [3.2, 1.1]}
    )
    cluster = data_cluster_section("Samsun", YEAR, win, cluster_definitions(), present, t)
    assert "The selected candidate is the data-driven cluster <b>c01 medical equipment and supplies</b>." in cluster
    assert "The selected class itself" not in cluster and ": 2 of 5." in cluster
    assert [row[0].split()[0] for row in rows(cluster)] == ["32.50", "31.01"]


def test_present_classes_are_the_years_classes_the_province_does_not_lack():
    frame = rich_opportunities()
    present = present_classes(55, YEAR, frame, rich_indicators())
    # the year's classes (lacked somewhere) not lacked by Samsun: those Çorum lacks
    assert present.sector_code.tolist() == ["26.60", "31.01", "32.50"]
    assert present.employment.tolist() == [450.0, 1200.0, 3000.0] and present.lq_employment.tolist() == [1.8, 1.1, 3.2]
    assert present_classes(61, YEAR, frame, rich_indicators()) is None  # Trabzon: not computed
    assert present_classes(55, YEAR - 3, frame, rich_indicators()) is None  # no relatedness that year


def test_a_carried_over_province_shows_its_own_years_and_window():
    datasets, manifest = rich()
    earlier = {**manifest["parameters"], "reference_year": YEAR - 1}
    manifest = {
        **manifest,
        "parameter_sets": {"p0": earlier, "p1": manifest["parameters"]},
        "provinces": {
            str(plate): {
                "province": name,
                "computed_in_run": "run-0" if plate == 19 else "run-1",
                "parameters_id": "p0" if plate == 19 else "p1",
                "carried_over": plate == 19,
            }
            for plate, (name, _) in PROVINCES.items()
        },
    }
    page = render_reports(datasets, manifest, REFERENCE, "en")["province-19-corum.html"]
    timeline = part(page, "timeline")
    assert [row[0] for row in rows(timeline)] == ["2020", "2021"]  # up to its reference year
    assert "Filled" not in timeline  # no year of its own used the snapshot inputs
    assert "The selection above was carried over from an earlier publication" in timeline
    cluster = plain(part(page, "data-cluster"))
    assert "c01 grain and machinery" in cluster and "in 2019–2021" in cluster  # the window ending in 2021


def test_the_new_sections_are_the_same_byte_for_byte_on_every_render(rich_pages):
    datasets, manifest = rich()
    assert render_reports(datasets, manifest, REFERENCE, "en") == rich_pages["en"]


def test_the_timeline_and_the_cluster_render_in_chromium_visible_and_offline(browser, rich_pages, tmp_path):
    for name, text in rich_pages["en"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    console, requests = open_page(browser, tmp_path / "province-55-samsun.html")
    assert console == [] and all(url.startswith(("file:", "data:")) for url in requests), (console, requests)
    timeline = browser.find_element("id", "timeline")
    assert timeline.is_displayed() and timeline.text == "Top three over the years"
    chart = browser.find_element("id", "timeline-chart")
    assert chart.is_displayed() and image_widths(browser, "img#timeline-chart")[0] == 720
    assert chart.size["width"] > 300  # drawn at its width, not squeezed
    assert len(browser.find_elements("css selector", "section.timeline tbody tr")) == 5
    cluster = browser.find_element("css selector", "section.data-cluster")
    assert browser.find_element("id", "data-cluster").is_displayed() and cluster.is_displayed()
    assert "belongs to the data-driven cluster c01 medical equipment and supplies" in cluster.text
    assert browser.find_element("css selector", "section.data-cluster p.warning").is_displayed()
    cells = browser.find_elements("css selector", "section.data-cluster tbody tr td")
    assert [cell.text for cell in cells[:3]] == ["31.01 Manufacture of class 31.01", "1,200", "1.10"]
    picture = tmp_path / "samsun.png"
    assert browser.save_screenshot(str(picture)) and picture.stat().st_size > 20_000
