"""No control flow depends on the wording of a message (issue 14): the code under ``tasks/``,
``flows/`` and ``kume/`` never splits, searches or compares the text of an error or of a
message to decide what to do. It acts on typed errors and their fields (``InputFileError.file``,
``failed`` of an ingested source); messages are only written, for people.

The scan reads the syntax trees: a message is ``str(e)``/``repr(e)``/``e.args`` of an exception
caught as ``e``, or a value named like one (``error``, ``errors``, ``message``, ``msg``,
``problem``, ``reason``, as a variable, an attribute or a dictionary key); matching it is
``in``/``==`` against it, ``split``/``partition``/``startswith``/``endswith``/``find``/``index``
on it, or a ``re`` function applied to it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tasks", "flows", "kume")
MESSAGE_NAMES = {"error", "errors", "message", "messages", "msg", "problem", "problems", "reason", "reasons"}
MATCHING_METHODS = {"split", "rsplit", "partition", "rpartition", "startswith", "endswith", "find", "rfind", "index"}
RE_FUNCTIONS = {"match", "fullmatch", "search", "findall", "finditer", "split", "sub", "subn"}


def _named_like_a_message(node: ast.expr, caught: set[str]) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "str":  # pandas: series.str.startswith(...)
        return _named_like_a_message(node.value, caught)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"str", "repr"}:
        return any(_named_like_a_message(arg, caught) or _is_caught(arg, caught) for arg in node.args)
    if isinstance(node, ast.Attribute) and node.attr == "args":
        return _is_caught(node.value, caught)
    if isinstance(node, ast.Name):
        return node.id in MESSAGE_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in MESSAGE_NAMES
    if isinstance(node, ast.Subscript):
        key = node.slice
        return (isinstance(key, ast.Constant) and key.value in MESSAGE_NAMES) or _named_like_a_message(
            node.value, caught
        )
    return False


def _is_caught(node: ast.expr, caught: set[str]) -> bool:
    """An exception caught with ``except ... as name``, or an attribute of one."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in caught


def matches_on_messages(source: str) -> list[tuple[int, str]]:
    """(line, code) of every place in ``source`` that matches the text of a message."""
    tree = ast.parse(source)
    caught = {handler.name for handler in ast.walk(tree) if isinstance(handler, ast.ExceptHandler) and handler.name}
    found = []
    for node in ast.walk(tree):
        hit = False
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn):
                    hit |= _named_like_a_message(right, caught)
                elif isinstance(op, ast.Eq | ast.NotEq):
                    sides = (node.left, right)
                    hit |= any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides) and any(
                        _named_like_a_message(s, caught) for s in sides
                    )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MATCHING_METHODS:
                hit = _named_like_a_message(node.func.value, caught)
            elif (
                isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.func.attr in RE_FUNCTIONS
            ):
                hit = any(_named_like_a_message(arg, caught) for arg in node.args)
        if hit:
            found.append((node.lineno, ast.unparse(node)))
    return found


def _modules() -> list[Path]:
    return sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))


def test_the_scan_covers_the_code_that_raises_and_handles_errors():
    scanned = {path.relative_to(ROOT).as_posix() for path in _modules()}
    assert {"tasks/stages.py", "tasks/sources/files.py", "kume/cli.py", "flows/select_clusters.py"} <= scanned


@pytest.mark.parametrize("path", _modules(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_control_flow_on_the_wording_of_a_message(path):
    assert matches_on_messages(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "code",
    [
        'label = error.split(": ", 1)[0]',  # what carry-over did before issue 14
        'if "Too many columns specified" not in str(failure):\n    pass',
        'skipped = [row for row in rows if row["error"].startswith("NOT READ")]',
        "line = re.search(r'line (\\d+)', str(failure))",
        'same = info["errors"][0] == "x.csv: no header row"',
        'if "lacks tables" in message:\n    pass',
        'first = failure.args[0].partition(":")',
        'quality[quality.error.str.startswith("NOT READ")]',
    ],
)
def test_the_scan_finds_matching_on_a_message(code):
    source = f"try:\n    pass\nexcept Exception as failure:\n    pass\n{code}\n"
    assert matches_on_messages(source)


@pytest.mark.parametrize(
    "code",
    [
        'key = (failure["source"], failure["file"])',  # fields of a typed failure
        'print(f"kume run failed: {error}")',  # writing a message is fine
        'exit_code = 2 if any("error" in report for report in reports) else 0',  # a key, not wording
        'frame = frame.drop(columns="_file_order", errors="ignore")',
        'labels.str.startswith(f"{name}:")',
    ],
)
def test_the_scan_leaves_fields_and_written_messages_alone(code):
    assert matches_on_messages(code) == []
