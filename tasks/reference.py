"""Reference tables (provinces, NACE Rev.2, cluster definitions) and the name normalisers
that every reader uses: Turkish case folding, province names to plate codes, NACE codes to
the 4-digit class."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.names import fold_key
from schemas.names import turkish_lower as turkish_lower  # re-exported: the readers' normalisers live here too

NATIONAL = 0  # plate code used for rows that hold the national total
CENTRAL_DISTRICT = "Merkez"  # the central district of many provinces: names no province on its own
_NACE_RE = re.compile(r"^[A-Z]?(\d{2})\.?(\d{2})(?:\.?(\d{2}))?$")


def map_unique(values: pd.Series, function: Callable[[object], object]) -> pd.Series:
    """``values.map(function)`` calling ``function`` once per distinct value (and once for
    nulls): province names, NACE codes and flags repeat across millions of rows."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [function(value) for value in uniques]
    mapped[-1] = function(None)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def normalize_nace(code: object) -> tuple[str | None, str | None]:
    """Return (4-digit class ``28.93``, 6-digit national code ``28.93.01`` or None).

    Accepts ``28.93``, ``2893``, ``28.93.01``, ``289301``, ``28.9301`` and a leading section
    letter; ``C`` alone is the manufacturing total. Anything else gives (None, None).
    """
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return None, None
    text = str(code).strip().upper().replace(" ", "")
    if text.endswith(".0") and text[:-2].isdigit():  # a number that went through Excel
        text = text[:-2]
    if text == "C":
        return "C", None
    match = _NACE_RE.match(text)
    if not match:
        return None, None
    division, rest, national = match.groups()
    nace_class = f"{division}.{rest}"
    return nace_class, (f"{nace_class}.{national}" if national else None)


