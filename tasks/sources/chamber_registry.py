"""Source ``chamber_registry``: the chambers' member lists, and the province of a list whose
real layout has no province column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import InputFileError
from tasks.reference import Reference, map_unique
from tasks.sources.parsing import (
    FORMULA_PREFIX,
    nace_columns,
    optional_column,
    parse_dates,
    parse_flags,
    parse_numbers,
    plate_codes,
    with_provenance,
)


def normalize_registry(table: pd.DataFrame, ref: Reference, decimal: str) -> pd.DataFrame:
    """Member rows; ``plate_code`` from the file's province column when it has one (else null:
    ``resolve_registry_province`` decides the file's province)."""
    nace_class, national = nace_columns(table.nace_code)
    frame = pd.DataFrame(
        {
            "registry_no": table.registry_no.str.strip(),
            "firm_name": table.firm_name.str.strip(),
            "nace_class": nace_class,
            "national_activity_code": national,
            "plate_code": plate_codes(optional_column(table, "province"), ref),
            "district": optional_column(table, "district").str.strip(),
            "employees": parse_numbers(table.employees, decimal),
            "founded": parse_dates(optional_column(table, "founded")),
            "capital_try": parse_numbers(optional_column(table, "capital_try"), decimal),
            "turnover_try": parse_numbers(optional_column(table, "turnover_try"), decimal),
            "exporter": parse_flags(optional_column(table, "exporter")),
            "capacity_report": parse_flags(optional_column(table, "capacity_report")),
        }
    )
    frame["employees_missing"] = table.employees.str.strip().eq("").to_numpy()
    founded_text = optional_column(table, "founded").str.strip()
    frame["founded_year"] = frame.founded.dt.year.astype("float64")
    frame["founded_unparsed"] = (founded_text.ne("") & frame.founded.isna()).to_numpy()
    frame["formula_like"] = frame.firm_name.str.match(FORMULA_PREFIX).fillna(False).to_numpy()
    frame["firm_name_length"] = frame.firm_name.str.len().astype("float64")
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
    candidates = map_unique(rows.district, ref.provinces_of_district)
    decided: dict = {}
    if rows.raw__plate_code.astype(str).str.strip().ne("").any():  # the file has a province column, filled
        decided = {"province_rule": "province column"}
    else:
        single = candidates[candidates.map(len).eq(1)].map(lambda plates: next(iter(plates)))
        votes = single.value_counts()
        folder = ref.plate_code(path.parent.name) if path.parent.name else None
        chamber = ref.chamber_of_file(path.name)
        if len(votes) and votes.iloc[0] > len(single) / 2:
            plate = int(votes.index[0])
            others, undecided = len(single) - votes.iloc[0], len(rows) - len(single)
            evidence = f"{votes.iloc[0]} rows name its districts, {others} another province's, {undecided} none"
            decided = {"province_rule": "district", "province_evidence": evidence}
        elif folder:
            plate, decided = folder, {"province_rule": "folder", "province_evidence": path.parent.name}
        elif chamber:
            plate, decided = chamber[1], {"province_rule": "chamber in file name", "province_evidence": chamber[0]}
        elif province:
            plate, decided = province, {"province_rule": "given"}
        else:
            raise InputFileError(path, UNRESOLVED_PROVINCE, "chamber_registry")
        rows = rows.assign(plate_code=pd.array([plate] * len(rows), dtype="Int64"))
    conflict = [
        bool(plates) and not pd.isna(plate) and int(plate) not in plates
        for plates, plate in zip(candidates, rows.plate_code, strict=True)
    ]
    rows = rows.assign(district_in_province=~np.array(conflict, dtype=bool))
    if len(rows) and rows.plate_code.notna().any() and decided["province_rule"] != "province column":
        decided["province"] = ref.province_name(int(rows.plate_code.dropna().iloc[0]))
    return rows, decided
