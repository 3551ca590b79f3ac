"""National-scale synthetic inputs: every province's chamber registry (2 million firms by
default) and the national statistics over every NACE class, in the layouts the readers accept.

Generated on demand into a folder outside the repository (``kume generate-sample --scale national
--data DIR``) and never committed: it exists to run the pipeline at the size of the real
programme. It follows the shipped sample's model (``samples/sample_data.py``: its constants, its
pilot classes, its writers where they scale) but is vectorised: a dense province x class x year
panel as arrays, then every firm as arrays, then one file per chamber.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kume.settings import PROJECT_ROOT
from samples.sample_data import (
    CONSULTATION_HEADERS,
    DEFAULT_PROVINCE_EMPLOYMENT,
    DISTRICTS,
    DIVISION_SHARE,
    DOCUMENTED_COLUMNS,
    EXPORTS_DEFAULT,
    EXPORTS_PER_EMPLOYEE,
    FIRM_KINDS,
    FIRM_SIZE,
    FIRM_SIZE_DEFAULT,
    FIRM_WORDS,
    FOREIGN_DISTRICT,
    NACE_FORMS,
    NATIONAL_CLASS_SHARE,
    PILOTS,
    PLANTING_STREAM,
    PROVINCE_EMPLOYMENT,
    REFERENCE_YEAR,
    REGISTRY_HEADERS_EN,
    REGISTRY_HEADERS_TR,
    SEED,
    TRABZON_COLUMNS,
    TURNOVER_DEFAULT,
    TURNOVER_PER_EMPLOYEE,
    SampleGenerator,
    _anchor_series,
    _csv_bytes,
    _plant_duplicates,
    _plant_errors,
    _tr_upper,
    plant_groups,
    write_agency_db,
    write_capacity_register,
    write_sector_turnover,
    write_sgk,
)
from tasks.reference import Reference, fold_key

DEFAULT_FIRMS = 2_000_000
DEFAULT_YEARS = 15  # 2008-2022
FIRST_ALLOWED_YEAR = 1990  # the SGK suite rejects earlier years
DISTRICTS_PER_PROVINCE = 5  # of the provinces the sample does not describe: their first real districts
# Members beyond the SGK workplaces (a registry lists dormant and one-person firms too): employees.
EXTRA_MEMBER_EMPLOYEES = ([0, 1, 2], [0.5, 0.35, 0.15])
FOUNDED_DAYS = 20_500  # founding dates 1965-01-01 .. 2021-02-17, as in the sample

# The registry layouts of the pilot chambers, as CSV; every other province takes one in turn. Two
# are the documented ten columns (no province, no turnover), as Çorum's and Trabzon's lists.
LAYOUTS = {  # name: (file name suffix, separator, encoding, decimal comma, headers, column order)
    "cp1254": ("tso_uye_listesi_2022.csv", ";", "cp1254", True, REGISTRY_HEADERS_TR, DOCUMENTED_COLUMNS),
    "utf8_bom": ("tso_uyeler_2022.csv", ";", "utf-8-sig", True, REGISTRY_HEADERS_TR, list(REGISTRY_HEADERS_TR)),
    "english": (
        "tso_members_2022.csv",
        ",",
        "utf-8",
        False,
        REGISTRY_HEADERS_EN,
        [c for c in REGISTRY_HEADERS_EN if c != "committee"],
    ),
    "tab": ("tso_uyeler_2022.tsv", "\t", "utf-8", False, REGISTRY_HEADERS_TR, TRABZON_COLUMNS),
}
# Gaziantep's workbook becomes a Windows-1254 CSV: reading .xlsx is too slow at this size.
PILOT_LAYOUT = {19: "cp1254", 27: "utf8_bom", 46: "utf8_bom", 55: "english", 61: "tab"}
GENERATED = {  # file names this module writes, removed first so a smaller run leaves no stale files
    "chamber_registry": ["[0-9][0-9]_*_tso_*_2022.csv", "[0-9][0-9]_*_tso_*_2022.tsv"],
    "sgk_employment": ["sgk_il_nace4_*.csv", "sgk_turkiye_toplam.csv"],
    "exports_by_sector": ["il_sektor_ihracat_*.csv"],
    "exporter_exports": ["tim_uye_ihracat_2022.csv"],
    "capacity_register": ["tobb_kapasite_2022.csv"],
    "consultation": ["danisma_toplantilari.csv"],
    "agency_db": ["agency.sqlite"],
    "sector_turnover": ["tuik_il_nace_ciro.csv"],
}


def national_years(years: int = DEFAULT_YEARS) -> tuple[int, ...]:
    """The ``years`` years ending in the reference year (2008-2022 by default)."""
    return tuple(range(REFERENCE_YEAR - years + 1, REFERENCE_YEAR + 1))


def national_panel(
    ref: Reference,
    rng: np.random.Generator,
    years: tuple[int, ...] | None = None,
    planting: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Every province x every class x year: employment, workplaces and exports (USD), zero where
    the province has no such industry. Same model as the sample's panel, as arrays, with the
    sample's planted groups and entries (``plant_groups``, from the ``planting`` stream; by default
    the one of the default seed, so the groups have the sample's homes)."""
    years = national_years() if years is None else years
    planting = np.random.default_rng([SEED, PLANTING_STREAM]) if planting is None else planting
    classes = ref.nace_classes
    codes = classes.nace_class.to_numpy()
    division = classes.division.to_numpy()
    plates = ref.provinces.plate_code.to_numpy()
    n_p, n_c, n_y = len(plates), len(codes), len(years)
    year = np.array(years)

    sizes = classes.groupby("division", sort=False).size()
    within = np.concatenate([rng.dirichlet(np.ones(n) * 1.5) for n in sizes])
    national_share = pd.Series(division).map(DIVISION_SHARE).to_numpy() * within
    national_share /= national_share.sum()
    for nace_class, share in NATIONAL_CLASS_SHARE.items():
        national_share[codes == nace_class] = share
    national_share /= national_share.sum()
    class_trend = rng.normal(0.02, 0.025, n_c)
    class_trend[codes == "32.50"] = 0.065  # medical devices grew fast

    total = pd.Series(plates).map(PROVINCE_EMPLOYMENT).to_numpy(dtype=float)
    total = np.where(np.isnan(total), DEFAULT_PROVINCE_EMPLOYMENT * rng.lognormal(0, 0.4, n_p), total)
    present = rng.random((n_p, n_c)) < np.minimum(1.0, 0.12 + total / 60_000)[:, None]
    # pilot provinces: the hand-set classes carry the specialisation, the rest is less lumpy
    spread = np.where(np.isin(plates, list(PILOTS)), 0.6, 1.0)
    weights = national_share * rng.lognormal(0, 1, (n_p, n_c)) ** spread[:, None] * present
    row_of = {p: i for i, p in enumerate(plates)}
    col_of = {c: j for j, c in enumerate(codes)}
    pilot_cells = [(row_of[p], col_of[c], spec) for p, specs in PILOTS.items() for c, spec in specs.items()]
    fixed = np.zeros((n_p, n_c))
    for i, j, spec in pilot_cells:
        fixed[i, j] = _anchor_series(spec.employment, (REFERENCE_YEAR,))[0]
        weights[i, j] = 0
    free = total - fixed.sum(axis=1)
    employment_ref = weights / weights.sum(axis=1, keepdims=True) * free[:, None]
    present = employment_ref >= 3

    growth = rng.normal(0.025, 0.012, n_p)[:, None] + class_trend + rng.normal(0, 0.025, (n_p, n_c))
    series = employment_ref[..., None] * (1 + growth[..., None]) ** (year - REFERENCE_YEAR)
    series *= rng.normal(1, 0.03, (n_p, n_c, n_y))
    firm_size = pd.Series(division).map(FIRM_SIZE).fillna(FIRM_SIZE_DEFAULT).to_numpy()
    firm_size = firm_size * rng.lognormal(0, 0.3, (n_p, n_c))
    openness = rng.lognormal(0, 0.5, n_p)
    per_employee = pd.Series(division).map(EXPORTS_PER_EMPLOYEE).fillna(EXPORTS_DEFAULT).to_numpy()
    exports_noise = rng.lognormal(0, 0.25, (n_p, n_c, n_y))
    size_noise = rng.normal(1, 0.05, (n_p, n_c, n_y))
    anchored_exports = []
    for i, j, spec in pilot_cells:
        series[i, j] = _anchor_series(spec.employment, years) * rng.normal(1, 0.015, n_y)
        firm_size[i, j] = spec.firm_size
        present[i, j] = True
        if spec.exports_usd:
            anchored_exports.append((i, j, _anchor_series(spec.exports_usd, years)))

    employment = np.where(present[..., None], np.maximum(np.round(series), 1), 0)
    employment, _ = plant_groups(employment, plates, codes, planting)
    establishments = np.where(
        employment > 0, np.maximum(np.round(employment / firm_size[..., None] * size_noise), 1), 0
    )
    exports = employment * per_employee[:, None] * openness[:, None, None] * 1.04 ** (year - REFERENCE_YEAR)
    exports *= exports_noise
    for i, j, values in anchored_exports:
        exports[i, j] = values
    return pd.DataFrame(
        {
            "plate_code": np.repeat(plates, n_c * n_y),
            "nace_class": np.tile(np.repeat(codes, n_y), n_p),
            "year": np.tile(year, n_p * n_c),
            "employment": employment.ravel(),
            "establishments": establishments.ravel(),
            "exports_usd": exports.ravel(),
        }
    )


