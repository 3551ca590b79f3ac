"""The generators' planted co-location groups and entry dynamics (``plant_groups`` in
``samples/sample_data.py``, data/README.md): real, documented classes apart from the pilots and the
expert lists; members that co-locate; entries whose rate rises with the share of the group a
province holds; the pilots untouched; and §7 recovering the groups on the national workload."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from kume.settings import PROJECT_ROOT
from samples.national_data import national_panel
from samples.sample_data import (
    PILOTS,
    PLANTED_GROUPS,
    PLANTING_STREAM,
    SEED,
    UNPLANTED,
    plant_groups,
    planted_layout,
)
from tasks.methods.relatedness import presence, revealed_comparative_advantage
from tasks.reference import Reference

MEMBERS = [c for members in PLANTED_GROUPS.values() for c in members]
GROUP_OF = {c: group for group, members in PLANTED_GROUPS.items() for c in members}


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(PROJECT_ROOT / "data" / "reference")


@pytest.fixture(scope="module")
def national(reference) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """The national workload's panel (2008-2022) as a dense province x class x year array."""
    panel = national_panel(reference, np.random.default_rng([SEED, 1]))
    plates = reference.provinces.plate_code.to_numpy()
    codes = reference.nace_classes.nace_class.to_numpy()
    years = sorted(panel.year.unique())
    employment = panel.employment.to_numpy().reshape(len(plates), len(codes), len(years))
    assert (panel.nace_class.to_numpy()[:: len(years)][: len(codes)] == codes).all()  # the array's order
    return employment, plates, codes, years


def layout(reference):
    return planted_layout(reference.provinces.plate_code.to_numpy(), np.random.default_rng([SEED, PLANTING_STREAM]))


# ---- the groups and their documentation ----------------------------------------------------


def test_groups_are_real_classes_apart_from_the_pilots_and_the_expert_lists(reference):
    assert len(PLANTED_GROUPS) == 8
    assert all(3 <= len(members) <= 6 for members in PLANTED_GROUPS.values())
    assert len(MEMBERS) == len(set(MEMBERS))  # disjoint groups
    assert set(MEMBERS) <= set(reference.nace_classes.nace_class)
    pilot_classes = {c for specs in PILOTS.values() for c in specs}
    expert = pd.read_csv(PROJECT_ROOT / "data" / "reference" / "cluster_sectors.csv", dtype=str)
    expert_classes = set(expert.sector_code) | {c for r in expert.related_classes.dropna() for c in r.split()}
    assert not set(MEMBERS) & pilot_classes
    assert not set(MEMBERS) & expert_classes


