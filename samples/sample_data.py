"""Seeded generator of kume's synthetic sample data, in the real sources' layouts.

No public copy of Turkish province x 4-digit NACE figures exists, so the shipped inputs are
synthetic: realistic in shape and order of magnitude, calibrated to the published facts in
``docs/facts.md`` (see ``data/README.md``), with planted groups of co-locating classes and
entries whose chance rises with the share of a group a province holds (``plant_groups``, shared
with the national workload). The generator is run by hand (``kume generate-sample``); ``make run``
reads the committed files it wrote.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Font

from tasks.reference import Reference

SEED = 20111001  # the Cluster Information Centres opened in October 2011
YEARS = tuple(range(2011, 2023))
REFERENCE_YEAR = YEARS[-1]

# Manufacturing employment (SGK insured employees) of the larger provinces in the reference
# year, rounded; the rest get DEFAULT_PROVINCE_EMPLOYMENT with noise.
PROVINCE_EMPLOYMENT = {
    34: 1_150_000,
    16: 400_000,
    35: 290_000,
    41: 220_000,
    6: 190_000,
    27: 175_000,
    59: 170_000,
    42: 150_000,
    38: 110_000,
    45: 110_000,
    20: 95_000,
    1: 80_000,
    54: 75_000,
    46: 62_000,
    31: 55_000,
    26: 55_000,
    55: 42_000,
    10: 40_000,
    33: 40_000,
    7: 35_000,
    19: 30_000,
    9: 30_000,
    3: 25_000,
    39: 25_000,
    44: 25_000,
    64: 25_000,
    81: 25_000,
    63: 20_000,
    43: 18_000,
    80: 18_000,
    61: 16_000,
    11: 15_000,
    21: 15_000,
    77: 15_000,
    14: 12_000,
    17: 12_000,
    58: 12_000,
    67: 12_000,
    70: 12_000,
    2: 10_000,
    15: 10_000,
    22: 10_000,
    23: 10_000,
    32: 10_000,
    52: 10_000,
    53: 10_000,
    78: 10_000,
    47: 9_000,
    5: 8_000,
    37: 8_000,
    48: 8_000,
    51: 8_000,
    60: 8_000,
    68: 8_000,
    25: 6_000,
    28: 6_000,
    50: 6_000,
    66: 6_000,
    71: 6_000,
    72: 6_000,
    18: 5_000,
    40: 5_000,
}
DEFAULT_PROVINCE_EMPLOYMENT = 2_000

# National division shares of manufacturing employment (approximate, SGK).
DIVISION_SHARE = {
    "10": 12.0,
    "11": 0.7,
    "12": 0.3,
    "13": 11.0,
    "14": 12.0,
    "15": 2.5,
    "16": 1.5,
    "17": 1.5,
    "18": 1.0,
    "19": 0.2,
    "20": 2.5,
    "21": 1.0,
    "22": 6.0,
    "23": 6.0,
    "24": 3.5,
    "25": 9.0,
    "26": 1.5,
    "27": 4.0,
    "28": 6.5,
    "29": 5.5,
    "30": 1.0,
    "31": 4.5,
    "32": 1.5,
    "33": 2.0,
}
# Reference-year turnover per employee (TRY) and exports per employee (USD), by division.
TURNOVER_PER_EMPLOYEE = {"10": 3.2e6, "13": 2.6e6, "14": 0.9e6, "15": 1.0e6, "19": 20e6, "24": 6e6}
TURNOVER_DEFAULT = 1.6e6
EXPORTS_PER_EMPLOYEE = {"10": 28e3, "13": 38e3, "14": 24e3, "15": 15e3, "29": 60e3, "30": 45e3}
EXPORTS_DEFAULT = 30e3
# Typical workplace size (employees per workplace), by division.
FIRM_SIZE = {"10": 9, "13": 35, "14": 14, "15": 8, "23": 14, "25": 9, "28": 14, "29": 60, "31": 8}
FIRM_SIZE_DEFAULT = 12
# National shares of a few classes known to be large, instead of a random split of their division.
NATIONAL_CLASS_SHARE = {"30.11": 0.006, "32.50": 0.006, "15.20": 0.015, "28.93": 0.004, "25.99": 0.015}


@dataclass(frozen=True)
class PilotClass:
    """A class whose figures in a pilot province are set by hand (facts.md)."""

    employment: dict[int, float]  # anchor year -> employees; geometric in between
    firm_size: float
    exports_usd: dict[int, float] | None = None  # anchor year -> exports, USD
    districts: dict[str, float] | None = None  # where the cluster concentrates: district -> share


# The five pilot provinces: their cluster sector and the big sectors it is not.
PILOTS: dict[int, dict[str, PilotClass]] = {
    19: {  # Çorum: food machinery; large: flour milling, bakery, bricks
        "28.93": PilotClass({2011: 1200, 2017: 1600, 2022: 2300}, 15, districts={"Merkez": 0.86}),
        "28.30": PilotClass({2011: 500, 2022: 700}, 12),
        "10.61": PilotClass({2011: 2300, 2022: 2600}, 20),
        "10.71": PilotClass({2011: 1700, 2022: 1900}, 5),
        "10.73": PilotClass({2011: 500, 2022: 600}, 25),
        "23.32": PilotClass({2011: 2600, 2022: 2400}, 30),
        "23.61": PilotClass({2011: 800, 2022: 900}, 15),
    },
    27: {  # Gaziantep: footwear; large: carpets, spinning, weaving, food
        "15.20": PilotClass(
            {2011: 7600, 2017: 10500, 2022: 12500},
            7,
            exports_usd={2011: 95e6, 2017: 145e6, 2022: 190e6},
            districts={"Şehitkamil": 0.84},
        ),
        "15.11": PilotClass({2011: 250, 2022: 300}, 10),
        "22.19": PilotClass({2011: 700, 2022: 900}, 12),
        "13.93": PilotClass({2011: 27000, 2022: 28000}, 45),
        "13.10": PilotClass({2011: 15000, 2022: 14000}, 60),
        "13.20": PilotClass({2011: 15500, 2022: 15000}, 40),
        "10.61": PilotClass({2011: 3600, 2022: 4000}, 25),
        "10.82": PilotClass({2011: 4200, 2022: 5000}, 20),
        "10.39": PilotClass({2011: 2600, 2022: 3000}, 12),
    },
    46: {  # Kahramanmaraş: metal kitchenware; large: spinning, weaving, apparel
        "25.99": PilotClass(
            {2011: 3000, 2017: 4300, 2022: 5800},
            9,
            exports_usd={
                2011: 76.4e6,
                2012: 69.4e6,
                2013: 80e6,
                2014: 88e6,
                2015: 90e6,
                2016: 96e6,
                2017: 107e6,
                2018: 127e6,
                2019: 129e6,
                2020: 172e6,
                2021: 205e6,
                2022: 221e6,
            },
            districts={"Onikişubat": 0.81},
        ),
        "25.71": PilotClass({2011: 700, 2022: 900}, 8),
        "13.10": PilotClass({2011: 17500, 2022: 16000}, 80),
        "13.20": PilotClass({2011: 6500, 2022: 6000}, 40),
        "13.30": PilotClass({2011: 3200, 2022: 3000}, 30),
        "14.13": PilotClass({2011: 4000, 2022: 4200}, 25),
        "10.52": PilotClass({2011: 1000, 2022: 1200}, 15),
    },
    55: {  # Samsun: medical equipment; large: meat, dairy, bread, flour
        "32.50": PilotClass(
            {2011: 824, 2015: 1000, 2022: 1450},
            21,
            exports_usd={2011: 8.8e6, 2022: 30e6},
            districts={"Tekkeköy": 0.78},
        ),
        "26.60": PilotClass({2011: 100, 2022: 150}, 10),
        "10.13": PilotClass({2011: 2600, 2022: 3100}, 25),
        "10.12": PilotClass({2011: 1200, 2022: 1500}, 40),
        "10.51": PilotClass({2011: 1500, 2022: 1600}, 15),
        "10.71": PilotClass({2011: 2400, 2022: 2600}, 5),
        "10.61": PilotClass({2011: 1400, 2022: 1500}, 20),
        "28.30": PilotClass({2011: 1800, 2022: 2000}, 20),
    },
    61: {  # Trabzon: shipbuilding; large: hazelnut processing, tea, bread
        "30.11": PilotClass(
            {2011: 550, 2017: 700, 2022: 950},
            30,
            exports_usd={2011: 18e6, 2022: 48e6},
            districts={"Yomra": 0.64, "Arsin": 0.3},
        ),
        "30.12": PilotClass({2011: 100, 2022: 150}, 8),
        "33.15": PilotClass({2011: 180, 2022: 250}, 10),
        "10.39": PilotClass({2011: 2400, 2022: 2600}, 30),
        "10.83": PilotClass({2011: 800, 2022: 850}, 40),
        "10.71": PilotClass({2011: 1500, 2022: 1500}, 5),
    },
}
PILOT_CLUSTER_CLASS = {19: "28.93", 27: "15.20", 46: "25.99", 55: "32.50", 61: "30.11"}

DISTRICTS = {
    19: ["Merkez", "Sungurlu", "Osmancık", "Alaca", "İskilip"],
    27: ["Şehitkamil", "Şahinbey", "Nizip", "İslahiye", "Oğuzeli"],
    46: ["Onikişubat", "Dulkadiroğlu", "Elbistan", "Afşin", "Türkoğlu"],
    55: ["İlkadım", "Atakum", "Canik", "Tekkeköy", "Bafra", "Çarşamba"],
    61: ["Ortahisar", "Yomra", "Arsin", "Akçaabat", "Of"],
}
FIRM_WORDS = [
    "Anadolu",
    "Karadeniz",
    "Yıldız",
    "Özgür",
    "Güneş",
    "Işık",
    "Çınar",
    "Doğan",
    "Ege",
    "Kuzey",
    "Şahin",
    "Akın",
    "Ilgaz",
    "Öztürk",
    "Yılmaz",
    "Kılıç",
    "Aydın",
    "Çelik",
    "Demir",
    "Kartal",
]
FIRM_KINDS = ["Sanayi ve Ticaret A.Ş.", "San. Tic. Ltd. Şti.", "Makina San. A.Ş.", "Üretim Ltd. Şti."]


def _anchor_series(anchors: dict[int, float], years: tuple[int, ...]) -> np.ndarray:
    """Interpolate geometrically between anchor years (extrapolating the nearest slope)."""
    points = sorted(anchors.items())
    if len(points) == 1:
        return np.full(len(years), points[0][1])
    xs = np.array([p[0] for p in points], dtype=float)
    logs = np.log([p[1] for p in points])
    return np.exp(np.array([_extrapolate(xs, logs, y) for y in years]))


def _extrapolate(xs: np.ndarray, ys: np.ndarray, x: float) -> float:
    if x <= xs[0]:
        return ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    if x >= xs[-1]:
        return ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return float(np.interp(x, xs, ys))


# ---- planted co-location groups and entry dynamics (methodology.md §7, §8) -------------------
# Groups of NACE classes that co-locate in reality. The generators make them co-locate across the
# provinces (with noise) and let provinces enter a group's missing classes at a rate that rises with
# the share of the group they hold, so that §7 has known clusters to recover and §8's backtest known
# entries to predict (data/README.md). Disjoint from the pilot classes (PILOTS) and from the
# programme's expert lists (data/reference/cluster_sectors.csv); the pilot provinces are untouched.
PLANTED_GROUPS: dict[str, tuple[str, ...]] = {
    "knitwear and apparel": ("13.91", "14.14", "14.19", "14.31", "14.39"),
    "automotive": ("29.10", "29.20", "29.31", "29.32", "22.11"),
    "wood and furniture": ("16.10", "16.21", "31.01", "31.02", "31.09"),
    "ceramics": ("23.31", "23.41", "23.42", "23.44"),
    "domestic appliances": ("27.11", "27.40", "27.51", "28.25"),
    "iron and steel": ("24.10", "24.20", "24.51", "24.52", "25.50"),
    "paper and packaging": ("17.11", "17.12", "17.21", "18.12"),
    "aerospace and defence": ("25.40", "30.30", "30.40", "33.16"),
}
PLANTING_STREAM = 16  # the planting's own random stream, np.random.default_rng([seed, PLANTING_STREAM]),
# so that the rest of the data keeps its draws
HOME_PROVINCES = (4, 7)  # each group: 4..7 home provinces holding every member (disjoint across groups)
JOINING_PROVINCES = (3, 5)  # each group: 3..5 other provinces holding 1..n-1 members in the first year
UNPLANTED = (34,)  # İstanbul (28 % of manufacturing) never holds a group: holding a class there would
# take most of its employment and leave the other holders below RCA 1
OUTSIDE_FACTOR = 0.25  # where a member is not held, it keeps this part of its unplanted employment,
OUTSIDE_LQ = 0.4  # and at most this location quotient (against the unplanted panel of the year)
HELD_SPREAD = 0.3  # held cells share the rest of the class's employment by province size x lognormal(0, this)
HELD_NOISE = 0.03  # and yearly noise N(1, this)
HELD_MINIMUM = 12  # a held cell has at least this many employees (presence needs 10)
ENTRY_BASE = 0.002  # the yearly chance that a province enters a missing class of a group is
ENTRY_SLOPE = 0.35  # ENTRY_BASE + ENTRY_SLOPE * s, s = the share of the group's classes it held the year before


@dataclass(frozen=True)
class Planting:
    """What ``plant_groups`` did: each group's homes and joiners and, per province x class x year,
    whether the cell is held (at its planted level) and whether it was entered that year."""

    plates: np.ndarray
    codes: np.ndarray
    homes: dict[str, tuple[int, ...]]
    joining: dict[str, tuple[int, ...]]
    held: np.ndarray  # bool, province x class x year
    entered: np.ndarray  # bool, province x class x year: held, and not the year before

    def group_share(self, group: str) -> np.ndarray:
        """s, province x year: the share of the group's classes the province holds."""
        return self.held[:, np.isin(self.codes, PLANTED_GROUPS[group]), :].mean(axis=1)


