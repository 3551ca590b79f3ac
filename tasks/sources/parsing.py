"""Parsing shared by the sources' normalisers: numbers with either decimal mark, dates, yes/no
flags, NACE codes and provinces; each normalised column keeps the raw text it came from."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference, fold_key, map_unique, normalize_nace

TRUE_WORDS = {"e", "evet", "var", "yes", "y", "true", "1", "x"}


FALSE_WORDS = {"h", "hayir", "yok", "no", "n", "false", "0"}


FORMULA_PREFIX = r"^[=+\-@\t\r]"  # text a spreadsheet would run as a formula (CSV injection)


def parse_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text to float. With a decimal comma, dots are thousands (``1.250.000,50``); otherwise
    commas are thousands. Blank is null; anything unparseable is null (and quarantined)."""
    text = values.fillna("").astype(str).str.strip().str.replace(r"[\s₺$]|TL", "", regex=True)
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text.replace("", None), errors="coerce").astype("float64")


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates written ``dd.mm.yyyy`` or ``yyyy-mm-dd`` (both occur in one column)."""
    text = values.fillna("").astype(str).str.strip()
    dotted = pd.to_datetime(text, format="%d.%m.%Y", errors="coerce")
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return dotted.fillna(iso)


def parse_flags(values: pd.Series) -> pd.Series:
    def flag(value: object) -> bool | None:
        key = fold_key(value)
        return True if key in TRUE_WORDS else False if key in FALSE_WORDS else None

    return map_unique(values, flag).astype("boolean")


def with_provenance(frame: pd.DataFrame, table: pd.DataFrame, raw_columns: dict[str, str]) -> pd.DataFrame:
    """Attach source_file/source_row and, as ``raw__<column>``, the text each normalised
    column was parsed from, so that quarantine shows what the file really said."""
    out = frame.assign(source_file=table.source_file.to_numpy(), source_row=table.source_row.to_numpy())
    for column, raw in raw_columns.items():
        out[f"raw__{column}"] = table[raw].to_numpy() if raw in table else ""
    return out


def nace_columns(values: pd.Series) -> tuple[list, list]:
    pairs = map_unique(values, normalize_nace)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plate_codes(values: pd.Series, ref: Reference) -> pd.Series:
    return map_unique(values, ref.plate_code).astype("Int64")


def optional_column(table: pd.DataFrame, column: str) -> pd.Series:
    """A column the file may lack (real member lists differ): blank text where it is absent."""
    return table[column] if column in table else pd.Series("", index=table.index, dtype=object)
