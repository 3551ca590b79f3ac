"""The layers hold: ``schemas`` imports nothing of the project's code, nothing reads a data file
at import, and the business logic of ``tasks`` has no Prefect in it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from kume.settings import PROJECT_ROOT

PACKAGES = ("kume", "flows", "tasks", "schemas")  # the installed packages (pyproject's packages.find)

# Run in a fresh interpreter: records every file opened under the project (outside the package
# sources) or the configured data and output folders while each module of PACKAGES is imported.
IMPORT_PROBE = r"""
import builtins, io, json, os, pathlib, sqlite3, sys

root = pathlib.Path(sys.argv[1])
packages = sys.argv[2].split(",")
watched = [pathlib.Path(folder) for folder in sys.argv[3:]]
sources = [root / package for package in packages]
reads, importing = set(), [None]


def record(path):
    if isinstance(path, int):  # an open file descriptor: no path to judge
        return
    resolved = pathlib.Path(os.fsdecode(path)).resolve()
    metadata = any(part.endswith((".egg-info", ".dist-info")) for part in resolved.parts)  # entry points of plugins
    in_project = resolved.is_relative_to(root) and not resolved.is_relative_to(root / ".venv") and not metadata
    if (in_project and not any(resolved.is_relative_to(s) for s in sources)) or any(
        resolved.is_relative_to(w) for w in watched
    ):
        reads.add((importing[0], str(resolved)))


def recording(original):
    def read(path, *args, **kwargs):
        record(path)
        return original(path, *args, **kwargs)

    return read


builtins.open = io.open = recording(io.open)
pathlib.Path.open = recording(pathlib.Path.open)
pathlib.Path.read_text = recording(pathlib.Path.read_text)
pathlib.Path.read_bytes = recording(pathlib.Path.read_bytes)
sqlite3.connect = recording(sqlite3.connect)

import pandas as pd
import pyarrow.parquet as pq

for name in ("read_csv", "read_parquet", "read_excel", "read_json"):
    setattr(pd, name, recording(getattr(pd, name)))
pq.read_table = recording(pq.read_table)

sys.path.insert(0, str(root))
modules = []
for package in packages:
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
for module in modules:
    importing[0] = module
    __import__(module)
print(json.dumps({"modules": modules, "reads": sorted(reads)}))
"""


def imported_modules(path: Path) -> set[str]:
    """The absolute modules a source file imports, anywhere in it (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def project_packages() -> set[str]:
    """The top-level names of the project's own code: every folder of the checkout holding Python."""
    return {folder.name for folder in PROJECT_ROOT.iterdir() if folder.is_dir() and any(folder.glob("*.py"))}


def test_schemas_import_nothing_of_the_projects_code():
    others = project_packages() - {"schemas"}
    assert {"tasks", "flows", "kume", "samples"} <= others
    found = {
        f"{path.relative_to(PROJECT_ROOT)}: {module}"
        for path in (PROJECT_ROOT / "schemas").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in others
    }
    assert not found


def test_tasks_have_no_prefect_import():
    found = {
        f"{path.relative_to(PROJECT_ROOT)}: {module}"
        for path in (PROJECT_ROOT / "tasks").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] == "prefect" or module.startswith("prefect_")
    }
    assert not found


def test_no_module_reads_a_data_file_at_import(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    env = {**os.environ, "KUME_DATA_DIR": str(data), "KUME_OUT_DIR": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(PROJECT_ROOT.resolve()), ",".join(PACKAGES), str(data), str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"schemas.parameters", "tasks.reference", "flows.select_clusters", "kume.cli"} <= set(probe["modules"])
    assert probe["reads"] == [], probe["reads"]


def test_the_probe_sees_a_data_file_read(tmp_path):
    """The probe above would catch ``schemas.parameters`` as it was: reading the provinces at import."""
    package = tmp_path / "reader"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import pandas as pd\nfrom pathlib import Path\n"
        "PROVINCES = pd.read_csv(Path(__file__).parents[1] / 'data' / 'tr_provinces.csv')\n",
        encoding="utf-8",
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tr_provinces.csv").write_text("plate_code\n1\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(tmp_path.resolve()), "reader"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reads = json.loads(done.stdout.strip().splitlines()[-1])["reads"]
    assert reads == [["reader", str((tmp_path / "data" / "tr_provinces.csv").resolve())]]