def allocate_firms(cells: pd.DataFrame, firms: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """How many registry members each province x class cell lists, and how many of them are
    SGK workplaces (the rest are dormant or one-person members).

    Each cell's workplaces are covered at 75-92 %, as in the sample; with more firms asked than
    that, the extra members spread over the cells by their workplaces; with fewer, the cells
    get a share of their workplaces, except the pilot provinces' hand-set classes, listed in
    full so that their clusters stay visible, and three firms at least per province."""
    coverage = rng.uniform(0.75, 0.92, len(cells))
    target = np.maximum(np.round(cells.establishments.to_numpy() * coverage), 1).astype(np.int64)
    if firms >= target.sum():
        workplaces = cells.establishments.to_numpy()
        extra = rng.multinomial(firms - target.sum(), workplaces / workplaces.sum())
        return target + extra, target
    pilot = np.zeros(len(cells), dtype=bool)
    for plate, specs in PILOTS.items():
        pilot |= cells.plate_code.eq(plate).to_numpy() & cells.nace_class.isin(list(specs)).to_numpy()
    floor = np.where(pilot, target, 0)
    largest = cells.groupby("plate_code").employment.idxmax().to_numpy()
    floor[largest] = np.maximum(floor[largest], 3)
    rest = firms - floor.sum()
    if rest < 0:
        raise ValueError(f"at least {floor.sum():,} firms are needed (the pilot classes in full, 3 per province)")
    weight = np.where(pilot, 0, target).astype(float)
    counts = floor + rng.multinomial(rest, weight / weight.sum())
    return counts, np.minimum(counts, target)


def registry_firms(panel: pd.DataFrame, ref: Reference, firms: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every member firm of every chamber in the reference year, as numbers and codes (text is
    made per chamber when its file is written). Returns (firms, the province x class cells)."""
    rng = np.random.default_rng([seed, 2])
    cells = panel[(panel.year == REFERENCE_YEAR) & (panel.employment > 0)].reset_index(drop=True)
    counts, active = allocate_firms(cells, firms, rng)
    cell = np.repeat(np.arange(len(cells)), counts)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    is_active = np.arange(len(cell)) - start[cell] < active[cell]
    coverage_of_cell = active / np.maximum(cells.establishments.to_numpy(), 1)

    # workplaces: log-normal sizes summing to the cell's covered employment; extras: 0-2 people
    draw = rng.lognormal(0, 1.0, len(cell))
    totals = np.bincount(cell[is_active], weights=draw[is_active], minlength=len(cells))
    covered = cells.employment.to_numpy() * np.minimum(coverage_of_cell, 1)
    sizes = np.maximum(np.round(draw / np.maximum(totals[cell], 1e-9) * covered[cell]), 1)
    extra_sizes = rng.choice(EXTRA_MEMBER_EMPLOYEES[0], len(cell), p=EXTRA_MEMBER_EMPLOYEES[1])
    employees = np.where(is_active, sizes, extra_sizes).astype(np.int64)
    samsun_medical = np.flatnonzero(cells.plate_code.eq(55) & cells.nace_class.eq("32.50"))
    rows = np.flatnonzero(np.isin(cell, samsun_medical) & is_active)
    if len(rows) > 8:  # facts.md: 3 medium, 4 small, the rest micro; the sample's shape
        employees[rows] = SampleGenerator(ref, seed)._firm_sizes(55, "32.50", len(rows), covered[samsun_medical[0]])

    division = cells.nace_class.str[:2]
    per_employee = division.map(TURNOVER_PER_EMPLOYEE).fillna(TURNOVER_DEFAULT).to_numpy()
    per_employee = np.where(cells.nace_class.eq("10.61"), per_employee * 2.2, per_employee)  # flour milling
    turnover = np.maximum(employees, 0.25) * per_employee[cell] * rng.lognormal(0, 0.35, len(cell))
    exporter_p = np.where(is_active, np.minimum(0.9, 0.15 + employees / 80), 0.03)
    plate = cells.plate_code.to_numpy()[cell]
    province_start = np.searchsorted(plate, plate)  # firms are grouped by province
    return (
        pd.DataFrame(
            {
                "plate_code": plate,
                "cell": cell,
                "registry_no": np.arange(len(cell)) - province_start + 1001,
                "employees": employees,
                "turnover_try": np.round(turnover, 2),
                "capital_try": np.round(rng.lognormal(13.5, 1.2, len(cell)), -3),
                "exporter": rng.random(len(cell)) < exporter_p,
                "capacity_report": rng.random(len(cell)) < 0.7,
                "founded_day": rng.integers(0, FOUNDED_DAYS, len(cell)),
                "founded_iso": rng.random(len(cell)) >= 0.85,
                "name": rng.integers(0, len(FIRM_WORDS) ** 2 * len(FIRM_KINDS), len(cell)),
                "nace_form": rng.integers(0, len(NACE_FORMS), len(cell)).astype(np.int8),
                "province_form": rng.choice(3, len(cell), p=[0.6, 0.3, 0.1]).astype(np.int8),
                "abbreviated": rng.random(len(cell)) < 0.5,
                "district_draw": rng.random(len(cell)),
                "blank_employees": rng.random(len(cell)) < 0.01,  # as seen in real registries
            }
        ),
        cells,
    )


def province_districts(plate: int, ref: Reference) -> list[str]:
    """The sample's districts of a pilot province; else the province's first real districts,
    ``Merkez`` (where it has one) first and the largest."""
    if plate in DISTRICTS:
        return DISTRICTS[plate]
    table = ref.districts[(ref.districts.plate_code == plate) & (ref.districts.status == "current")]
    names = sorted(table.district, key=lambda name: (name != "Merkez", fold_key(name)))
    return names[:DISTRICTS_PER_PROVINCE]


def _district_table(cells: pd.DataFrame, ref: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the district names of its province and the cumulative chance of each: half in
    the first district, or the pilot cluster's own concentration (the sample's rule)."""
    width = max(len(d) for d in DISTRICTS.values())
    names = np.full((len(cells), width), "", dtype=object)
    chances = np.zeros((len(cells), width))
    for plate, rows in cells.groupby("plate_code").groups.items():
        districts = province_districts(plate, ref)
        names[rows, : len(districts)] = districts
        chances[rows, : len(districts)] = [0.5] + [0.5 / (len(districts) - 1)] * (len(districts) - 1)
        for nace_class, spec in PILOTS.get(plate, {}).items():
            if spec.districts:
                rest = [d for d in districts if d not in spec.districts]
                ordered = [*spec.districts, *rest]
                rest_share = (1 - sum(spec.districts.values())) / len(rest)
                row = rows[cells.nace_class.to_numpy()[rows] == nace_class]
                names[row, : len(ordered)] = ordered
                chances[row, : len(ordered)] = [*spec.districts.values(), *[rest_share] * len(rest)]
    return names, np.cumsum(chances, axis=1)


@dataclass(frozen=True)
class RegistryText:
    """Lookup tables that turn the firms' codes into the text chambers write, built once."""

    nace_forms: np.ndarray  # cell x form: 28.93, 28.93.01, 2893, 289301, 28.9301
    committee: np.ndarray  # cell -> committee number
    firm_names: np.ndarray  # name code -> trade name
    dates: np.ndarray  # (dd.mm.yyyy, yyyy-mm-dd) x founding day
    district_names: np.ndarray  # cell x district slot
    district_chances: np.ndarray  # cell x district slot, cumulative

    @classmethod
    def build(cls, cells: pd.DataFrame, ref: Reference) -> RegistryText:
        codes = cells.nace_class.to_numpy()
        days = pd.Timestamp("1965-01-01") + pd.to_timedelta(np.arange(FOUNDED_DAYS), unit="D")
        names, chances = _district_table(cells, ref)
        return cls(
            nace_forms=np.array(
                [[f.format(c=c, d=c.replace(".", "")) for f in NACE_FORMS] for c in codes], dtype=object
            ),
            committee=cells.nace_class.str[:2].astype(int).to_numpy() - 9,
            firm_names=firm_names(),
            dates=np.stack([days.strftime("%d.%m.%Y").to_numpy(), days.strftime("%Y-%m-%d").to_numpy()]),
            district_names=names,
            district_chances=chances,
        )


def firm_names() -> np.ndarray:
    """Every trade name the sample's words make: name code -> name."""
    return np.array([f"{a} {b} {k}" for a in FIRM_WORDS for b in FIRM_WORDS for k in FIRM_KINDS], dtype=object)


def _decimal_comma(values: np.ndarray) -> np.ndarray:
    """``1250000.5`` -> ``1.250.000,50``: dot thousands, decimal comma (non-negative values),
    with numpy's string functions rather than a Python call per value."""
    cents = np.round(values * 100).astype(np.int64)
    padded = np.strings.zfill((cents // 100).astype("U15"), 15).view("U3").reshape(-1, 5)  # 5 groups of 3 digits
    joined = padded[:, 0]
    for group in range(1, 5):
        joined = np.strings.add(np.strings.add(joined, "."), padded[:, group])
    joined = np.strings.lstrip(joined, "0.")
    joined = np.where(joined == "", "0", joined)
    return np.strings.add(np.strings.add(joined, ","), np.strings.zfill((cents % 100).astype("U2"), 2))


def _registry_text(firms: pd.DataFrame, text: RegistryText, ref: Reference, decimal_comma: bool) -> pd.DataFrame:
    """One chamber's members as the chamber writes them: mixed NACE forms, province spellings,
    two date formats, E/H and Var/Yok, blank employee counts."""
    plate = int(firms.plate_code.iat[0])
    cell = firms.cell.to_numpy()
    name = ref.province_name(plate)
    province = np.array([name, _tr_upper(name), str(plate)], dtype=object)[firms.province_form.to_numpy()]
    if plate == 46:
        province = np.where(firms.abbreviated.to_numpy(), "K.Maraş", province)
    slot = (firms.district_draw.to_numpy()[:, None] > text.district_chances[cell]).sum(axis=1)
    slot = np.minimum(slot, text.district_names.shape[1] - 1)
    frame = pd.DataFrame(
        {
            "registry_no": firms.registry_no.astype(str).to_numpy(),
            "firm_name": text.firm_names[firms.name.to_numpy()],
            "nace_code": text.nace_forms[cell, firms.nace_form.to_numpy()],
            "committee": text.committee[cell],
            "province": province,
            "district": text.district_names[cell, slot],
            "employees": np.where(firms.blank_employees.to_numpy(), "", firms.employees.to_numpy().astype(str)),
            "founded": text.dates[firms.founded_iso.to_numpy().astype(int), firms.founded_day.to_numpy()],
            "capital_try": firms.capital_try.to_numpy(),
            "turnover_try": firms.turnover_try.to_numpy(),
            "exporter": np.where(firms.exporter.to_numpy(), "E", "H"),
            "capacity_report": np.where(firms.capacity_report.to_numpy(), "Var", "Yok"),
        }
    )
    if decimal_comma:
        frame["capital_try"] = _decimal_comma(frame.capital_try.to_numpy())
        frame["turnover_try"] = _decimal_comma(frame.turnover_try.to_numpy())
    return frame


def registry_layout(plate: int) -> str:
    """The layout a province's chamber writes: the pilot's own, else one of them in turn."""
    return PILOT_LAYOUT.get(plate, list(LAYOUTS)[plate % len(LAYOUTS)])


def write_registries(firms: pd.DataFrame, cells: pd.DataFrame, ref: Reference, target: Path) -> int:
    """One member list per province in one of the pilot chambers' CSV layouts, each with the
    sample's three malformed rows (and Kahramanmaraş's firms listed twice)."""
    target.mkdir(parents=True, exist_ok=True)
    text = RegistryText.build(cells, ref)
    bounds = np.flatnonzero(np.diff(firms.plate_code.to_numpy())) + 1
    rows = 0
    for start, stop in zip([0, *bounds], [*bounds, len(firms)], strict=True):
        plate = int(firms.plate_code.iat[start])
        suffix, separator, encoding, decimal_comma, headers, columns = LAYOUTS[registry_layout(plate)]
        frame = _registry_text(firms.iloc[start:stop], text, ref, decimal_comma)
        frame = _plant_duplicates(_plant_errors(frame, plate), plate)
        if "province" not in columns:  # the malformed row names a district of another province
            frame.loc[frame.index[-1], "district"] = FOREIGN_DISTRICT[19 if plate != 55 else 61]
        data = _csv_bytes(frame[columns].rename(columns=headers), separator, encoding)
        (target / f"{plate:02d}_{fold_key(ref.province_name(plate))}_{suffix}").write_bytes(data)
        rows += len(frame)
    return rows


def write_exports(panel: pd.DataFrame, ref: Reference, rng: np.random.Generator, target: Path) -> int:
    """Exports by province x exporter sector x year, thousand USD, one file per year; plus the
    unclassified (1-4 %) and, in half the provinces, fresh-fruit exports, as in the sample."""
    target.mkdir(parents=True, exist_ok=True)
    sector_of = ref.exporter_sector_of_class()
    keys = ["year", "plate_code", "sector_id"]
    by_sector = panel.assign(sector_id=panel.nace_class.map(sector_of)).groupby(keys, as_index=False).exports_usd.sum()
    province = by_sector.groupby(["year", "plate_code"], as_index=False).exports_usd.sum()
    unclassified = province.assign(
        sector_id="unclassified", exports_usd=province.exports_usd * rng.uniform(0.01, 0.04, len(province))
    )
    fruit = province.assign(
        sector_id="fresh_fruit", exports_usd=province.exports_usd * rng.uniform(0.01, 0.1, len(province))
    )
    fruit = fruit[rng.random(len(fruit)) < 0.5]
    frame = pd.concat([by_sector, unclassified, fruit], ignore_index=True)
    names = frame[["sector_id", "year"]].drop_duplicates()  # each sector under its name of that year
    names["sector_name"] = [ref.exporter_sector_name(s, y) for s, y in zip(names.sector_id, names.year, strict=True)]
    frame = frame.merge(names, on=["sector_id", "year"]).sort_values(keys)
    upper = {p: _tr_upper(n) for p, n in ref.names_by_plate.items()}
    out = pd.DataFrame(
        {
            "Yıl": frame.year,
            "İl": frame.plate_code.map(upper),
            "Sektör": frame.sector_name,
            "İhracat (Bin $)": (frame.exports_usd / 1000).round(2),
        }
    )
    for year, group in out.groupby("Yıl"):
        (target / f"il_sektor_ihracat_{year}.csv").write_bytes(_csv_bytes(group, ";", "utf-8", decimal=","))
    return len(out)


def write_exporter_exports(
    firms: pd.DataFrame, cells: pd.DataFrame, ref: Reference, rng: np.random.Generator, target: Path
) -> int:
    """The exporters' unions' members in every province, exports by firm in the reference year,
    USD with a decimal comma (the GAİB file's layout), for every exporting firm with staff."""
    members = firms[firms.exporter & firms.employees.gt(0)]
    nace_class = cells.nace_class.to_numpy()[members.cell.to_numpy()]
    per_employee = pd.Series(nace_class).str[:2].map(EXPORTS_PER_EMPLOYEE).fillna(EXPORTS_DEFAULT).to_numpy()
    exports = members.employees.to_numpy() * per_employee * rng.lognormal(0, 0.5, len(members))
    out = pd.DataFrame(
        {
            "Yıl": REFERENCE_YEAR,
            "Sicil No": members.registry_no.to_numpy(),
            "Firma Ünvanı": firm_names()[members.name.to_numpy()],
            "İl": members.plate_code.map(ref.names_by_plate).to_numpy(),
            "NACE Kodu": nace_class,
            "İhracat (USD)": np.round(exports, 2),
        }
    )
    target.mkdir(parents=True, exist_ok=True)
    (target / "tim_uye_ihracat_2022.csv").write_bytes(_csv_bytes(out, ";", "utf-8", decimal=","))
    return len(out)


def consultation(panel: pd.DataFrame, ref: Reference, seed: int) -> pd.DataFrame:
    """The pilots' meetings of the sample, and in every other province its chamber backing its
    largest class and its development agency neutral on the second: small, but all 81."""
    rng = np.random.default_rng([seed, 4])
    pilots = SampleGenerator(ref, seed).consultation(panel)
    current = panel[(panel.year == REFERENCE_YEAR) & ~panel.plate_code.isin(list(PILOTS))]
    top = current.sort_values(["plate_code", "employment"], ascending=[True, False]).groupby("plate_code").head(2)
    first = top.groupby("plate_code").cumcount().eq(0).to_numpy()
    province = top.plate_code.map(ref.names_by_plate).reset_index(drop=True)
    others = pd.DataFrame(
        {
            "province": province,
            "date": pd.Timestamp("2012-02-01") + pd.to_timedelta(rng.integers(0, 60, len(top)), unit="D"),
            "institution": province + pd.Series(np.where(first, " Ticaret ve Sanayi Odası", " Kalkınma Ajansı")),
            "institution_type": np.where(first, "chamber", "development agency"),
            "nace_code": top.nace_class.to_numpy(),
            "stance": np.where(first, "Destek", "Tarafsız"),
            "note": "Kümelenme potansiyeli görüşüldü",
        }
    )
    return pd.concat([pilots, others], ignore_index=True)


def _clear_generated(sources_dir: Path) -> None:
    for source, patterns in GENERATED.items():
        for pattern in patterns:
            for path in (sources_dir / source).glob(pattern):
                path.unlink()


def generate_national(
    data_dir: Path, seed: int = SEED, firms: int = DEFAULT_FIRMS, years: int = DEFAULT_YEARS
) -> dict[str, int]:
    """Write a national-scale data folder: ``reference/`` (the project's) and ``sources/<source>/``
    for the seven sources, all 81 provinces, ``firms`` registry members in all (plus three
    planted errors per file) and ``years`` years ending in 2022. Returns rows per source."""
    if not 1 <= years <= REFERENCE_YEAR - FIRST_ALLOWED_YEAR + 1:
        raise ValueError(f"years must be 1..{REFERENCE_YEAR - FIRST_ALLOWED_YEAR + 1}, not {years}")
    if firms < 1:
        raise ValueError(f"firms must be positive, not {firms}")
    ref = Reference(PROJECT_ROOT / "data" / "reference")
    span = national_years(years)
    panel = national_panel(ref, np.random.default_rng([seed, 1]), span, np.random.default_rng([seed, PLANTING_STREAM]))
    present = panel[panel.employment > 0]
    member_firms, cells = registry_firms(panel, ref, firms, seed)  # refuses too few firms before writing
    data_dir = Path(data_dir)
    shutil.copytree(ref.directory, data_dir / "reference", dirs_exist_ok=True)
    sources = data_dir / "sources"
    _clear_generated(sources)
    rng = np.random.default_rng([seed, 3])
    counts = {
        "chamber_registry": write_registries(member_firms, cells, ref, sources / "chamber_registry"),
        "exporter_exports": write_exporter_exports(member_firms, cells, ref, rng, sources / "exporter_exports"),
        "sgk_employment": write_sgk(panel, ref, rng, sources / "sgk_employment"),
        "exports_by_sector": write_exports(panel, ref, rng, sources / "exports_by_sector"),
        "capacity_register": write_capacity_register(present, ref, rng, sources),
        "agency_db": write_agency_db(
            SampleGenerator(ref, seed).agency_tables(present), sources / "agency_db" / "agency.sqlite"
        ),
    }
    meetings = consultation(present, ref, seed)
    target = sources / "consultation" / "danisma_toplantilari.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    meetings.rename(columns=CONSULTATION_HEADERS).assign(Tarih=lambda f: f["Tarih"].dt.strftime("%d.%m.%Y")).to_csv(
        target, index=False, sep=";"
    )
    counts["consultation"] = len(meetings)
    without_turnover = {  # the provinces whose member lists carry no turnover get the agency's
        plate: () for plate in ref.provinces.plate_code if "turnover_try" not in LAYOUTS[registry_layout(plate)][5]
    }
    counts["sector_turnover"] = write_sector_turnover(panel, ref, sources, without_turnover)
    return counts
