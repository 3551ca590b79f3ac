"""The ``kume`` command: a thin face over the same functions the flows call."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kume.prefect_env import configure_prefect
from kume.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kume", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the nightly selection flow on the input files")
    run.add_argument("--provinces", nargs="*", help="province names or plate codes (default: all 81)")
    run.add_argument("--reference-year", type=int, help="default: the latest year in the data")
    run.add_argument("--growth-years", type=int, default=5, help="span of CAGR and shift-share")
    run.add_argument("--weights", help="criteria weights 'economic_impact,demand,networking,factor_conditions'")
    run.add_argument("--out", type=Path, help="output root (default: out/, or KUME_OUT_DIR)")
    run.add_argument("--data", type=Path, help="data folder (default: data/, or KUME_DATA_DIR)")

    generate = commands.add_parser("generate-sample", help="regenerate the synthetic sample data (seeded)")
    generate.add_argument("--data", type=Path, help="data folder whose sources/ is rewritten")
    generate.add_argument("--seed", type=int)

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    return _generate(args)


def _run(args: argparse.Namespace) -> int:
    configure_prefect()
    from pydantic import ValidationError

    from flows.nightly import nightly
    from kume.report import print_selection
    from schemas.parameters import CriteriaWeights, SelectionParameters

    try:
        weights = CriteriaWeights()
        if args.weights:
            keys = list(CriteriaWeights.model_fields)
            weights = CriteriaWeights(**dict(zip(keys, map(float, args.weights.split(",")), strict=True)))
        parameters = SelectionParameters(
            reference_year=args.reference_year, growth_years=args.growth_years, weights=weights
        )
    except (ValidationError, ValueError) as error:
        print(f"kume run: invalid parameters: {error}", file=sys.stderr)
        return 2
    settings = Settings(**{k: v for k, v in {"out_dir": args.out, "data_dir": args.data}.items() if v})
    manifest = nightly(
        provinces=args.provinces, parameters=parameters, out_dir=str(settings.out_dir), data_dir=str(settings.data_dir)
    )
    run_dir = settings.out_dir / "runs" / manifest["run_id"]
    print_selection(run_dir)
    errors = [e for source in manifest["inputs"].values() for e in source["errors"]]
    for error in errors:
        print(f"input error: {error}", file=sys.stderr)
    return 1 if errors else 0


def _generate(args: argparse.Namespace) -> int:
    from kume.sample_data import SEED, generate

    data_dir = args.data or Settings().data_dir
    counts = generate(data_dir, args.seed if args.seed is not None else SEED)
    print(json.dumps(counts, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
