"""The ``kume`` command: a thin face over the same functions the flows call."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from kume.embedded_server import prefect_server_for_this_run
from kume.prefect_env import configure_prefect
from kume.settings import PROJECT_ROOT, Settings, use_settings
from schemas.parameters import ClusterParameters, RelatednessParameters
from tasks.sources import ALL_SOURCES

if TYPE_CHECKING:
    from schemas.parameters import CriteriaWeights, RunRequest


def parse_weights(text: str) -> CriteriaWeights:
    """``0.4,0.2,0.2,0.2`` -> the four criteria weights; anything else is refused in one line
    that says what is wrong and what is expected."""
    from schemas.parameters import CriteriaWeights

    expected = "four shares 'economic_impact,demand,networking,factor_conditions', each 0-1, summing to 1"
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != len(CriteriaWeights.model_fields):
        raise ValueError(f"--weights {text!r} has {len(parts)} value(s); expected {expected}")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"--weights: {part!r} is not a number; expected {expected}") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"--weights: {part} is not a share between 0 and 1; expected {expected}")
        values.append(value)
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"--weights {text!r} sum to {sum(values):g}; expected {expected}")
    return CriteriaWeights(**dict(zip(CriteriaWeights.model_fields, values, strict=True)))


def one_line(error: ValidationError) -> str:
    """A pydantic error as one line: each problem as 'field: message'."""
    problems = []
    for problem in error.errors():
        where = ".".join(map(str, problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def _values_may_start_with_a_dash(argv: list[str]) -> list[str]:
    """``--weights -0.5,...`` would be taken for an option: join such a value to its flag."""
    joined, rest = [], list(argv)
    while rest:
        token = rest.pop(0)
        if token == "--weights" and rest and rest[0].startswith("-"):
            token = f"--weights={rest.pop(0)}"
        joined.append(token)
    return joined


def main(argv: list[str] | None = None) -> int:
    argv = _values_may_start_with_a_dash(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="kume", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the nightly selection flow on the input files")
    run.add_argument("--provinces", nargs="*", help="province names or plate codes (default: all 81)")
    run.add_argument("--reference-year", type=int, help="default: the latest year in the data")
    run.add_argument(
        "--growth-years",
        type=int,
        nargs="+",
        default=[5, 3, 10],
        help="spans of CAGR and shift-share in years; the first is scored (default: 5 3 10)",
    )
    run.add_argument("--weights", help="criteria weights 'economic_impact,demand,networking,factor_conditions'")
    run.add_argument("--out", type=Path, help="output root (default: out/, or KUME_OUT_DIR)")
    run.add_argument("--data", type=Path, help="data folder (default: data/, or KUME_DATA_DIR)")
    run.add_argument("--force", action="store_true", help="recompute everything, ignoring the caches")
    run.add_argument("--preview", action="store_true", help="compute without publishing (written to <out>/previews)")
    run.add_argument("--reason", help="why this run: recorded in the manifest")
    run.add_argument("--language", choices=["tr", "en"], default="tr", help="language of the HTML reports")
    run.add_argument(
        "--candidates",
        choices=["class", "cluster"],
        default="class",
        help="score NACE classes (default) or the data-driven clusters of methodology §7",
    )
    run.add_argument("--backtest", action="store_true", help="also run the backtest of methodology §8 (slower)")

    indicators = commands.add_parser(
        "indicators", help="compute the indicators and classifications on your own facts table (any country)"
    )
    indicators.add_argument(
        "facts",
        type=Path,
        help="CSV or Parquet: region_code, sector_code, year, employment, "
        "establishments [, exports, turnover, sector_name]",
    )
    indicators.add_argument("--region-totals", type=Path, help="region_code, year, employment [, ...]")
    indicators.add_argument("--national-totals", type=Path, help="sector_code ('*' = universe), year, employment")
    indicators.add_argument("--universe", type=Path, help="file of sector codes forming the reference universe")
    indicators.add_argument("--growth-years", type=int, nargs="+", default=[5], help="CAGR spans (default: 5)")
    indicators.add_argument("--out", type=Path, required=True, help="output folder")

    defaults = RelatednessParameters()
    relatedness = commands.add_parser(
        "relatedness", help="relatedness, complexity and opportunities on your own facts table (any country)"
    )
    relatedness.add_argument("facts", type=Path, help="CSV or Parquet: region_code, sector_code, year, employment")
    relatedness.add_argument("--universe", type=Path, help="file of sector codes to keep (default: every sector)")
    relatedness.add_argument(
        "--min-employment",
        type=float,
        default=defaults.min_employment,
        help=f"minimum window-average employment of a present sector (default: {defaults.min_employment:g})",
    )
    relatedness.add_argument(
        "--window",
        type=int,
        default=defaults.window,
        help=f"years averaged, ending in each year (default: {defaults.window})",
    )
    relatedness.add_argument(
        "--leave-one-out", action="store_true", help="each region's proximities computed without that region"
    )
    relatedness.add_argument("--out", type=Path, required=True, help="output folder")

    cluster_defaults = ClusterParameters()
    clusters = commands.add_parser(
        "clusters", help="cluster definitions from co-location on your own facts table (any country)"
    )
    clusters.add_argument("facts", type=Path, help="CSV or Parquet: region_code, sector_code, year, employment")
    clusters.add_argument("--universe", type=Path, help="file of sector codes to keep (default: every sector)")
    clusters.add_argument(
        "--window",
        type=int,
        default=cluster_defaults.window,
        help=f"years the co-location measures are averaged over (default: {cluster_defaults.window})",
    )
    clusters.add_argument("--year", type=int, help="last year of the window (default: the table's last year)")
    clusters.add_argument(
        "--min-employment",
        type=float,
        default=cluster_defaults.min_employment,
        help=f"minimum employment of a present sector, for proximity (default: {cluster_defaults.min_employment:g})",
    )
    clusters.add_argument(
        "--min-clusters",
        type=int,
        default=cluster_defaults.min_clusters,
        help=f"fewest clusters searched (default: {cluster_defaults.min_clusters}; cut to what the sectors allow)",
    )
    clusters.add_argument(
        "--max-clusters",
        type=int,
        default=cluster_defaults.max_clusters,
        help=f"most clusters searched (default: {cluster_defaults.max_clusters}; cut to what the sectors allow)",
    )
    clusters.add_argument("--out", type=Path, required=True, help="output folder")

    backtest = commands.add_parser(
        "backtest", help="does the method pick winners? backtests on earlier years of the data (methodology §8)"
    )
    backtest.add_argument("--data", type=Path, help="data folder (default: data/, or KUME_DATA_DIR)")
    backtest.add_argument(
        "--horizons", type=int, nargs="+", default=[3, 5], help="years from each origin to the outcome (default: 3 5)"
    )
    backtest.add_argument("--out", type=Path, help="also write the backtest dataset here (backtest.parquet)")

    check = commands.add_parser("check", help="validate input files of one source without running the pipeline")
    check.add_argument("--source", required=True, choices=ALL_SOURCES, help="which source the files are")
    check.add_argument("files", type=Path, nargs="+", help="the files to check")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    check.add_argument(
        "--province",
        help="member lists: the province (name or plate code) when neither a province column, the districts, "
        "the folder nor a chamber in the file name tells it",
    )

    serve = commands.add_parser(
        "serve", help="the local Prefect stack: server, work pool, deployments and a worker (make serve)"
    )
    serve.add_argument("--host", default=os.environ.get("KUME_SERVE_HOST", "127.0.0.1"), help="server bind address")
    serve.add_argument("--port", type=int, default=int(os.environ.get("KUME_SERVE_PORT", "4200")))
    serve.add_argument(
        "--api-url", default=os.environ.get("PREFECT_API_URL"), help="use this Prefect server instead of starting one"
    )

    generate = commands.add_parser(
        "generate-sample", help="regenerate the synthetic sample data, or write a national-scale set (seeded)"
    )
    generate.add_argument(
        "--data", type=Path, help="data folder whose sources/ is rewritten (national: required, outside the repository)"
    )
    generate.add_argument("--seed", type=int)
    generate.add_argument(
        "--scale",
        choices=["sample", "national"],
        default="sample",
        help="sample: the shipped sample (five pilot chambers); national: all 81 provinces, written outside the repo",
    )
    generate.add_argument("--firms", type=int, help="registry firms in all (national only; default 2,000,000)")

    migrate = commands.add_parser(
        "migrate-sql",
        help="migrate the SQL publication's tables (KUME_DATABASE_URL, else <out>/kume.sqlite) "
        "from kume's previous layout (schema 2) to this kume's, in one transaction",
    )
    migrate.add_argument("--out", type=Path, help="output root whose kume.sqlite is meant (without KUME_DATABASE_URL)")

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "indicators":
        return _indicators(args)
    if args.command == "relatedness":
        return _relatedness(args)
    if args.command == "clusters":
        return _clusters(args)
    if args.command == "check":
        return _check(args)
    if args.command == "backtest":
        return _backtest(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate-sql":
        return _migrate_sql(args)
    return _generate(args)


def _indicators(args: argparse.Namespace) -> int:
    from kume.custom_indicators import run
    from tasks.errors import KumeError, printable

    try:
        result = run(args.facts, args.out, args.region_totals, args.national_totals, args.universe, args.growth_years)
    except (KumeError, ValueError) as error:
        print(f"kume indicators: {printable(error)}", file=sys.stderr)
        return 2
    print(f"{result['rows']} rows -> {args.out / 'indicators.parquet'}")
    for total, origin in result["totals_used"].items():
        print(f"  {total}: {origin}")
    return 0


def _relatedness(args: argparse.Namespace) -> int:
    from kume.relatedness import run, summary
    from tasks.errors import KumeError, printable

    try:
        parameters = RelatednessParameters(
            min_employment=args.min_employment, window=args.window, leave_one_out=args.leave_one_out
        )
    except ValidationError as error:
        print(f"kume relatedness: invalid parameters: {one_line(error)}", file=sys.stderr)
        return 2
    try:
        result = run(args.facts, args.out, args.universe, parameters)
    except (KumeError, ValueError) as error:
        print(f"kume relatedness: {printable(error)}", file=sys.stderr)
        return 2
    print("\n".join(summary(result)))
    return 0


def _clusters(args: argparse.Namespace) -> int:
    from kume.clusters import run, summary
    from tasks.errors import KumeError, printable

    try:
        parameters = ClusterParameters(
            window=args.window,
            min_employment=args.min_employment,
            min_clusters=args.min_clusters,
            max_clusters=args.max_clusters,
        )
    except ValidationError as error:
        print(f"kume clusters: invalid parameters: {one_line(error)}", file=sys.stderr)
        return 2
    try:
        result = run(args.facts, args.out, args.universe, parameters, args.year)
    except (KumeError, ValueError) as error:
        print(f"kume clusters: {printable(error)}", file=sys.stderr)
        return 2
    print("\n".join(summary(result)))
    return 0


def _run(args: argparse.Namespace) -> int:
    configure_prefect()
    from schemas.names import fold_key
    from schemas.parameters import CriteriaWeights, RunRequest
    from schemas.provinces import PROVINCE_KEYS
    from tasks.errors import KumeError, printable
    from tasks.sources.coverage import check_reference_year

    try:
        weights = parse_weights(args.weights) if args.weights else CriteriaWeights()
        unknown = [name for name in args.provinces or [] if fold_key(name) not in PROVINCE_KEYS]
        if unknown:
            raise ValueError(
                f"--provinces: {', '.join(map(repr, unknown))} is not one of the 81 provinces (name or plate code)"
            )
        request = RunRequest(
            provinces=args.provinces or [],
            reference_year=args.reference_year,
            growth_spans=args.growth_years,
            weights=weights,
            report_language=args.language,
            candidates=args.candidates,
            backtest=args.backtest,
            force=args.force,
            publish=not args.preview,
            reason=args.reason or "",
        )
    except ValidationError as error:
        print(f"kume run: invalid parameters: {one_line(error)}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"kume run: invalid parameters: {error}", file=sys.stderr)
        return 2
    folders = {"out_dir": args.out, "data_dir": args.data}
    settings = Settings(**{field: Path(folder).resolve() for field, folder in folders.items() if folder})
    try:
        check_reference_year(request.reference_year, settings.sgk_folders, settings.data_dir)
    except KumeError as error:
        print(f"kume run: invalid parameters: {printable(error)}", file=sys.stderr)
        return 2
    with _sigterm_ends_the_run(), prefect_server_for_this_run() as server:
        import flows.select_clusters  # noqa: F401 (Prefect and the flow are imported while the server starts)

        try:
            if server:
                server.wait(float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")))
        except KumeError as error:  # the temporary Prefect server did not start
            print(f"kume run failed: {printable(error)}", file=sys.stderr)
            return 1
        with server.settings() if server else contextlib.nullcontext(), use_settings(settings):
            return _run_flow(request)


@contextlib.contextmanager
def _sigterm_ends_the_run() -> Iterator[None]:
    """SIGTERM ends ``kume run`` like an error would: the flow run is marked Crashed, every
    ``finally`` runs (the publication lock is released, kume's temporary Prefect server is
    stopped), and the command exits with 143 after one line. A second SIGTERM meanwhile is
    ignored, so that the clean-up completes."""
    received = []

    def terminate(signum: int, frame: object) -> None:
        if not received:
            received.append(signum)
            raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    except BaseException:
        if not received:
            raise
        # Prefect's engine may turn the SystemExit raised inside its code into another error
        # (a crash while a task run starts): the run was stopped by SIGTERM, whatever came out.
        raise SystemExit(128 + received[0]) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if received:
            print("kume run: stopped by SIGTERM", file=sys.stderr)


def _run_flow(request: RunRequest) -> int:
    from flows.select_clusters import select_clusters
    from kume.report import print_selection
    from tasks.errors import KumeError, printable

    try:
        manifest = select_clusters(request)
    except KumeError as error:
        print(f"kume run failed: {printable(error)}", file=sys.stderr)
        return 1
    print_selection(Path(manifest["locations"]["run"]))
    inputs = manifest["inputs"].values()
    errors = [e for source in inputs for e in source["errors"]]
    for error in errors:
        print(f"input error: {printable(error)}", file=sys.stderr)
    for skipped in (f for source in inputs for f in source.get("not_read") or []):
        print(f"not read: {printable(skipped['file'])}: {printable(skipped['reason'])}", file=sys.stderr)
    return 0 if manifest["status"] == "complete" else 1


def _migrate_sql(args: argparse.Namespace) -> int:
    from tasks.errors import KumeError, printable
    from tasks.publish.sql import migrate_sql
    from tasks.reference import Reference

    settings = Settings(out_dir=args.out.resolve()) if args.out else Settings()
    try:
        print(migrate_sql(settings.resolved_database_url(), Reference(settings.reference_dir)))
    except KumeError as error:
        print(f"kume migrate-sql failed: {printable(error)}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    from kume.serve import serve
    from tasks.errors import ServeError

    try:
        return serve(args.host, args.port, args.api_url)
    except (ServeError, subprocess.CalledProcessError) as error:
        print(f"kume serve: {error}", file=sys.stderr)
        return 2


def _backtest(args: argparse.Namespace) -> int:
    from kume.backtest import report, run
    from tasks.errors import KumeError, printable

    if any(horizon < 1 or horizon > 30 for horizon in args.horizons):
        given = " ".join(map(str, args.horizons))
        print(f"kume backtest: --horizons {given}: each must be 1-30 years", file=sys.stderr)
        return 2
    try:
        table = run(args.data, args.horizons, args.out)
    except KumeError as error:
        print(f"kume backtest: {printable(error)}", file=sys.stderr)
        return 2
    print("\n".join(report(table)))
    if args.out:
        print(f"{len(table)} rows -> {args.out / 'backtest.parquet'}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from kume.check import check_files, format_report
    from tasks.errors import KumeError, printable
    from tasks.reference import Reference

    settings = Settings()
    province = None
    if args.province:
        province = Reference(settings.reference_dir).plate_code(args.province)
        if not province:
            return _refuse(f"--province {args.province!r} is not one of the 81 provinces")
    try:
        report = check_files(args.source, args.files, settings.reference_dir, settings.expectations_dir, province)
    except KumeError as error:  # not about one file (those are in the report): one line, no traceback
        print(f"kume check: {printable(error)}", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return report["exit_code"]


def _generate(args: argparse.Namespace) -> int:
    if not (PROJECT_ROOT / "samples" / "__init__.py").is_file():
        return _refuse(
            "the sample generators are not installed with kume: they run from its source checkout, and "
            f"{PROJECT_ROOT / 'samples'} does not exist (install kume from a checkout: pip install -e <checkout>)"
        )
    sample_data = _checkout_samples("sample_data")
    seed = args.seed if args.seed is not None else sample_data.SEED
    if args.scale == "sample":
        if args.firms is not None:
            return _refuse("--firms applies to --scale national only")
        counts = sample_data.generate(args.data or Settings().data_dir, seed)
    else:
        national_data = _checkout_samples("national_data")
        if args.data is None:
            return _refuse("--scale national needs --data DIR, a folder outside the repository")
        data_dir = args.data.resolve()
        if data_dir.is_relative_to(PROJECT_ROOT.resolve()):
            return _refuse(
                f"{data_dir} is inside the repository ({PROJECT_ROOT}); national-scale data is never committed: "
                "write it outside, e.g. --data /tmp/kume-national"
            )
        firms = args.firms if args.firms is not None else national_data.DEFAULT_FIRMS
        try:
            counts = national_data.generate_national(data_dir, seed, firms=firms)
        except ValueError as error:
            return _refuse(str(error))
    print(json.dumps(counts, indent=2))
    return 0


def _checkout_samples(module: str) -> ModuleType:
    """``samples.<module>`` of kume's checkout (``PROJECT_ROOT``), wherever ``kume`` runs from:
    the sample generators are not installed with kume (pyproject's packages.find)."""
    package = PROJECT_ROOT / "samples"
    if "samples" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "samples", package / "__init__.py", submodule_search_locations=[str(package)]
        )
        sys.modules["samples"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["samples"])
    return importlib.import_module(f"samples.{module}")


def _refuse(message: str) -> int:
    print(f"kume generate-sample: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
