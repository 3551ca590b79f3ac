"""The names the published datasets carry next to their codes: the province's (Turkish, as
the reference table writes it), the NACE class's and the programme cluster's (English). Every
builder takes them from here, so a name column means the same in every dataset. Turkish
sector names are a concern of the reports, not of the data."""

from __future__ import annotations

import pandas as pd

from tasks.reference import Reference


def with_province(frame: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """``frame`` with ``province``: the name of its ``plate_code``."""
    return frame.assign(province=frame.plate_code.map(ref.names_by_plate))


def sector_names(ref: Reference, sets: pd.DataFrame | None = None) -> pd.DataFrame:
    """sector_code -> ``sector_name``, the NACE class's English name, and ``cluster_name``, the
    name of the programme's cluster whose main class it is (null for any other class). With
    ``sets`` (the ``cluster_definitions`` of a run scoring data-driven clusters, §7), each
    cluster id is a sector too, named by its cluster's name."""
    names = ref.nace_classes[["nace_class", "name_en"]].rename(
        columns={"nace_class": "sector_code", "name_en": "sector_name"}
    )
    if sets is not None:
        named = sets.drop_duplicates("cluster_id")
        names = pd.concat(
            [names, pd.DataFrame({"sector_code": named.cluster_id, "sector_name": named.cluster_name})],
            ignore_index=True,
        )
    clusters = ref.cluster_sectors.set_index("sector_code").name_en
    return names.assign(cluster_name=names.sector_code.map(clusters))


def with_sector_names(
    frame: pd.DataFrame, ref: Reference, clusters: bool = False, sets: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``frame`` with ``sector_name`` of its ``sector_code`` (null for '*', the province's sums),
    and ``cluster_name`` too with ``clusters``: joined from ``sector_names`` (with ``sets``, the
    data-driven clusters' names too), their one home."""
    names = sector_names(ref, sets)
    names = (names if clusters else names.drop(columns="cluster_name")).set_index("sector_code")
    number, codes = pd.factorize(frame.sector_code)  # each distinct code looked up once; -1: none
    found = names.reindex(pd.Index(codes).append(pd.Index([None], dtype=codes.dtype)))  # the last row: no code
    return pd.concat([frame, found.iloc[number].set_axis(frame.index)], axis=1)


def class_names(codes: pd.Series, ref: Reference) -> pd.Series:
    """The NACE class name of each code of ``codes`` (a related or a supporting sector: a code
    column other than ``sector_code``), from ``sector_names``; null where there is no code. Each
    distinct code is looked up once (a dataset repeats few codes over many rows)."""
    number, distinct = pd.factorize(codes)
    names = pd.Series(distinct).map(sector_names(ref).set_index("sector_code").sector_name)
    return pd.Series(names.array.take(number, allow_fill=True), index=codes.index, name=codes.name)


def names_before_schema_4(frame: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """A scores or selection frame published before schema 4.0, with today's names. Those
    publications wrote the programme cluster's name in ``sector_name`` (and
    ``largest_sector_name``) where the class has one: that name moves to ``cluster_name``
    (``largest_cluster_name``) when it differs from the class's name, and the class's name
    takes its place. A frame of schema 4.0 or later, or without sector names, is returned as it is."""
    if "cluster_name" in frame or "sector_name" not in frame:
        return frame
    names = sector_names(ref).set_index("sector_code").sector_name
    frame = frame.copy()
    pairs = [("sector_code", "sector_name", "cluster_name")]
    if "largest_sector_code" in frame:
        pairs.append(("largest_sector_code", "largest_sector_name", "largest_cluster_name"))
    for code, name, cluster in pairs:
        class_name = frame[code].map(names)
        frame[cluster] = frame[name].where(frame[name].notna() & frame[name].ne(class_name))
        frame[name] = class_name.fillna(frame[name])
    return frame