def planted_layout(plates: np.ndarray, rng: np.random.Generator) -> tuple[dict, dict]:
    """Each group's home provinces (disjoint across groups) and joining provinces (none of them
    any group's home; a province may join several groups), never a pilot province or UNPLANTED."""
    candidates = np.array([p for p in plates if p not in PILOTS and p not in UNPLANTED])
    order = rng.permutation(candidates)
    homes, start = {}, 0
    for group in PLANTED_GROUPS:
        count = int(rng.integers(HOME_PROVINCES[0], HOME_PROVINCES[1] + 1))
        homes[group] = tuple(sorted(int(p) for p in order[start : start + count]))
        start += count
    joining = {}
    for group in PLANTED_GROUPS:
        count = int(rng.integers(JOINING_PROVINCES[0], JOINING_PROVINCES[1] + 1))
        joining[group] = tuple(sorted(int(p) for p in rng.choice(order[start:], count, replace=False)))
    return homes, joining


def plant_groups(
    employment: np.ndarray, plates: np.ndarray, codes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, Planting]:
    """Plant ``PLANTED_GROUPS`` into a dense province x class x year employment array (0 = absent)
    and return the new array and what was planted. The pilot provinces keep their figures;
    UNPLANTED provinces never hold a group.

    Holding: homes hold every member in every year, joiners a random 1..n-1 members from the
    first year; then each year each missing member of a group enters a province with chance
    ENTRY_BASE + ENTRY_SLOPE * s (s: the share of the group the province held the year before) and
    stays held. Employment: a member not held keeps OUTSIDE_FACTOR of its figure, at most an LQ of
    OUTSIDE_LQ; the held cells share the rest of the class's national employment of the year (so
    national class totals stay as they were) by province size x lognormal(0, HELD_SPREAD), with
    N(1, HELD_NOISE) yearly noise, at least HELD_MINIMUM employees each. The draws are dense: they do
    not depend on which cells the input holds."""
    n_p, n_c, n_y = employment.shape
    plates, codes = np.asarray(plates), np.asarray(codes)
    homes, joining = planted_layout(plates, rng)
    touched = ~np.isin(plates, list(PILOTS))
    eligible = touched & ~np.isin(plates, UNPLANTED)
    held = np.zeros((n_p, n_c, n_y), dtype=bool)
    columns = {group: np.flatnonzero(np.isin(codes, members)) for group, members in PLANTED_GROUPS.items()}
    for group, cols in columns.items():
        held[np.ix_(np.isin(plates, homes[group]), cols)] = True
        for plate in joining[group]:
            start = rng.choice(cols, int(rng.integers(1, len(cols))), replace=False)
            held[np.flatnonzero(plates == plate)[0], start, :] = True
    weight = rng.lognormal(0, HELD_SPREAD, (n_p, n_c))[..., None] * rng.normal(1, HELD_NOISE, (n_p, n_c, n_y))
    draws = rng.random((n_p, n_c, n_y))
    for year in range(1, n_y):
        for cols in columns.values():
            share = held[:, cols, year - 1].mean(axis=1)
            enters = eligible[:, None] & (draws[:, cols, year] < (ENTRY_BASE + ENTRY_SLOPE * share)[:, None])
            held[:, cols, year:] |= enters[..., None]
    entered = held.copy()
    entered[:, :, 1:] &= ~held[:, :, :-1]
    entered[:, :, 0] = False

    member = np.zeros(n_c, dtype=bool)
    member[np.concatenate(list(columns.values()))] = True
    planted = touched[:, None, None] & member[None, :, None]
    size = employment.sum(axis=1, keepdims=True)
    expected = size * employment.sum(axis=0, keepdims=True) / employment.sum(axis=(0, 1))
    outside = np.minimum(employment * OUTSIDE_FACTOR, expected * OUTSIDE_LQ)
    outside = np.where(planted & ~held & (employment > 0), np.maximum(np.round(outside), 1), 0)
    kept = np.where(planted, 0, employment)  # the pilot provinces' cells, and every other class
    rest = employment.sum(axis=0) - (kept + outside).sum(axis=0)  # class x year: for the held cells
    held_weight = np.where(planted & held, size * weight, 0)
    share_of_rest = held_weight / np.maximum(held_weight.sum(axis=0), 1e-12)
    level = np.where(planted & held, np.maximum(np.round(share_of_rest * np.maximum(rest, 0)), HELD_MINIMUM), 0)
    result = np.where(planted, np.where(held, level, outside), employment)
    return result, Planting(plates, codes, homes, joining, held, entered)


