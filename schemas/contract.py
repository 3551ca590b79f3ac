"""The committed consumer contract: one JSON snapshot of every output schema per schema
version in ``schemas/contract/``. A schema change must come with a new version (a test
compares); ``python -m schemas.contract`` writes the snapshot of a new version."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.outputs import DATASETS, PARTITIONS, SCHEMA_VERSION

CONTRACT_DIR = Path(__file__).with_name("contract")


def snapshot() -> dict:
    return {
        name: {
            "fields": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema],
            "order": keys,
            "partitioning": PARTITIONS.get(name, []),
        }
        for name, (schema, keys) in DATASETS.items()
    }


def committed(version: str = SCHEMA_VERSION) -> dict | None:
    path = CONTRACT_DIR / f"{version}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


if __name__ == "__main__":
    path = CONTRACT_DIR / f"{SCHEMA_VERSION}.json"
    if path.exists() and committed() != snapshot():
        sys.exit(f"{path} exists and differs: bump SCHEMA_VERSION in schemas/outputs.py for a new contract")
    CONTRACT_DIR.mkdir(exist_ok=True)
    path.write_text(json.dumps(snapshot(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