def test_every_group_its_classes_and_its_provinces_are_documented(reference):
    readme = (PROJECT_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    homes, joining = layout(reference)
    names = reference.names_by_plate
    for group, members in PLANTED_GROUPS.items():
        rows = re.findall(rf"^\| {group} \|([^|]*)\|([^|]*)\|([^|]*)\|$", readme, flags=re.MULTILINE)
        assert len(rows) == 1, group
        classes, home_names, joiner_names = (cell.strip().split(", ") for cell in rows[0])
        assert classes == list(members)
        assert set(home_names) == {names[p] for p in homes[group]}, group
        assert set(joiner_names) == {names[p] for p in joining[group]}, group
    assert "p = 0.002 + 0.35 · s" in readme


def test_homes_are_disjoint_and_no_group_is_planted_in_a_pilot_province_or_istanbul(reference):
    homes, joining = layout(reference)
    all_homes = [p for plates in homes.values() for p in plates]
    assert len(all_homes) == len(set(all_homes))
    assert all(4 <= len(plates) <= 7 for plates in homes.values())
    assert all(3 <= len(plates) <= 5 for plates in joining.values())
    joiners = {p for plates in joining.values() for p in plates}
    assert not joiners & set(all_homes)
    assert not (joiners | set(all_homes)) & {*PILOTS, *UNPLANTED}


def test_the_shipped_sample_carries_the_groups(reference):
    """The committed SGK file of 2022: every home province holds every class of its group
    (RCA >= 1 and at least 10 employees)."""
    path = PROJECT_ROOT / "data" / "sources" / "sgk_employment" / "sgk_il_nace4_2022.csv"
    sgk = pd.read_csv(path, sep=";", dtype={"NACE Kodu": str})
    sgk["nace_class"] = sgk["NACE Kodu"].str[:2] + "." + sgk["NACE Kodu"].str[2:]
    matrix = sgk.pivot_table(index="İl Kodu", columns="nace_class", values="Sigortalı Sayısı", fill_value=0)
    rca = pd.DataFrame(revealed_comparative_advantage(matrix.to_numpy()), matrix.index, matrix.columns)
    homes, _ = layout(reference)
    for group, members in PLANTED_GROUPS.items():
        cells = list(members)
        assert (rca.loc[list(homes[group]), cells] >= 1).all().all(), group
        assert (matrix.loc[list(homes[group]), cells] >= 10).all().all(), group


# ---- plant_groups on a synthetic panel -----------------------------------------------------


@pytest.fixture(scope="module")
def planted(reference):
    """A random unplanted panel (81 provinces x 230 classes x 8 years, about half the cells
    absent), planted."""
    rng = np.random.default_rng(7)
    plates = reference.provinces.plate_code.to_numpy()
    codes = reference.nace_classes.nace_class.to_numpy()
    base = rng.lognormal(4, 1.5, (len(plates), len(codes), 1)) * (rng.random((len(plates), len(codes), 1)) < 0.5)
    before = np.round(base * 1.03 ** np.arange(8))
    after, planting = plant_groups(before, plates, codes, np.random.default_rng([SEED, PLANTING_STREAM]))
    return before, after, planting


def test_the_pilot_provinces_and_the_other_classes_keep_their_figures(planted):
    before, after, planting = planted
    pilots = np.isin(planting.plates, list(PILOTS))
    members = np.isin(planting.codes, MEMBERS)
    assert (after[pilots] == before[pilots]).all()
    assert (after[:, ~members] == before[:, ~members]).all()
    assert not planting.held[pilots | np.isin(planting.plates, UNPLANTED)].any()


def test_national_class_totals_stay_and_every_held_cell_is_present(planted):
    before, after, planting = planted
    members = np.isin(planting.codes, MEMBERS)
    assert after[:, members].sum(axis=0) == pytest.approx(before[:, members].sum(axis=0), rel=0.01)
    for year in range(after.shape[2]):
        present = presence(after[:, :, year], 10).astype(bool)
        held = planting.held[:, :, year]
        assert present[held].all()
        outside = ~held & members & ~np.isin(planting.plates, list(PILOTS))[:, None]
        assert not present[outside].any()  # elsewhere (pilots aside) a member is small


def test_homes_hold_everything_and_held_cells_stay_held(planted, reference):
    _, _, planting = planted
    homes, _ = layout(reference)
    for group, plates in homes.items():
        share = planting.group_share(group)
        assert (share[np.isin(planting.plates, plates)] == 1).all()
    assert (np.diff(planting.held.astype(int), axis=2) >= 0).all()  # no exits
    first = planting.entered[:, :, 1:] == (planting.held[:, :, 1:] & ~planting.held[:, :, :-1])
    assert first.all() and not planting.entered[:, :, 0].any()


def test_the_draws_do_not_depend_on_the_input(planted, reference):
    """The planting's stream is dense: another panel gets the same holdings and entries."""
    _, _, planting = planted
    other = np.ones((len(planting.plates), len(planting.codes), 8)) * 50
    _, again = plant_groups(other, planting.plates, planting.codes, np.random.default_rng([SEED, PLANTING_STREAM]))
    assert (again.held == planting.held).all()


# ---- the national workload -----------------------------------------------------------------


def test_members_co_locate_across_the_provinces(national):
    """Correlation across the 81 provinces of log(1 + LQ) in 2022: high within a group, about
    zero between groups."""
    employment, _, codes, _ = national
    columns = [int(np.flatnonzero(codes == c)[0]) for c in MEMBERS]
    values = np.log1p(np.nan_to_num(revealed_comparative_advantage(employment[:, :, -1])))[:, columns]
    correlation = np.corrcoef(values.T)
    same = np.array([[GROUP_OF[a] == GROUP_OF[b] for b in MEMBERS] for a in MEMBERS])
    within = correlation[same & ~np.eye(len(MEMBERS), dtype=bool)]
    between = correlation[~same]
    assert within.mean() > 0.6 and within.min() > 0.3
    assert abs(between.mean()) < 0.1
    assert within.mean() - between.mean() > 0.6


def test_entries_are_the_likelier_the_more_of_the_group_a_province_holds(national):
    """Measured on presence (RCA >= 1, >= 10 employees): an entry is a class absent the year
    before and present that year and the next; s the share of its group present the year
    before. The planted law is p = 0.002 + 0.35 s."""
    employment, plates, codes, years = national
    present = np.stack([presence(employment[:, :, y], 10) for y in range(len(years))], axis=2).astype(bool)
    outside = ~np.isin(plates, list(PILOTS))
    counts = {"none": [0, 0], "up to 1/3": [0, 0], "up to 2/3": [0, 0], "more": [0, 0]}
    for members in PLANTED_GROUPS.values():
        cols = np.isin(codes, members)
        for year in range(1, len(years) - 1):
            share = present[:, cols, year - 1].mean(axis=1)
            missing = ~present[:, cols, year - 1] & outside[:, None]
            entries = missing & present[:, cols, year] & present[:, cols, year + 1]
            bins = np.select([share == 0, share <= 1 / 3, share <= 2 / 3], ["none", "up to 1/3", "up to 2/3"], "more")
            for name in counts:
                counts[name][0] += missing[bins == name].sum()
                counts[name][1] += entries[bins == name].sum()
    rates = {name: entries / missing for name, (missing, entries) in counts.items()}
    assert rates["none"] < 0.005
    assert rates["none"] < rates["up to 1/3"] < rates["up to 2/3"] < rates["more"]
    assert rates["more"] > 0.2 and rates["up to 1/3"] > 10 * rates["none"]
    assert sum(entries for _, entries in counts.values()) > 150


def test_clusters_recover_the_planted_groups_on_the_national_workload(national):
    """§7 (tasks.methods.colocation.define_clusters) on the national workload's latest window:
    the planted classes fall into their groups (adjusted Rand index >= 0.9 over those classes)."""
    from tasks.methods.colocation import define_clusters

    employment, plates, codes, years = national
    facts = pd.DataFrame(
        {
            "region_code": np.repeat(plates, len(codes) * len(years)).astype(str),
            "sector_code": np.tile(np.repeat(codes, len(years)), len(plates)),
            "year": np.tile(years, len(plates) * len(codes)),
            "employment": employment.ravel(),
        }
    )
    definitions = define_clusters(facts, end_year=years[-1], stability=False)
    cluster_of = definitions.members.set_index("sector_code").cluster_id
    assert adjusted_rand_score([GROUP_OF[c] for c in MEMBERS], cluster_of[MEMBERS].tolist()) >= 0.9
