"""``kume backtest``: does the method pick winners? The backtests of methodology.md §8 on the
data a run reads (the shipped data, or ``--data``), without Prefect: the sources the model reads
are ingested and validated by the run's own stages into a temporary work folder, then every
origin year is recomputed from its own data and compared with what followed."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from kume.settings import Settings
from schemas.parameters import SelectionParameters
from tasks import stages
from tasks.datasets.backtest import build_backtest
from tasks.errors import printable
from tasks.methods.backtest import HORIZONS, backtest, summary
from tasks.methods.model import MODEL_SOURCES, ModelInputs
from tasks.publish.snapshot import to_table
from tasks.reference import Reference
from tasks.store import Paths


def run(
    data_dir: Path | None = None,
    horizons: list[int] | tuple[int, ...] = HORIZONS,
    out_dir: Path | None = None,
    parameters: SelectionParameters | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The backtest table of the data in ``data_dir`` (the settings' data folder by default:
    ``KUME_DATA_DIR``, else the shipped ``data/``) with the run's default parameters unless
    given; written to ``out_dir/backtest.parquet`` (the published dataset's contract) when
    ``out_dir`` is given. A national source with a file that cannot be read stops it, as it
    stops a run (``NationalInputError``)."""
    settings = Settings(data_dir=data_dir.resolve()) if data_dir else Settings()
    parameters = parameters or SelectionParameters()
    progress = progress or (lambda message: print(message, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="kume-backtest-") as work:
        paths = Paths(
            settings.sources_dir,
            settings.reference_dir,
            settings.expectations_dir,
            Path(work) / "work",
            settings.resolved_agency_db_url(),
            inbox_dir=settings.inbox_dir,
        )
        sources = {}
        for source in MODEL_SOURCES:
            ingested = stages.ingest(source, paths, lambda _: None)  # a file's problems: in its record
            for error in ingested["errors"]:
                progress(f"{source}: cannot read {printable(error)}")
            sources[source] = stages.validate_source(source, ingested, paths, progress)
        stages.check_national_sources(sources)
        inputs = ModelInputs.read(stages.accepted_paths(sources), Reference(settings.reference_dir))
        table = backtest(inputs, parameters, horizons, progress=progress)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(to_table(build_backtest(table), "backtest"), out_dir / "backtest.parquet")
    return table


def report(table: pd.DataFrame) -> list[str]:
    """What ``kume backtest`` prints: the summary table, and how to read it."""
    return [
        *summary(table),
        "P@k: share of entries among each province's k best-ranked absent sectors; PR-AUC: average precision over",
        "all provinces' absent sectors pooled. growth: mean ln(e(t0+h)/e(t0)); vs matched: less that of the nearest",
        "sector of the same province on size and LQ at t0; vs shift-share: less the sector's national ln(n1/n0).",
        "Method and caveats: docs/methodology.md §8.",
    ]