@dataclass(frozen=True)
class Reference:
    """The reference tables kume ships in ``data/reference``."""

    directory: Path

    @cached_property
    def provinces(self) -> pd.DataFrame:
        frame = pd.read_csv(self.directory / "tr_provinces.csv", dtype={"plate_code": "int64"})
        return frame.sort_values("plate_code").reset_index(drop=True)

    @cached_property
    def province_index(self) -> dict[str, int]:
        """fold_key(name) -> plate code, from Turkish and English names, plate codes and aliases."""
        index: dict[str, int] = {}
        for row in self.provinces.itertuples():
            for name in (row.name_tr, row.name_eng, str(row.plate_code), f"{row.plate_code:02d}"):
                index[fold_key(name)] = int(row.plate_code)
        aliases = pd.read_csv(self.directory / "province_aliases.csv")
        for row in aliases.itertuples():
            index[fold_key(row.alias)] = int(row.plate_code)
        return index

    def plate_code(self, province: object) -> int | None:
        """Plate code for a province given as code, Turkish or ASCII name or abbreviation."""
        return self.province_index.get(fold_key(province))

    def province_name(self, plate_code: int) -> str:
        return self.names_by_plate[plate_code]

    @cached_property
    def names_by_plate(self) -> dict[int, str]:
        return dict(zip(self.provinces.plate_code, self.provinces.name_tr, strict=True))

    @cached_property
    def nace(self) -> pd.DataFrame:
        return pd.read_csv(self.directory / "nace_rev2_section_c.csv", dtype=str, keep_default_na=False)

    @cached_property
    def nace_classes(self) -> pd.DataFrame:
        """The 230 manufacturing classes with their group and division."""
        classes = self.nace[self.nace.level == "class"].rename(columns={"code": "nace_class"})
        classes = classes.assign(division=classes.nace_class.str[:2], group=classes.parent)
        return classes[["nace_class", "group", "division", "name_en"]].reset_index(drop=True)

    @cached_property
    def cluster_sectors(self) -> pd.DataFrame:
        """Named cluster definitions: a main class, its related classes and names."""
        return pd.read_csv(self.directory / "cluster_sectors.csv", dtype=str, keep_default_na=False)

    @cached_property
    def cluster_centres(self) -> pd.DataFrame:
        """Provinces with a Cluster Information Centre and the local partner hosting it."""
        return pd.read_csv(
            self.directory / "cluster_centres.csv", dtype={"plate_code": "int64", "published_sector_code": str}
        )

    @cached_property
    def exporter_sectors(self) -> pd.DataFrame:
        """Exporter-sector names (as published) with the NACE prefixes they cover."""
        return pd.read_csv(self.directory / "exporter_sectors.csv", dtype=str, keep_default_na=False)

    @cached_property
    def exporter_sector_names(self) -> pd.DataFrame:
        """Every name an exporter sector was published under, with the years it was used: the
        current names plus those renamed in 2015 and 2021."""
        current = self.exporter_sectors[["sector_id", "name_tr"]].assign(valid_from=0, valid_to=9999)
        renamed = pd.read_csv(self.directory / "exporter_sector_names.csv", dtype={"sector_id": str})
        return pd.concat([current, renamed[["sector_id", "name_tr", "valid_from", "valid_to"]]], ignore_index=True)

    def exporter_sector_name(self, sector_id: str, year: int) -> str:
        """The name a sector was published under in ``year``."""
        names = self.exporter_sector_names
        valid = names[(names.sector_id == sector_id) & (names.valid_from <= year) & (names.valid_to >= year)]
        return valid.sort_values("valid_to").name_tr.iloc[0]

    @cached_property
    def usd_try_rates(self) -> pd.Series:
        """Annual average USD/TRY rate by year (central bank)."""
        rates = pd.read_csv(self.directory / "usd_try_rates.csv")
        return rates.set_index("year").usd_try

    @cached_property
    def life_index(self) -> pd.DataFrame:
        return pd.read_csv(self.directory / "tr_life_index_2015.csv")

    @cached_property
    def districts(self) -> pd.DataFrame:
        """Turkey's 973 districts with their province, plus names abolished or renamed since
        2008 that older member lists still carry (``status`` other than ``current``)."""
        return pd.read_csv(self.directory / "tr_districts.csv", dtype={"plate_code": "int64"}, keep_default_na=False)

    @cached_property
    def district_provinces(self) -> dict[str, frozenset[int]]:
        """fold_key(district) -> the plate codes of the provinces that have a district of that
        name. ``Merkez`` (the central district of many provinces) is left out: it decides nothing."""
        index: dict[str, set[int]] = {}
        for name, plate in zip(self.districts.district, self.districts.plate_code, strict=True):
            index.setdefault(fold_key(name), set()).add(int(plate))
        index.pop(fold_key(CENTRAL_DISTRICT), None)
        return {key: frozenset(plates) for key, plates in index.items()}

    def provinces_of_district(self, district: object) -> frozenset[int]:
        """The provinces a district name can belong to: one, several (a shared name), or none
        (blank, ``Merkez`` or a name not in the table)."""
        return self.district_provinces.get(fold_key(district), frozenset())

    @cached_property
    def chambers(self) -> pd.DataFrame:
        """Chambers and exporters' unions (name, short name) with the province they serve."""
        return pd.read_csv(self.directory / "chambers.csv", dtype={"plate_code": "int64"}, keep_default_na=False)

    def chamber_of_file(self, file_name: str) -> tuple[str, int] | None:
        """The chamber whose short name (``Samsun TSO``, ``KMTSO``) stands in a file name as whole
        words, and its province: the longest match wins; none, or two provinces, decides nothing."""
        words = [fold_key(w) for w in re.split(r"[\W_]+", Path(file_name).stem) if fold_key(w)]
        matches = []
        for row in self.chambers.itertuples():
            key = [fold_key(w) for w in str(row.short_name).split()]
            if any(words[i : i + len(key)] == key for i in range(len(words) - len(key) + 1)):
                matches.append((len(key), row.chamber, int(row.plate_code)))
        if not matches:
            return None
        longest = max(m[0] for m in matches)
        best = {(name, plate) for length, name, plate in matches if length == longest}
        plates = {plate for _, plate in best}
        return min(best) if len(plates) == 1 else None

    def exporter_sector_of_class(self) -> pd.Series:
        """Map every manufacturing class to exactly one exporter sector (longest prefix wins)."""
        prefixes = [
            (prefix, row.sector_id)
            for row in self.exporter_sectors.itertuples()
            for prefix in row.nace_prefixes.split()
        ]
        mapping = {}
        for nace_class in self.nace_classes.nace_class:
            matches = [(len(p), sid) for p, sid in prefixes if nace_class.startswith(p)]
            if matches:
                mapping[nace_class] = max(matches)[1]
        return pd.Series(mapping, name="exporter_sector_id")
