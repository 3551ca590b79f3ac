"""Source ``chamber_registry``: the chambers' member lists, and the province of a list whose
real layout has no province column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import InputFileError
from tasks.reference import Reference
from tasks.sources.parsing import (
    blank,
    formula_like,
    nace_columns,
    optional_column,
    optional_text,
    parse_dates,
    parse_flags,
    parse_numbers,
    plate_codes,
    strip,
    with_provenance,
)


def normalize_registry(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    """Member rows; ``plate_code`` from the file's province column when it has one (else null:
    ``resolve_registry_province`` decides the file's province)."""
    nace_class, national = nace_columns(table.nace_code)
    firm_name = strip(table.firm_name)
    founded = parse_dates(optional_text(table, "founded"))
    frame = pd.DataFrame(
        {
            "registry_no": strip(table.registry_no),
            "firm_name": firm_name,
            "nace_class": nace_class,
            "national_activity_code": national,
            "plate_code": plate_codes(optional_text(table, "province"), ref),
            "district": strip(optional_column(table, "district")),
            "employees": parse_numbers(table.employees, decimal),
            "founded": founded,
            "capital_try": parse_numbers(optional_text(table, "capital_try"), decimal),
            "turnover_try": parse_numbers(optional_text(table, "turnover_try"), decimal),
            "exporter": parse_flags(optional_text(table, "exporter")),
            "capacity_report": parse_flags(optional_text(table, "capacity_report")),
            "employees_missing": blank(table.employees),
            "founded_year": founded.dt.year.astype("float64"),
            "founded_unparsed": ~blank(optional_text(table, "founded")) & founded.isna().to_numpy(),
            "formula_like": formula_like(firm_name),
            "firm_name_length": firm_name.str.len().astype("float64"),
        },
        copy=False,  # the new columns as they are: not copied into blocks, which Arrow splits again
    )
    raw = {
        "nace_class": "nace_code",
        "plate_code": "province",
        "employees": "employees",
        "turnover_try": "turnover_try",
        "founded_year": "founded",
        "founded": "founded",
        "firm_name_length": "firm_name",
        "registry_no": "registry_no",
        "district_in_province": "district",
    }
    return with_provenance(frame, table, raw)


UNRESOLVED_PROVINCE = (
    "cannot tell which province this member list is for: it has no province column (İl) and its districts "
    "(İlçe) name none. Fix it one of three ways: put the file in chamber_registry/<province>/ "
    "(e.g. chamber_registry/Samsun/), name the chamber in the file name (e.g. samsun_tso_uyeler.csv; "
    "the names are in data/reference/chambers.csv), or add an İl column (with kume check: --province)"
)


def resolve_registry_province(
    rows: pd.DataFrame, path: Path, ref: Reference, province: int | None = None
) -> tuple[pd.DataFrame, dict]:
    """Decide the province of a chamber's member list, whose real layout has no province column
    (a chamber serves one province). Tried in order: the file's own province column; else the
    districts (``İlçe``) through the district table, the province most rows point to (a name
    shared by two provinces, and ``Merkez``, decide nothing: the other rows do); else the folder
    the file sits in (``chamber_registry/<province>/``); else a chamber named in the file name;
    else ``province`` (``kume check --province``). Then every row whose district lies in another
    province is flagged (``district_in_province`` false) for quarantine, never moved.
    Returns the rows and how the province was decided."""
    if rows.empty:
        return rows.assign(district_in_province=pd.Series(dtype=bool)), {}
    # the provinces each distinct district names, and each row's district among them
    codes, districts = pd.factorize(rows.district, use_na_sentinel=True)
    candidates = [*(ref.provinces_of_district(d) for d in districts), ref.provinces_of_district(None)]
    codes = np.where(codes < 0, len(districts), codes)
    only = np.array([next(iter(plates)) if len(plates) == 1 else -1 for plates in candidates], dtype=np.int64)[codes]
    decided: dict = {}
    if not blank(rows.raw__plate_code.astype(str)).all():  # the file has a province column, filled
        decided = {"province_rule": "province column"}
    else:
        single = pd.Series(only[only >= 0])
        votes = single.value_counts()
        # the folder and the file name are looked at only when the districts decide nothing
        if len(votes) and votes.iloc[0] > len(single) / 2:
            plate = int(votes.index[0])
            others, undecided = len(single) - votes.iloc[0], len(rows) - len(single)
            evidence = f"{votes.iloc[0]} rows name its districts, {others} another province's, {undecided} none"
            decided = {"province_rule": "district", "province_evidence": evidence}
        elif folder := ref.plate_code(path.parent.name) if path.parent.name else None:
            plate, decided = folder, {"province_rule": "folder", "province_evidence": path.parent.name}
        elif chamber := ref.chamber_of_file(path.name):
            plate, decided = chamber[1], {"province_rule": "chamber in file name", "province_evidence": chamber[0]}
        elif province:
            plate, decided = province, {"province_rule": "given"}
        else:
            raise InputFileError(path, UNRESOLVED_PROVINCE, "chamber_registry")
        rows = rows.assign(plate_code=pd.array(np.full(len(rows), plate, dtype=np.int64), dtype="Int64"))
    rows = rows.assign(district_in_province=~_district_elsewhere(codes, candidates, rows.plate_code))
    if len(rows) and rows.plate_code.notna().any() and decided["province_rule"] != "province column":
        decided["province"] = ref.province_name(int(rows.plate_code.dropna().iloc[0]))
    return rows, decided


def _district_elsewhere(codes: np.ndarray, candidates: list[frozenset[int]], plates: pd.Series) -> np.ndarray:
    """Rows whose district (``codes`` into ``candidates``, the provinces each district names)
    lies only in provinces other than the row's plate code; a district naming none, or a row
    without a plate code, is no conflict. Decided once per distinct (district, plate) pair."""
    plate = plates.fillna(-1).to_numpy(dtype=np.int64)
    width = int(plate.max()) + 2
    inverse, pairs = pd.factorize(codes.astype(np.int64) * width + plate + 1)
    elsewhere = [
        bool(candidates[code]) and code_plate >= 0 and code_plate not in candidates[code]
        for code, code_plate in zip((pairs // width).tolist(), (pairs % width - 1).tolist(), strict=True)
    ]
    return np.array(elsewhere, dtype=bool)[inverse]
