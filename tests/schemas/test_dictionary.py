"""From a published column to the function that computes it, in one step: every column of every
dataset of the contract has a "computed in" entry (``schemas.dictionary.computed_in``) naming a
real function, and that function is the only place in ``tasks/`` that writes the column.

The proof is a scan of the source (``ast``) of the code that makes the published datasets:
``tasks/sources``, ``tasks/methods``, ``tasks/datasets``, ``tasks/validate.py``,
``tasks/stages.py`` and ``tasks/store.py`` (``tasks/publish`` and ``tasks/reports`` read the
published datasets and make none). A column is written where its name is put on a frame:
``frame["col"] = ...`` (also through ``.loc``/``.at``), ``.assign(col=...)`` and
``.assign(**{"col": ...})``, ``pd.DataFrame({"col": ...})`` or ``pd.DataFrame(dict(col=...))``,
``.rename(columns={...: "col"})`` and a Series' ``.rename("col")``, ``.agg(col=(...))``,
``.reset_index(name="col")``, ``.to_frame("col")``, ``.add_prefix``, and a row
``rows.append({"col": ...})``. A name built at run time is resolved from literal tuples,
module constants (``CRITERIA``, ``SCORE_INDICATORS``, ...), loop variables and f-strings;
a write whose name cannot be resolved must be listed in ``UNNAMED_WRITES`` with why it makes
no published column.

The check, per published column: (1) its entry writes it; (2) every function that writes that
name is the entry of that column in some dataset, or a listed ``SECOND_WRITERS`` site. The
exceptions, each reasoned where it is listed:
- the join keys ``plate_code``, ``sector_code`` and ``year`` identify rows and are renamed or
  retyped on every frame joined on them; for them only (1) is checked;
- ``host`` is taken unchanged from ``data/reference/cluster_centres.csv``: no code writes it, and
  its entry names the builder that takes it in.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas import dictionary
from schemas.outputs import DATASETS, SCORE_INDICATORS
from tasks.methods.indicators import MEASURES

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["tasks/sources", "tasks/methods", "tasks/datasets", "tasks/validate.py", "tasks/stages.py", "tasks/store.py"]

JOIN_KEYS = {"plate_code", "sector_code", "year"}
FROM_REFERENCE = {"host"}  # data/reference/cluster_centres.csv, taken in by build_selection

# Function parameters whose values the scan cannot see but the callers fix: the measures
# compute_indicators hands to its helpers are ``[m for m in MEASURES if m in facts]``.
PARAMETERS = {"tasks.methods.indicators": {"measures": MEASURES}}

# Writes whose name is not resolved, and why none makes a published column.
UNNAMED_WRITES = {
    ("tasks.methods.indicators:compute_indicators", "out[column]"): "copies the primary span's growth "
    "columns, made by _growth (their entry), into the main table unchanged",
    ("tasks.methods.indicators:compute_indicators", "reasons[column]"): "a dict of null reasons, not a frame",
    ("tasks.sources.files:ingest_files", "submitted[order]"): "a dict of the files being read, by their place in "
    "file order, not a frame",
    ("tasks.methods.indicators:_prefer_published", "merged[column]"): "prefers a published total over the "
    "summed one under the measure's own name, before _region_totals / _national_totals name the column",
    ("tasks.methods.scoring:effective_weights", "columns[name]"): "a dict of indicator weights that becomes "
    "the weights matrix of indicator_impacts, never a published frame",
    ("tasks.stages:previous_publication", "ids[run]"): "a dict of parameter-set ids, not a frame",
    ("tasks.stages:carry_over", "kept[column]"): "restores the dtype of a kept row's column as computed "
    "(Parquet reads some back differently); the values are the earlier publication's",
    ("tasks.stages:province_origins", "origins[str(plate)]"): "the manifest's provinces, a dict",
    ("tasks.datasets.names:names_before_schema_4", "frame[cluster]"): "reads a publication of schema < 4 "
    "back into today's names; computes nothing for this run's rows",
    ("tasks.datasets.names:names_before_schema_4", "frame[name]"): "the same reading of schema < 4 names",
    ("tasks.sources.files:header_map", "mapping[position]"): "a dict of header positions, not a frame",
    ("tasks.sources.files:read_delimited", "rename(mapping)"): "renames a file's headers to its source's "
    "column names (schemas/inputs.py aliases); the source's normaliser then makes its columns",
    ("tasks.sources.files:_firms", "identity[blank]"): "a Series' rows (a mask), not a column",
    ("tasks.sources.files:ingest_files", "files.append({...})"): "the manifest's record of a file read",
    ("tasks.methods.relatedness:complexity", "eci[regions]"): "a numpy array's cells (the regions with a "
    "sector present), not a frame's column",
    ("tasks.methods.relatedness:complexity", "pci[sectors]"): "a numpy array's cells (the sectors present "
    "somewhere), not a frame's column",
}

# A function other than the entry that writes a published column, at one site, and why it does
# not compute the column a second time.
_ABSENT = "scoring an input without this indicator's column: it counts as a missing value (methodology §4.1)"
_SET_ASIDE = (
    "a row a reader sets aside before validation (a total that does not add up, a firm listed twice), in "
    "quarantine form: validate publishes it with its own rule failures (rows_in = accepted + quarantined)"
)
_ROW = ["source", "file", "row", "column", "rule", "message", "raw_value"]  # a quarantine row, less run_id
_RENAMED = ["size_rank", "largest_sector_code", "largest_sector_name"]  # stages.SCHEMA_2_RENAMES
_RECORD = "a record of the manifest's inputs (a total checked, a file not read), not a frame's row"
_SCHEMA_2 = "reads a publication of schema < 3 back into today's columns; computes nothing for this run's rows"
SECOND_WRITERS = {
    ("tasks.methods.scoring:score_candidates", "scored[name]"): _ABSENT,
    ("tasks.methods.scoring:score_candidates", "scored['size_basis']"): "a comparison set without size_basis "
    "(scored alone, not from candidate_table) compares by employment, as candidate_table would say",
    ("tasks.methods.sector_facts:candidate_table", "table[column]"): "a candidate sector the agency database "
    "has no row for counts 0, the rule agency_features applies to its own rows (the database covers every "
    "province); the other rows keep agency_features' values",
    ("tasks.methods.sector_facts:size_basis", "assign(size_basis=)"): "labels each turnover row with where it "
    "comes from; candidate_table gives every candidate its province's label, or employment",
    ("tasks.methods.sector_facts:allocate_turnover", "assign(turnover_try=)"): "the agency's turnover, for "
    "provinces whose registry gives none: size_basis takes the registry's (registry_features) or this, per "
    "province",
    ("tasks.methods.indicators:_with_region_sums", "part['employment_cagr']"): "the '*' rows of growth (a "
    "province's sums): the same CAGR over the province's total employment",
    ("tasks.datasets.selection:build_selection", "selection[column]"): "completes consultation_counts on the "
    "selection's rows: 0 for a sector nobody spoke of where the province met, null without a meeting",
    ("tasks.stages:carry_over", "assign(run_id=)"): "stamps this publication's id (build_scores' value for "
    "fresh rows) on the rows kept from the previous publication",
    ("tasks.stages:previous_publication", "frame['size_basis']"): _SCHEMA_2,
    ("tasks.stages:previous_publication", "frame['computed_in_run']"): _SCHEMA_2,
    ("tasks.stages:previous_publication", "frame['parameters_id']"): _SCHEMA_2,
    **{("tasks.stages:previous_publication", f"rename(SCHEMA_2_RENAMES): {name}"): _SCHEMA_2 for name in _RENAMED},
    ("tasks.datasets.consultation:assessments_before_schema_4", "assign(assessment=)"): "reads a publication of "
    "schema < 4 (assessments as English sentences) back as today's codes; computes nothing for this run's rows",
    **{("tasks.sources.files:split_total_rows", f"rejected.append({{...}}): {name}"): _SET_ASIDE for name in _ROW},
    **{("tasks.sources.files:duplicate_firms", f"DataFrame({{...}}): {name}"): _SET_ASIDE for name in _ROW},
    ("tasks.sources.files:ingest_files", "assign(file=)"): "labels the rows a reader set aside with the file's "
    "label (inbox/ prefix), as the accepted rows' source_file is labelled",
    ("tasks.sources.files:split_total_rows", "checks.append({...}): row"): _RECORD,
    ("tasks.sources.files:split_total_rows", "checks.append({...}): column"): _RECORD,
    ("tasks.sources.files:ingest_files", "not_read.append({...}): file"): _RECORD,
    ("tasks.sources.chamber_registry:resolve_registry_province", "decided['province']"): "a dict recording how "
    "the file's province was decided (the manifest's), not a frame",
    ("tasks.sources.sgk_employment:normalize_sgk", "assign(province=)"): "the province as the file writes it, kept "
    "as the rows' raw value (raw__plate_code); the published province is with_province's name of the plate code",
    (
        "tasks.sources.chamber_registry:normalize_registry",
        "DataFrame({...}): turnover_try",
    ): "a firm's net sales (Ciro) on the registry's rows: registry_features sums them per province and class",
    (
        "tasks.sources.sector_turnover:normalize_sector_turnover",
        "DataFrame({...}): turnover_try",
    ): "the agency's figures on its rows: allocate_turnover takes a class's figure and spreads a division's",
    ("tasks.methods.relatedness:_one_window", "DataFrame({...}): level"): "the method's level of any region set "
    "('region' or 'sector'); build_complexity publishes it with the region named a province",
    ("tasks.methods.relatedness:_strength", "frame['null_reason']"): "why the two §6.7 indicators are null, on "
    "the strength frame; scoring takes only the two values, no published dataset takes this column",
    **{
        ("tasks.methods.colocation:choose_count", f"rows.append({{...}}): {name}"): "the validation scores of every "
        "count searched (ClusterDefinitions.scores, which kume clusters writes as cluster_scores); "
        "build_cluster_definitions publishes the chosen definition's"
        for name in ("clusters", "vs_industry", "vs_cluster")
    },
    ("tasks.methods.colocation:_describe", "DataFrame({...}): national_employment"): "a member class's employment "
    "in the window's end year, which names its cluster after the largest class; no published dataset takes it",
    ("tasks.methods.colocation:_describe", "DataFrame({...}): employment"): "a cluster's employment on the "
    "method's clusters table; build_cluster_definitions publishes it renamed cluster_employment",
    ("tasks.sources.agency_db:_agency_long", "DataFrame({...}): value"): "the agency database's long rows "
    "(measure, value), an input's column; only the backtest publishes a column named value",
}


@dataclass(frozen=True)
class Write:
    function: str  # module:function (a nested function's writes are its enclosing function's)
    site: str  # the write as the source says it: frame['col'], assign(col=), rename(...), ...
    pattern: str | None  # regular expression of the names written; None: not resolved
    line: int

    def writes(self, column: str) -> bool:
        return self.pattern is not None and re.fullmatch(self.pattern, column) is not None


class _Names:
    """The string values an expression can take inside one function: regular expressions, a
    part that is not known becomes ``.+``; None when nothing is known."""

    def __init__(self, function: ast.AST, namespace: dict):
        self.namespace = namespace
        self.bound: dict[str, list[tuple[str, ast.expr]]] = {}
        for node in ast.walk(function):
            if isinstance(node, (ast.For, ast.comprehension)):
                self._bind(node.target, node.iter)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.bound.setdefault(target.id, []).append(("value", node.value))

    def _bind(self, target: ast.expr, iterable: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.bound.setdefault(target.id, []).append(("item", iterable))
        elif isinstance(target, ast.Tuple):
            items = isinstance(iterable, ast.Call) and getattr(iterable.func, "attr", "") == "items"
            for number, element in enumerate(target.elts):
                if isinstance(element, ast.Name):
                    kind, source = ("item", iterable.func.value) if items and number == 0 else ("opaque", iterable)
                    self.bound.setdefault(element.id, []).append((kind, source))

    def _constant(self, name: str) -> object:
        return self.namespace.get(name)

    def strings(self, node: ast.expr, depth: int = 0) -> set[str] | None:
        """Regular expressions of the string ``node`` evaluates to."""
        if depth > 10:
            return None
        if isinstance(node, ast.Constant):
            return {re.escape(node.value)} if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if node.id in self.bound:
                found: set[str] = set()
                for kind, source in self.bound[node.id]:
                    got = (
                        self.items(source, depth + 1)
                        if kind == "item"
                        else self.strings(source, depth + 1)
                        if kind == "value"
                        else None
                    )
                    if got is None:
                        return None
                    found |= got
                return found
            value = self._constant(node.id)
            return {re.escape(value)} if isinstance(value, str) else None
        if isinstance(node, ast.JoinedStr):
            found = {""}
            for part in node.values:
                got = self.strings(part.value if isinstance(part, ast.FormattedValue) else part, depth + 1)
                found = {a + b for a in found for b in (got or {".+"})}
            return found
        return None

    def items(self, node: ast.expr, depth: int = 0) -> set[str] | None:
        """Regular expressions of the strings an iterable ``node`` yields."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return self._union(node.elts, depth)
        if isinstance(node, ast.Name) and node.id in self.bound:
            if any(kind != "value" for kind, _ in self.bound[node.id]):
                return None
            return self._merge(self.items(source, depth + 1) for _, source in self.bound[node.id])
        if isinstance(node, ast.Name):
            value = self._constant(node.id)
            if isinstance(value, (list, tuple, set, dict)) and all(isinstance(v, str) for v in value):
                return {re.escape(v) for v in value}
            return None
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)) and len(node.generators) == 1:
            loop = node.generators[0]
            if isinstance(node.elt, ast.Name) and isinstance(loop.target, ast.Name) and node.elt.id == loop.target.id:
                return self.items(loop.iter, depth + 1)  # a filtered subset: at most the same names
            return self.strings(node.elt, depth + 1)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("keys", "items"):
            return self.items(node.func.value, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._merge([self.items(node.left, depth + 1), self.items(node.right, depth + 1)])
        return None

    def keys(self, node: ast.expr) -> set[str] | None:
        """The names a literal mapping gives as keys (``{"a": ...}``, ``dict(a=...)``)."""
        if isinstance(node, ast.Dict):  # ``**other`` in it: the keys of ``other`` too
            return self._merge(
                self.keys(value) if key is None else self.strings(key)
                for key, value in zip(node.keys, node.values, strict=True)
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            if node.args or any(keyword.arg is None for keyword in node.keywords):
                return None
            return {re.escape(keyword.arg) for keyword in node.keywords}
        return None

    def values(self, node: ast.expr) -> set[str] | None:
        """The names a renaming mapping gives as values."""
        if isinstance(node, ast.Dict):
            return self._union(node.values, 0)
        if isinstance(node, ast.DictComp) and len(node.generators) == 1:
            return self.strings(node.value)
        if isinstance(node, ast.Name) and node.id in self.bound:
            if any(kind != "value" for kind, _ in self.bound[node.id]):
                return None
            return self._merge(self.values(source) for _, source in self.bound[node.id])
        if isinstance(node, ast.Name):
            value = self._constant(node.id)
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                return {re.escape(v) for v in value.values()}
        return None

    def _union(self, nodes: list, depth: int) -> set[str] | None:
        return self._merge(self.strings(node, depth + 1) for node in nodes)

    @staticmethod
    def _merge(parts) -> set[str] | None:
        found: set[str] = set()
        for part in parts:
            if part is None:
                return None
            found |= part
        return found


def _writes_of(node: ast.AST, names: _Names, function: str) -> Iterator[Write]:
    def write(site: str, patterns: set[str] | None, several: bool = False) -> Iterator[Write]:
        """``several``: the site writes several names, each named in its site ("DataFrame({...}): a")."""
        for pattern in patterns if patterns is not None else [None]:
            named = f"{site}: {pattern.replace(chr(92), '')}" if several and pattern is not None else site
            yield Write(function, named, pattern, node.lineno)

    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in [t for group in targets for t in (group.elts if isinstance(group, ast.Tuple) else [group])]:
            if not isinstance(target, ast.Subscript):
                continue
            key = target.slice
            if isinstance(target.value, ast.Attribute) and target.value.attr in ("loc", "at"):
                if not isinstance(key, ast.Tuple):
                    continue  # rows, not a column
                key = key.elts[-1]
            elif isinstance(key, ast.Tuple):
                continue  # an array's cells or a dict keyed by tuples, not a frame's column
            if isinstance(key, ast.Slice) or (isinstance(key, ast.Constant) and not isinstance(key.value, str)):
                continue  # positions, not names
            yield from write(ast.unparse(target), names.strings(key))
        return
    if not isinstance(node, ast.Call):
        return
    attribute = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    if attribute in ("assign", "agg", "aggregate"):
        for keyword in node.keywords:
            if keyword.arg is not None:
                yield from write(f"{attribute}({keyword.arg}=)", {re.escape(keyword.arg)})
            else:
                yield from write(f"{attribute}(**{ast.unparse(keyword.value)})", names.keys(keyword.value), True)
    elif attribute == "rename":
        mappings = [keyword.value for keyword in node.keywords if keyword.arg in ("columns", "mapper")]
        for argument in node.args[:1]:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield from write(f"rename({argument.value!r})", {re.escape(argument.value)})  # a Series' name
            else:
                mappings.append(argument)
        for mapping in mappings:
            yield from write(f"rename({ast.unparse(mapping)})", names.values(mapping), True)
    elif attribute == "DataFrame" and node.args:
        data = node.args[0]  # a mapping of columns; rows or another frame name no column here
        if isinstance(data, ast.Dict) or (isinstance(data, ast.Call) and getattr(data.func, "id", "") == "dict"):
            yield from write("DataFrame({...})", names.keys(data), True)
    elif attribute in ("reset_index", "to_frame"):
        given = [keyword.value for keyword in node.keywords if keyword.arg == "name"]
        given += node.args[:1] if attribute == "to_frame" else []
        for name in given:
            yield from write(f"{attribute}({ast.unparse(name)})", names.strings(name))
    elif attribute in ("add_prefix", "add_suffix") and node.args:
        affixes = names.strings(node.args[0])
        patterns = None if affixes is None else {a + ".+" if attribute == "add_prefix" else ".+" + a for a in affixes}
        yield from write(f"{attribute}({ast.unparse(node.args[0])})", patterns)
    elif attribute == "append" and node.args and isinstance(node.args[0], ast.Dict):
        yield from write(f"{ast.unparse(node.func.value)}.append({{...}})", names.keys(node.args[0]), True)


def scan(module: str, source: str, namespace: dict) -> list[Write]:
    """Every write of a column name in the top-level functions (and methods) of ``source``."""
    tree = ast.parse(source)
    functions = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            functions += [
                (f"{node.name}.{item.name}", item)
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
    writes = []
    for name, function in functions:
        names = _Names(function, {**namespace, **PARAMETERS.get(module, {})})
        for node in ast.walk(function):
            writes += _writes_of(node, names, f"{module}:{name}")
    return writes


def scanned_modules() -> list[str]:
    files = []
    for entry in SCANNED:
        path = ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [".".join(file.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for file in files]


def scan_tasks() -> list[Write]:
    writes = []
    for module in scanned_modules():
        loaded = importlib.import_module(module)
        writes += scan(module, Path(loaded.__file__).read_text(encoding="utf-8"), vars(loaded))
    return writes


def entry_problems() -> list[str]:
    """Columns without an entry, and entries that name no function."""
    problems = []
    for dataset, (schema, _) in DATASETS.items():
        for column in schema.names:
            entry = dictionary.computed_in(dataset, column)
            if not entry:
                problems.append(f"{dataset}.{column}: no 'computed in' entry")
                continue
            module, _, qualname = entry.partition(":")
            try:
                target = importlib.import_module(module)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError):
                problems.append(f"{dataset}.{column}: {entry} does not exist")
                continue
            if not inspect.isfunction(target):
                problems.append(f"{dataset}.{column}: {entry} is not a function")
    return problems


def writer_problems(writes: list[Write]) -> list[str]:
    """Entries that do not write their column, other functions that write it, and unresolved
    writes, each unless listed with its reason; and listed exceptions that no longer occur."""
    problems = []
    homes: dict[str, set[str]] = {}
    for dataset, (schema, _) in DATASETS.items():
        for column in schema.names:
            homes.setdefault(column, set()).add(dictionary.computed_in(dataset, column))
    used = set()
    for write in writes:
        if write.pattern is None:
            if (write.function, write.site) in UNNAMED_WRITES:
                used.add((write.function, write.site))
            else:
                problems.append(f"{write.function} line {write.line}: {write.site} writes a name the scan cannot tell")
    for column, entries in sorted(homes.items()):
        writers = [write for write in writes if write.writes(column)]
        if column not in FROM_REFERENCE:
            for entry in sorted(entries - {write.function for write in writers}):
                problems.append(f"{column}: its entry {entry} does not write it")
        if column in JOIN_KEYS:
            continue
        for write in writers:
            if write.function in entries:
                continue
            if (write.function, write.site) in SECOND_WRITERS:
                used.add((write.function, write.site))
                continue
            problems.append(f"{column}: also written by {write.function} line {write.line} ({write.site})")
    for stale in sorted({*UNNAMED_WRITES, *SECOND_WRITERS} - used):
        problems.append(f"listed exception {stale} no longer occurs: remove it")
    return problems


@pytest.fixture(scope="module")
def writes() -> list[Write]:
    return scan_tasks()


def test_every_column_of_every_dataset_names_a_real_function():
    assert entry_problems() == []


def test_a_column_without_an_entry_or_with_a_wrong_one_fails(monkeypatch):
    monkeypatch.delitem(dictionary.COMPUTED_IN, "size_rank")
    monkeypatch.setitem(dictionary.COMPUTED_IN, "rank", "tasks.methods.scoring:no_such_function")
    monkeypatch.setitem(dictionary.COMPUTED_IN, "robust", "tasks.methods.scoring:CRITERIA")
    assert set(entry_problems()) == {
        "scores.size_rank: no 'computed in' entry",
        "selection.size_rank: no 'computed in' entry",
        "scores.rank: tasks.methods.scoring:no_such_function does not exist",
        "selection.rank: tasks.methods.scoring:no_such_function does not exist",
        "scores.robust: tasks.methods.scoring:CRITERIA is not a function",
        "selection.robust: tasks.methods.scoring:CRITERIA is not a function",
        "selection_history.rank: tasks.methods.scoring:no_such_function does not exist",
        "selection_history.robust: tasks.methods.scoring:CRITERIA is not a function",
    }


def test_each_column_is_written_only_by_the_function_its_entry_names(writes):
    assert writer_problems(writes) == []


def test_the_scan_sees_every_way_of_writing_a_column():
    source = """
def build(frame, rows, stances):
    frame["a"] = 1
    frame.loc[frame.x > 0, "b"] = 2
    frame = frame.assign(c=3, **{"d": 4})
    frame = pd.DataFrame({"e": 5, **{}}) if rows else pd.DataFrame(dict(f=6))
    frame = frame.rename(columns={"x": "g"}).agg(h=("x", "sum"))
    frame = frame.x.rename("i").reset_index(name="j").x.to_frame("n").add_prefix("p_")
    for name in ("k", "l"):
        frame[f"score_{name}"] = 0
    for criterion, names in CRITERIA.items():
        frame[criterion] = 0
    rows.append({"m": 7})
    frame[stances] = 0
    frame[0, 1] = 0
"""
    found = scan("tasks.fake", source, {"CRITERIA": {"economic_impact": [], "demand": []}})
    names = {write.pattern.replace("\\", "") for write in found if write.pattern}
    assert names == {*"abcdefghijmn", "p_.+", "score_k", "score_l", "economic_impact", "demand"}
    assert [write.site for write in found if write.pattern is None] == ["frame[stances]"]


def test_a_second_writer_of_a_published_column_fails(writes):
    source = 'def build_selection(selection):\n    return selection.assign(size_rank=1, sector_name="x")\n'
    second = scan("tasks.datasets.selection", source, {})
    problems = writer_problems([*writes, *second])
    assert "size_rank: also written by tasks.datasets.selection:build_selection line 2 (assign(size_rank=))" in problems
    assert any(problem.startswith("sector_name: also written by") for problem in problems)


def test_a_scores_indicator_is_written_where_its_entry_says(writes):
    """Spot check against the page a newcomer reads: a score column is made by score_candidates."""
    for indicator in SCORE_INDICATORS:
        writers = {write.function for write in writes if write.writes(f"score_{indicator}")}
        assert writers == {dictionary.computed_in("scores", f"score_{indicator}")}