class SampleGenerator:
    """Builds the whole sample from one seed; ``write`` puts it on disk in the source layouts."""

    def __init__(self, reference: Reference, seed: int = SEED) -> None:
        self.ref = reference
        self.rng = np.random.default_rng(seed)
        self.planting_rng = np.random.default_rng([seed, PLANTING_STREAM])  # own stream: the rest keeps its draws
        self.planting: Planting | None = None
        self.classes = reference.nace_classes
        self.plates = reference.provinces.plate_code.tolist()

    # ---- agency statistics -------------------------------------------------------------
    def employment_panel(self) -> pd.DataFrame:
        """Province x class x year: employment, establishments and exports (USD)."""
        rng = self.rng
        classes = self.classes
        division_weight = classes.division.map(DIVISION_SHARE).to_numpy()
        within = np.concatenate(
            [rng.dirichlet(np.ones(n) * 1.5) for _, n in classes.groupby("division", sort=False).size().items()]
        )
        national_share = division_weight * within
        national_share /= national_share.sum()
        for nace_class, share in NATIONAL_CLASS_SHARE.items():
            national_share[classes.nace_class.eq(nace_class).to_numpy()] = share
        national_share /= national_share.sum()
        class_trend = rng.normal(0.02, 0.025, len(classes))
        class_trend[classes.nace_class.eq("32.50").to_numpy()] = 0.065  # medical devices grew fast
        years = np.array(YEARS)
        shape = (len(self.plates), len(classes), len(years))
        employment = np.zeros(shape)
        firm_size = np.zeros(shape[:2])
        size_noise = np.ones(shape)
        for row, plate in enumerate(self.plates):
            total = PROVINCE_EMPLOYMENT.get(plate, DEFAULT_PROVINCE_EMPLOYMENT * rng.lognormal(0, 0.4))
            presence_p = min(1.0, 0.12 + total / 60_000)
            present = rng.random(len(classes)) < presence_p
            # pilot provinces: the hand-set classes carry the specialisation, the rest is less lumpy
            spread = 0.6 if plate in PILOTS else 1.0
            weights = national_share * rng.lognormal(0, spread, len(classes)) * present
            pilots = PILOTS.get(plate, {})
            fixed = {c: spec.employment[REFERENCE_YEAR] for c, spec in pilots.items()}
            is_fixed = classes.nace_class.isin(fixed).to_numpy()
            weights[is_fixed] = 0
            free_total = total - sum(fixed.values())
            employment_ref = weights / weights.sum() * free_total
            province_trend = rng.normal(0.025, 0.012)
            for i, nace_class in enumerate(classes.nace_class):
                if nace_class in pilots:
                    spec = pilots[nace_class]
                    series = _anchor_series(spec.employment, YEARS) * rng.normal(1, 0.015, len(years))
                    size = spec.firm_size
                elif employment_ref[i] >= 3:
                    growth = province_trend + class_trend[i] + rng.normal(0, 0.025)
                    series = employment_ref[i] * (1 + growth) ** (years - REFERENCE_YEAR)
                    series = series * rng.normal(1, 0.03, len(years))
                    size = FIRM_SIZE.get(nace_class[:2], FIRM_SIZE_DEFAULT) * rng.lognormal(0, 0.3)
                else:
                    continue
                employment[row, i] = np.maximum(np.round(series), 1)
                firm_size[row, i] = size
                size_noise[row, i] = rng.normal(1, 0.05, len(years))
        unplanted = employment > 0
        codes = classes.nace_class.to_numpy()
        employment, self.planting = plant_groups(employment, np.array(self.plates), codes, self.planting_rng)
        new = (firm_size == 0) & (employment > 0).any(axis=2)  # cells the planting created
        division_size = classes.division.map(FIRM_SIZE).fillna(FIRM_SIZE_DEFAULT).to_numpy()
        firm_size[new] = np.broadcast_to(division_size, new.shape)[new] * self.planting_rng.lognormal(0, 0.3, new.sum())
        size_noise[new] = self.planting_rng.normal(1, 0.05, (new.sum(), len(years)))
        present = employment > 0
        plate_row, class_col, year_col = np.nonzero(present)  # province, class, year order, as before
        establishments = np.maximum(
            np.round(employment / np.where(firm_size > 0, firm_size, 1)[..., None] * size_noise), 1
        )
        panel = pd.DataFrame(
            {
                "plate_code": np.array(self.plates)[plate_row],
                "nace_class": codes[class_col],
                "year": years[year_col],
                "employment": employment[present],
                "establishments": establishments[present],
            }
        )
        return self._add_exports(panel, unplanted[present])

    def _add_exports(self, panel: pd.DataFrame, unplanted: np.ndarray) -> pd.DataFrame:
        """Exports per employee by division times province openness, with noise: the rows of the
        unplanted panel (``unplanted``) draw it from the main stream as before the planting, the
        rows the planting created from the planting's stream."""
        rng = self.rng
        division = panel.nace_class.str[:2]
        per_employee = division.map(EXPORTS_PER_EMPLOYEE).fillna(EXPORTS_DEFAULT).to_numpy()
        province_openness = {p: rng.lognormal(0, 0.5) for p in self.plates}
        openness = panel.plate_code.map(province_openness).to_numpy()
        year_factor = (1.04 ** (panel.year - REFERENCE_YEAR)).to_numpy()
        exports = panel.employment.to_numpy() * per_employee * openness * year_factor
        noise = np.empty(len(panel))
        noise[unplanted] = rng.lognormal(0, 0.25, unplanted.sum())
        noise[~unplanted] = self.planting_rng.lognormal(0, 0.25, (~unplanted).sum())
        exports *= noise
        panel = panel.assign(exports_usd=exports)
        for plate, specs in PILOTS.items():
            for nace_class, spec in specs.items():
                if spec.exports_usd:
                    rows = panel.plate_code.eq(plate) & panel.nace_class.eq(nace_class)
                    values = _anchor_series(spec.exports_usd, YEARS)
                    panel.loc[rows, "exports_usd"] = values[panel.loc[rows, "year"].to_numpy() - YEARS[0]]
        return panel

    # ---- chamber registries -------------------------------------------------------------
    def registry_firms(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Member firms of the five pilot chambers in the reference year."""
        rng = self.rng
        rows = []
        current = panel[panel.year == REFERENCE_YEAR]
        for plate in PILOTS:
            districts = DISTRICTS[plate]
            district_p = np.array([0.5] + [0.5 / (len(districts) - 1)] * (len(districts) - 1))
            for cell in current[current.plate_code == plate].itertuples():
                coverage = rng.uniform(0.75, 0.92)
                n_firms = max(int(round(cell.establishments * coverage)), 1)
                sizes = self._firm_sizes(plate, cell.nace_class, n_firms, cell.employment * coverage)
                spec = PILOTS[plate].get(cell.nace_class)
                if spec and spec.districts:
                    rest = [d for d in districts if d not in spec.districts]
                    names = [*spec.districts, *rest]
                    rest_share = (1 - sum(spec.districts.values())) / len(rest)
                    shares = [*spec.districts.values(), *[rest_share] * len(rest)]
                    firm_districts = rng.choice(names, n_firms, p=shares)
                else:
                    firm_districts = rng.choice(districts, n_firms, p=district_p)
                per_employee = TURNOVER_PER_EMPLOYEE.get(cell.nace_class[:2], TURNOVER_DEFAULT)
                if cell.nace_class == "10.61":
                    per_employee *= 2.2  # flour milling: high sales per head
                for size, district in zip(sizes, firm_districts, strict=True):
                    rows.append(
                        {
                            "plate_code": plate,
                            "nace_class": cell.nace_class,
                            "district": district,
                            "employees": int(size),
                            "turnover_try": float(size * per_employee * rng.lognormal(0, 0.35)),
                            "capital_try": float(round(rng.lognormal(13.5, 1.2), -3)),
                            "exporter": bool(rng.random() < min(0.9, 0.15 + size / 80)),
                            "capacity_report": bool(rng.random() < 0.7),
                            "founded": pd.Timestamp("1965-01-01") + pd.Timedelta(days=int(rng.integers(0, 20_500))),
                        }
                    )
        firms = pd.DataFrame(rows)
        firms["registry_no"] = (firms.groupby("plate_code").cumcount() + 1001).astype(str)
        names = [
            f"{self.rng.choice(FIRM_WORDS)} {self.rng.choice(FIRM_WORDS)} {self.rng.choice(FIRM_KINDS)}"
            for _ in range(len(firms))
        ]
        firms["firm_name"] = names
        return firms

    def _firm_sizes(self, plate: int, nace_class: str, n: int, employment: float) -> np.ndarray:
        if plate == 55 and nace_class == "32.50":
            # Samsun medical (facts.md, 2011): 3 medium, 4 small, the rest micro; kept in shape.
            medium = [210, 160, 130]
            small = [38, 30, 24, 19, 15]
            micro_n = max(n - len(medium) - len(small), 1)
            micro = self.rng.integers(2, 10, micro_n)
            sizes = np.array(medium + small + micro.tolist(), dtype=float)
            return np.maximum(np.round(sizes * employment / sizes.sum()), 1)
        sizes = self.rng.lognormal(0, 1.0, n)
        return np.maximum(np.round(sizes / sizes.sum() * employment), 1)

    # ---- agency database ----------------------------------------------------------------
    def agency_tables(self, panel: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Tables of the development agencies' database (all provinces; field study in pilots)."""
        rng = self.rng
        current = panel[panel.year == REFERENCE_YEAR]
        tables: dict[str, list[dict]] = {
            name: []
            for name in (
                "sector_associations",
                "joint_projects",
                "cooperation_survey",
                "education_programmes",
                "rd_design_centres",
                "industrial_zones",
                "testing_labs",
            )
        }
        for plate, group in current.groupby("plate_code"):
            top = group.nlargest(12, "employment").nace_class.tolist()
            cluster = PILOT_CLUSTER_CLASS.get(plate)
            for nace_class in rng.choice(top, size=min(len(top), 3), replace=False):
                tables["sector_associations"].append(
                    {
                        "plate_code": plate,
                        "nace_code": nace_class,
                        "name": f"{nace_class} sanayicileri derneği",
                        "kind": "association",
                        "members": int(rng.integers(10, 80)),
                        "founded_year": int(rng.integers(1990, 2020)),
                    }
                )
            if rng.random() < 0.5:
                tables["joint_projects"].append(
                    {
                        "plate_code": plate,
                        "nace_code": str(rng.choice(top)),
                        "title": "Ortak ihracat projesi",
                        "start_year": int(rng.integers(2012, 2022)),
                        "partner_firms": int(rng.integers(3, 12)),
                        "budget_try": float(rng.integers(200, 3000) * 1000),
                    }
                )
            for nace_class in rng.choice(top, size=min(len(top), 2), replace=False):
                tables["education_programmes"].append(
                    {
                        "plate_code": plate,
                        "institution": "Meslek Yüksekokulu",
                        "programme": f"{nace_class} teknikerliği",
                        "level": "vocational",
                        "nace_code": nace_class,
                        "students": int(rng.integers(40, 200)),
                        "graduates": int(rng.integers(10, 60)),
                        "year": REFERENCE_YEAR,
                    }
                )
            if rng.random() < 0.6:
                tables["rd_design_centres"].append(
                    {
                        "plate_code": plate,
                        "nace_code": str(rng.choice(top)),
                        "name": "Ar-Ge merkezi",
                        "kind": "R&D",
                        "year": int(rng.integers(2014, 2022)),
                    }
                )
            tables["industrial_zones"].append(
                {
                    "plate_code": plate,
                    "name": "Organize Sanayi Bölgesi",
                    "kind": "organised",
                    "nace_code": None,
                    "parcels": int(rng.integers(50, 400)),
                    "occupancy_pct": float(rng.uniform(40, 98)),
                }
            )
            if rng.random() < 0.3:
                tables["testing_labs"].append(
                    {
                        "plate_code": plate,
                        "nace_code": str(rng.choice(top)),
                        "name": "Test laboratuvarı",
                        "accredited": bool(rng.random() < 0.5),
                    }
                )
            if plate in PILOTS:
                surveyed = group.nlargest(25, "employment").nace_class.tolist()
                if cluster not in surveyed:
                    surveyed.append(cluster)
                for nace_class in surveyed:
                    mean = 4.3 if nace_class == cluster else rng.uniform(2.2, 3.6)
                    for _ in range(int(rng.integers(4, 14))):
                        tables["cooperation_survey"].append(
                            {
                                "plate_code": plate,
                                "nace_code": nace_class,
                                "year": 2012,
                                "willingness": int(np.clip(round(rng.normal(mean, 0.8)), 1, 5)),
                            }
                        )
        self._pilot_institutions(tables)
        return {
            name: pd.DataFrame(rows).reset_index(names="id").assign(id=lambda f: f.id + 1)
            for name, rows in tables.items()
        }

    @staticmethod
    def _pilot_institutions(tables: dict[str, list[dict]]) -> None:
        """The pilot clusters' known institutions (associations, programmes, zones, centres)."""
        assoc = tables["sector_associations"]
        assoc += [
            {
                "plate_code": 19,
                "nace_code": "28.93",
                "name": "Çorum Gıda Makineleri Kümelenme Derneği",
                "kind": "association",
                "members": 42,
                "founded_year": 2012,
            },
            {
                "plate_code": 27,
                "nace_code": "15.20",
                "name": "Gaziantep Ayakkabıcılar Derneği",
                "kind": "association",
                "members": 310,
                "founded_year": 1998,
            },
            {
                "plate_code": 27,
                "nace_code": "15.20",
                "name": "Ayakkabı Üreticileri Kooperatifi",
                "kind": "cooperative",
                "members": 120,
                "founded_year": 2005,
            },
            {
                "plate_code": 46,
                "nace_code": "25.99",
                "name": "Metal Mutfak Eşyası Üreticileri Derneği",
                "kind": "association",
                "members": 65,
                "founded_year": 2009,
            },
            {
                "plate_code": 55,
                "nace_code": "32.50",
                "name": "Samsun Medikal Sanayicileri Derneği",
                "kind": "association",
                "members": 38,
                "founded_year": 2010,
            },
            {
                "plate_code": 61,
                "nace_code": "30.11",
                "name": "Doğu Karadeniz Gemi İnşa Sanayicileri Derneği",
                "kind": "association",
                "members": 24,
                "founded_year": 2008,
            },
        ]
        tables["joint_projects"] += [
            {"plate_code": p, "nace_code": c, "title": t, "start_year": y, "partner_firms": n, "budget_try": b}
            for p, c, t, y, n, b in [
                (19, "28.93", "Gıda makineleri ortak tasarım ofisi", 2012, 14, 1.8e6),
                (19, "28.93", "Un değirmeni makineleri ihracat konsorsiyumu", 2016, 9, 1.1e6),
                (27, "15.20", "Ayakkabı ortak tasarım merkezi", 2013, 25, 2.4e6),
                (46, "25.99", "Mutfak eşyası ortak markalaşma", 2013, 12, 1.5e6),
                (46, "25.99", "URGE metal mutfak eşyaları", 2017, 18, 2.0e6),
                (55, "32.50", "Medikal kümelenme URGE projesi", 2012, 20, 1.9e6),
                (61, "30.11", "Gemi inşa tedarik zinciri projesi", 2013, 11, 2.2e6),
            ]
        ]
        tables["education_programmes"] += [
            {
                "plate_code": p,
                "institution": i,
                "programme": prog,
                "level": lvl,
                "nace_code": c,
                "students": s,
                "graduates": g,
                "year": REFERENCE_YEAR,
            }
            for p, i, prog, lvl, c, s, g in [
                (19, "Hitit Üniversitesi", "Makine Mühendisliği", "university", "28.93", 420, 85),
                (19, "Hitit Üniversitesi MYO", "Gıda Makineleri Teknolojisi", "vocational", "28.93", 160, 45),
                (27, "Gaziantep Üniversitesi MYO", "Ayakkabı Tasarım ve Üretimi", "vocational", "15.20", 140, 40),
                (27, "Gaziantep Üniversitesi", "Tekstil Mühendisliği", "university", "13.20", 180, 35),
                (46, "Kahramanmaraş Sütçü İmam Üniversitesi MYO", "Metal Teknolojisi", "vocational", "25.99", 150, 42),
                (46, "Kahramanmaraş Sütçü İmam Üniversitesi", "Makine Mühendisliği", "university", "25.99", 300, 60),
                (55, "Ondokuz Mayıs Üniversitesi", "Biyomedikal Mühendisliği", "university", "32.50", 240, 50),
                (55, "Ondokuz Mayıs Üniversitesi MYO", "Biyomedikal Cihaz Teknolojisi", "vocational", "32.50", 150, 48),
                (
                    61,
                    "Karadeniz Teknik Üniversitesi",
                    "Gemi İnşaatı ve Gemi Makineleri Mühendisliği",
                    "university",
                    "30.11",
                    380,
                    70,
                ),
                (61, "Karadeniz Teknik Üniversitesi MYO", "Gemi İnşaatı", "vocational", "30.11", 120, 35),
            ]
        ]
        tables["rd_design_centres"] += [
            {"plate_code": p, "nace_code": c, "name": n, "kind": k, "year": y}
            for p, c, n, k, y in [
                (19, "28.93", "Değirmen makineleri Ar-Ge merkezi", "R&D", 2016),
                (27, "15.20", "Ayakkabı tasarım merkezi", "design", 2018),
                (46, "25.99", "Mutfak eşyası tasarım merkezi", "design", 2019),
                (55, "32.50", "Ortopedik implant Ar-Ge merkezi", "R&D", 2017),
                (61, "30.11", "Tersane tasarım ofisi", "design", 2018),
            ]
        ]
        tables["industrial_zones"] += [
            {"plate_code": p, "name": n, "kind": "specialised", "nace_code": c, "parcels": k, "occupancy_pct": o}
            for p, n, c, k, o in [
                (27, "Gaziantep Ayakkabıcılar Sitesi", "15.20", 420, 95.0),
                (46, "Metal Mutfak Eşyaları İhtisas Bölgesi", "25.99", 80, 70.0),
                (55, "Bafra Medikal İhtisas OSB (planlanan)", "32.50", 60, 0.0),
                (61, "Yomra-Arsin Tersaneler Bölgesi", "30.11", 14, 85.0),
            ]
        ]
        tables["testing_labs"] += [
            {"plate_code": p, "nace_code": c, "name": n, "accredited": True}
            for p, c, n in [
                (19, "28.93", "Gıda makineleri test ve belgelendirme laboratuvarı"),
                (55, "32.50", "Medikal cihaz test laboratuvarı"),
                (61, "30.11", "Gemi malzemeleri test laboratuvarı"),
            ]
        ]

    # ---- consultation -------------------------------------------------------------------
    def consultation(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Stakeholder meeting records: mostly support for the cluster sector, with dissent."""
        rng = self.rng
        current = panel[panel.year == REFERENCE_YEAR]
        institutions = [
            ("Ticaret ve Sanayi Odası", "chamber"),
            ("Kalkınma Ajansı", "development agency"),
            ("Üniversite", "university"),
            ("Sanayiciler Derneği", "NGO"),
            ("Belediye", "municipality"),
            ("İhracatçı Birlikleri", "exporters' union"),
        ]
        stance_tr = {"support": "Destek", "neutral": "Tarafsız", "oppose": "Karşı"}
        rows = []
        for plate, cluster in PILOT_CLUSTER_CLASS.items():
            biggest = current[current.plate_code == plate].nlargest(1, "employment").nace_class.iloc[0]
            province = self.ref.province_name(plate)
            for i, (institution, kind) in enumerate(institutions):
                date = pd.Timestamp("2012-02-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
                stance = "oppose" if i == 4 and plate in (27, 46) else ("neutral" if i == 5 else "support")
                rows.append(
                    {
                        "province": province,
                        "date": date,
                        "institution": f"{province} {institution}",
                        "institution_type": kind,
                        "nace_code": cluster,
                        "stance": stance_tr[stance],
                        "note": "Kümelenme potansiyeli görüşüldü",
                    }
                )
            rows.append(
                {
                    "province": province,
                    "date": pd.Timestamp("2012-03-15"),
                    "institution": f"{province} Sanayiciler Derneği",
                    "institution_type": "NGO",
                    "nace_code": biggest,
                    "stance": "Destek",
                    "note": "En büyük sektör önerildi",
                }
            )
        return pd.DataFrame(rows)

    # ---- writing ------------------------------------------------------------------------
    def write(self, sources_dir: Path) -> dict[str, int]:
        """Write every source under ``sources_dir/<source>/``; return row counts."""
        panel = self.employment_panel()
        firms = self.registry_firms(panel)
        counts = {
            "sgk_employment": write_sgk(panel, self.ref, self.rng, sources_dir / "sgk_employment"),
            "exports_by_sector": write_exports(panel, self.ref, self.rng, sources_dir / "exports_by_sector"),
            "chamber_registry": write_registries(firms, self.ref, sources_dir / "chamber_registry"),
        }
        tables = self.agency_tables(panel)
        counts["agency_db"] = write_agency_db(tables, sources_dir / "agency_db" / "agency.sqlite")
        consultation = self.consultation(panel)
        target = sources_dir / "consultation" / "danisma_toplantilari.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        consultation.rename(columns=CONSULTATION_HEADERS).assign(
            Tarih=lambda f: f["Tarih"].dt.strftime("%d.%m.%Y")
        ).to_csv(target, index=False, sep=";")
        counts["consultation"] = len(consultation)
        counts["capacity_register"] = write_capacity_register(panel, self.ref, self.rng, sources_dir)
        counts["exporter_exports"] = write_exporter_exports(firms, self.ref, self.rng, sources_dir)
        counts["sector_turnover"] = write_sector_turnover(panel, self.ref, sources_dir)
        return counts


def _csv_bytes(frame: pd.DataFrame, sep: str, encoding: str, decimal: str = ".") -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=sep, decimal=decimal, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue().encode(encoding)


def write_sgk(panel: pd.DataFrame, ref: Reference, rng: np.random.Generator, target: Path) -> int:
    """One file per year (province rows) plus the published national totals."""
    target.mkdir(parents=True, exist_ok=True)
    names = ref.names_by_plate
    activity = dict(zip(ref.nace_classes.nace_class, ref.nace_classes.name_en, strict=True))
    rows = 0
    for year, group in panel.groupby("year"):
        out = pd.DataFrame(
            {
                "Yıl": year,
                "İl Kodu": group.plate_code,
                "İl": group.plate_code.map(names),
                "NACE Kodu": group.nace_class.str.replace(".", "", regex=False),
                "İşyeri Sayısı": group.establishments.astype(int),
                "Sigortalı Sayısı": group.employment.astype(int),
            }
        )
        (target / f"sgk_il_nace4_{year}.csv").write_bytes(_csv_bytes(out, ";", "utf-8"))
        rows += len(out)
    national = panel.groupby(["year", "nace_class"], as_index=False)[["establishments", "employment"]].sum()
    unallocated = 1 + rng.uniform(0.01, 0.04, len(national))  # employment not allocated to a province
    national["employment"] = np.round(national.employment * unallocated)
    national["establishments"] = np.round(national.establishments * unallocated)
    total = national.groupby("year", as_index=False)[["establishments", "employment"]].sum().assign(nace_class="C")
    national = pd.concat([national, total], ignore_index=True).sort_values(["year", "nace_class"])
    out = pd.DataFrame(
        {
            "Yıl": national.year,
            "İl Kodu": "",
            "İl": "TÜRKİYE",
            "NACE Kodu": national.nace_class.str.replace(".", "", regex=False),
            "Faaliyet": national.nace_class.map(activity).fillna("İmalat sanayi toplamı"),
            "İşyeri Sayısı": national.establishments.astype(int),
            "Sigortalı Sayısı": national.employment.astype(int),
        }
    )
    (target / "sgk_turkiye_toplam.csv").write_bytes(_csv_bytes(out, ";", "utf-8"))
    return rows + len(out)


def write_exports(panel: pd.DataFrame, ref: Reference, rng: np.random.Generator, target: Path) -> int:
    """Exports by province x exporter sector x year, thousand USD, one file per year."""
    target.mkdir(parents=True, exist_ok=True)
    sector_of = ref.exporter_sector_of_class()
    by_sector = (
        panel.assign(sector_id=panel.nace_class.map(sector_of))
        .groupby(["year", "plate_code", "sector_id"], as_index=False)
        .exports_usd.sum()
    )
    rows = 0
    for year, group in by_sector.groupby("year"):
        extra = []
        for plate, province in group.groupby("plate_code"):
            total = province.exports_usd.sum()
            extra.append(
                {
                    "year": year,
                    "plate_code": plate,
                    "sector_id": "unclassified",
                    "exports_usd": total * rng.uniform(0.01, 0.04),
                }
            )
            if rng.random() < 0.5:
                extra.append(
                    {
                        "year": year,
                        "plate_code": plate,
                        "sector_id": "fresh_fruit",
                        "exports_usd": total * rng.uniform(0.01, 0.1),
                    }
                )
        frame = pd.concat([group, pd.DataFrame(extra)], ignore_index=True).sort_values(["plate_code", "sector_id"])
        out = pd.DataFrame(
            {
                "Yıl": frame.year,
                "İl": frame.plate_code.map(ref.names_by_plate).str.upper().map(_tr_upper),
                "Sektör": [ref.exporter_sector_name(sid, year) for sid in frame.sector_id],
                "İhracat (Bin $)": (frame.exports_usd / 1000).round(2),
            }
        )
        (target / f"il_sektor_ihracat_{year}.csv").write_bytes(_csv_bytes(out, ";", "utf-8", decimal=","))
        rows += len(out)
    return rows


def _tr_upper(text: str) -> str:
    return text.replace("i", "İ").upper() if isinstance(text, str) else text


REGISTRY_HEADERS_TR = {
    "registry_no": "Sicil No",
    "firm_name": "Firma Ünvanı",
    "nace_code": "NACE Kodu",
    "committee": "Meslek Grubu",
    "province": "İl",
    "district": "İlçe",
    "employees": "Çalışan Sayısı",
    "founded": "Kuruluş Tarihi",
    "capital_try": "Sermaye",
    "turnover_try": "Ciro (TL)",
    "exporter": "İhracatçı",
    "capacity_report": "Kapasite Raporu",
}
REGISTRY_HEADERS_EN = {
    "registry_no": "Registry No",
    "firm_name": "Trade Name",
    "nace_code": "NACE Code",
    "committee": "Committee",
    "province": "Province",
    "district": "District",
    "employees": "Employees",
    "founded": "Founded",
    "capital_try": "Capital",
    "turnover_try": "Turnover",
    "exporter": "Exporter",
    "capacity_report": "Capacity Report",
}
NACE_FORMS = ("{c}", "{c}.01", "{d}", "{d}01", "{c}01")
CONSULTATION_HEADERS = {
    "province": "İl",
    "date": "Tarih",
    "institution": "Kurum",
    "institution_type": "Kurum Türü",
    "nace_code": "NACE Kodu",
    "stance": "Tutum",
    "note": "Not",
}
# The member-list layout chambers send (docs/methodology.md §1.4): ten columns, no province, no turnover.
DOCUMENTED_COLUMNS = [
    "registry_no", "firm_name", "nace_code", "committee", "district", "employees", "founded",
    "capital_try", "exporter", "capacity_report",
]  # fmt: skip
TRABZON_COLUMNS = [  # Trabzon's registry: tab-separated, the documented columns in another order
    "firm_name", "registry_no", "district", "nace_code", "employees", "capital_try", "exporter",
    "founded", "capacity_report", "committee",
]  # fmt: skip
# In the lists without a province column, the malformed row names a district of another province.
FOREIGN_DISTRICT = {19: "Bafra", 61: "Ardeşen"}
SHARED_DISTRICT = {61: "Köprübaşı"}  # a district name Trabzon shares with Manisa: the other rows decide


def _registry_frame(firms: pd.DataFrame, ref: Reference, plate: int, rng: np.random.Generator) -> pd.DataFrame:
    """One chamber's members as the chamber writes them: mixed code forms, names and dates."""
    group = firms[firms.plate_code == plate].reset_index(drop=True)
    forms = rng.choice(NACE_FORMS, len(group))
    nace = [f.format(c=c, d=c.replace(".", "")) for f, c in zip(forms, group.nace_class, strict=True)]
    name = ref.province_name(plate)
    province = rng.choice([name, _tr_upper(name), str(plate)], len(group), p=[0.6, 0.3, 0.1])
    if plate == 46:
        province = np.where(rng.random(len(group)) < 0.5, "K.Maraş", province)
    founded = [d.strftime("%d.%m.%Y") if rng.random() < 0.85 else d.strftime("%Y-%m-%d") for d in group.founded]
    frame = pd.DataFrame(
        {
            "registry_no": group.registry_no,
            "firm_name": group.firm_name,
            "nace_code": nace,
            "committee": group.nace_class.str[:2].astype(int) - 9,
            "province": province,
            "district": group.district,
            "employees": group.employees.astype("Int64").astype(str),
            "founded": founded,
            "capital_try": group.capital_try,
            "turnover_try": group.turnover_try.round(2),
            "exporter": np.where(group.exporter, "E", "H"),
            "capacity_report": np.where(group.capacity_report, "Var", "Yok"),
        }
    )
    blank = rng.random(len(frame)) < 0.01  # blank employee counts, as seen in real registries
    frame.loc[blank, "employees"] = ""
    return frame


def _plant_errors(frame: pd.DataFrame, plate: int) -> pd.DataFrame:
    """Malformed rows that real registries contain; the pipeline must quarantine them."""
    bad = frame.iloc[:3].copy()
    bad["registry_no"] = [f"H{plate}{i}" for i in range(3)]
    bad["nace_code"] = ["99.99", bad.nace_code.iloc[1], bad.nace_code.iloc[2]]
    bad["employees"] = [bad.employees.iloc[0], "-5", bad.employees.iloc[2]]
    bad["province"] = [bad.province.iloc[0], bad.province.iloc[1], "Atlantis"]
    return pd.concat([frame, bad], ignore_index=True)


def _plant_duplicates(frame: pd.DataFrame, plate: int) -> pd.DataFrame:
    """Kahramanmaraş lists three firms twice, under their main and a secondary NACE code."""
    if plate != 46:
        return frame
    twice = frame.iloc[10:13].copy()
    twice["nace_code"] = "25.71"
    twice["employees"] = "1"
    return pd.concat([frame, twice], ignore_index=True)


def _format_decimal_comma(values: pd.Series) -> pd.Series:
    return values.map(lambda v: f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", "."))


def write_registries(firms: pd.DataFrame, ref: Reference, target: Path) -> int:
    """The five chambers' member lists, each in the layout that chamber uses. Çorum and Trabzon
    send exactly the documented ten columns (no province, no turnover)."""
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED + 1)
    rows = 0
    for plate in PILOTS:
        frame = _plant_duplicates(_plant_errors(_registry_frame(firms, ref, plate, rng), plate), plate)
        if plate in FOREIGN_DISTRICT:
            frame.loc[len(frame) - 1, "district"] = FOREIGN_DISTRICT[plate]
        if plate in SHARED_DISTRICT:
            frame.loc[20:29, "district"] = SHARED_DISTRICT[plate]
        rows += len(frame)
        if plate == 19:  # Çorum: Windows-1254, ';', decimal commas with dot thousands, documented layout
            frame = frame.assign(capital_try=_format_decimal_comma(frame.capital_try))
            data = _csv_bytes(frame[DOCUMENTED_COLUMNS].rename(columns=REGISTRY_HEADERS_TR), ";", "cp1254")
            (target / "corum_tso_uye_listesi_2022.csv").write_bytes(data)
        elif plate == 46:  # Kahramanmaraş: UTF-8 with BOM, ';', decimal commas
            frame = frame.assign(
                capital_try=_format_decimal_comma(frame.capital_try),
                turnover_try=_format_decimal_comma(frame.turnover_try),
            )
            data = _csv_bytes(frame.rename(columns=REGISTRY_HEADERS_TR), ";", "utf-8-sig")
            (target / "kmtso_uyeler.csv").write_bytes(data)
        elif plate == 55:  # Samsun: UTF-8, ',', English headers, decimal point
            columns = [c for c in REGISTRY_HEADERS_EN if c != "committee"]
            data = _csv_bytes(frame[columns].rename(columns=REGISTRY_HEADERS_EN), ",", "utf-8")
            (target / "samsun_tso_members.csv").write_bytes(data)
        elif plate == 61:  # Trabzon: tab-separated, the documented columns in another order
            data = _csv_bytes(frame[TRABZON_COLUMNS].rename(columns=REGISTRY_HEADERS_TR), "\t", "utf-8")
            (target / "trabzon_tso_uyeler.tsv").write_bytes(data)
        else:  # Gaziantep: Excel with a merged title row above the header
            _write_registry_xlsx(
                frame.rename(columns=REGISTRY_HEADERS_TR),
                target / "gaib_uye_listesi_2022.xlsx",
                "GAZİANTEP - ÜYE FİRMA LİSTESİ (2022)",
            )
    return rows


def _write_registry_xlsx(frame: pd.DataFrame, path: Path, title: str) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Üyeler"
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(frame.columns))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(list(frame.columns))
    for record in frame.itertuples(index=False):
        sheet.append([_excel_value(v) for v in record])
    # the chamber's trailing total row: employees summed over the listed firms
    employees = pd.to_numeric(frame["Çalışan Sayısı"], errors="coerce").sum()
    total = ["" for _ in frame.columns]
    total[list(frame.columns).index("Firma Ünvanı")] = "TOPLAM"
    total[list(frame.columns).index("Çalışan Sayısı")] = int(employees)
    sheet.append([])
    sheet.append(total)
    workbook.save(path)
    _fix_zip_times(path, XLSX_MOMENT)


XLSX_MOMENT = (2022, 12, 31, 0, 0, 0)  # the list's date: the file's creation and modification time


def _fix_zip_times(path: Path, moment: tuple[int, ...]) -> None:
    """Rewrite the .xlsx with ``moment`` as its documented creation and modification time and as
    every zip entry's time: openpyxl stamps both with the time of saving, and the same seed must
    give the same bytes."""
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*moment).encode()
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            target.writestr(zipfile.ZipInfo(name, date_time=moment), data, compress_type=zipfile.ZIP_DEFLATED)


