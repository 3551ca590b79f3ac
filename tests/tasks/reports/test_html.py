"""The reports, opened as a person would: every page rendered by headless Chromium (Debian's),
with no console errors and no request leaving the machine, and the key elements present."""

from __future__ import annotations

import json

from kume.settings import PROJECT_ROOT
from schemas.outputs import DATASETS
from tasks.publish.snapshot import read_dataset
from tasks.reports.html import render_reports


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
            assert rows >= 81
        else:
            widths = image_widths(browser, "img.chart")
            assert len(widths) == 2 and min(widths) > 300, (page.name, widths)
            assert rows >= 5


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