def _excel_value(value: object) -> object:
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 6:
        return int(value)
    return value


def write_agency_db(tables: dict[str, pd.DataFrame], path: Path) -> int:
    """The agencies' relational database, as an SQLite file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        for name, frame in tables.items():
            frame.to_sql(name, connection, index=False)
    return sum(len(f) for f in tables.values())


def write_capacity_register(panel: pd.DataFrame, ref: Reference, rng: np.random.Generator, sources_dir: Path) -> int:
    """TOBB capacity register: producers and capacity by province x NACE division (product
    group); the capacity is masked as '*' where three or fewer producers exist."""
    current = panel[panel.year == REFERENCE_YEAR].assign(division=lambda f: f.nace_class.str[:2])
    by_division = current.groupby(["plate_code", "division"], as_index=False).establishments.sum()
    producers = np.maximum((by_division.establishments * rng.uniform(0.05, 0.25, len(by_division))).round(), 1)
    capacity = (producers * rng.lognormal(8, 1, len(by_division))).round(-1)
    division_names = ref.nace.set_index("code").name_en
    out = pd.DataFrame(
        {
            "İl": by_division.plate_code.map(ref.names_by_plate),
            "NACE Bölümü": by_division.division,
            "Ürün Grubu": by_division.division.map(division_names),
            "Üretici Sayısı": producers.astype(int),
            "Kapasite": np.where(producers <= 3, "*", capacity.astype(int).astype(str)),
            "Birim": "ton/yıl",
        }
    )
    target = sources_dir / "capacity_register" / "tobb_kapasite_2022.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_csv_bytes(out, ";", "utf-8"))
    return len(out)


TURNOVER_YEARS = range(REFERENCE_YEAR - 4, REFERENCE_YEAR + 1)
SECTOR_TURNOVER_PROVINCES = {19: (), 61: ("30",)}  # plate -> divisions also given class by class


def write_sector_turnover(
    panel: pd.DataFrame, ref: Reference, sources_dir: Path, provinces: dict[int, tuple[str, ...]] | None = None
) -> int:
    """The statistics office's turnover by province x NACE division x year (TRY), for the pilots
    whose member lists carry no turnover; some divisions also class by class. Cells of fewer
    than three workplaces are suppressed ('C'). Own random stream: the other files stay as
    they were."""
    provinces = SECTOR_TURNOVER_PROVINCES if provinces is None else provinces
    rng = np.random.default_rng(SEED + 7)
    rates = ref.usd_try_rates
    rows = panel[panel.plate_code.isin(provinces) & panel.year.isin(TURNOVER_YEARS) & panel.employment.gt(0)]
    per_employee = rows.nace_class.str[:2].map(TURNOVER_PER_EMPLOYEE).fillna(TURNOVER_DEFAULT)
    per_employee = per_employee.where(rows.nace_class.ne("10.61"), per_employee * 2.2)
    price = rows.year.map(rates) / rates[REFERENCE_YEAR]
    rows = rows.assign(
        division=rows.nace_class.str[:2],
        turnover=rows.employment * per_employee * price * rng.lognormal(0, 0.15, len(rows)),
    )
    divisions = rows.groupby(["year", "plate_code", "division"], as_index=False)[["turnover", "establishments"]].sum()
    divisions = divisions.rename(columns={"division": "code"})
    classes = rows[[d in provinces[p] for p, d in zip(rows.plate_code, rows.division, strict=True)]]
    classes = classes.rename(columns={"nace_class": "code"})[
        ["year", "plate_code", "code", "turnover", "establishments"]
    ]
    out = pd.concat([divisions, classes], ignore_index=True).sort_values(["year", "plate_code", "code"])
    names = ref.nace.set_index("code").name_en
    turnover = np.where(out.establishments < 3, "C", out.turnover.round(-3).map(lambda v: f"{v:.0f}"))
    frame = pd.DataFrame(
        {
            "Yıl": out.year,
            "İl": out.plate_code.map(ref.names_by_plate),
            "NACE Rev.2": out.code,
            "Faaliyet": out.code.map(names),
            "Ciro (TL)": turnover,
        }
    )
    target = sources_dir / "sector_turnover" / "tuik_il_nace_ciro.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_csv_bytes(frame, ";", "utf-8"))
    return len(frame)


def write_exporter_exports(firms: pd.DataFrame, ref: Reference, rng: np.random.Generator, sources_dir: Path) -> int:
    """The exporters' union (GAİB) members' exports in the reference year, firm by firm, USD."""
    members = firms[firms.plate_code.isin([27, 46]) & firms.exporter].reset_index(drop=True)
    per_employee = members.nace_class.str[:2].map(EXPORTS_PER_EMPLOYEE).fillna(EXPORTS_DEFAULT)
    exports = (members.employees * per_employee * rng.lognormal(0, 0.5, len(members))).round(2)
    out = pd.DataFrame(
        {
            "Yıl": REFERENCE_YEAR,
            "Sicil No": members.registry_no,
            "Firma Ünvanı": members.firm_name,
            "İl": members.plate_code.map(ref.names_by_plate),
            "NACE Kodu": members.nace_class,
            "İhracat (USD)": exports,
        }
    )
    target = sources_dir / "exporter_exports" / "gaib_uye_ihracat_2022.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_csv_bytes(out, ";", "utf-8", decimal=","))
    return len(out)


def generate(data_dir: Path, seed: int = SEED) -> dict[str, int]:
    """Regenerate the shipped sample under ``data_dir/sources``."""
    generator = SampleGenerator(Reference(data_dir / "reference"), seed)
    return generator.write(data_dir / "sources")
