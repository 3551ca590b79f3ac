"""A run's processes keep NumPy's arrays in the system's ordinary pages, not huge ones (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kume.settings import PROJECT_ROOT
from tasks.memory import HUGE_PAGES_SETTING

HUGE_PAGES = Path("/sys/kernel/mm/transparent_hugepage/enabled")
needs_huge_pages = pytest.mark.skipif(
    not HUGE_PAGES.exists() or "[never]" in HUGE_PAGES.read_text(), reason="Linux with transparent huge pages"
)

# An array of 64 MB filled in a process, then the huge pages Linux backs its memory with (the
# AnonHugePages of the mapping that holds it, /proc/self/smaps), before and after
# keep_freed_memory, which the flow and every process it forks call first.
ARRAY_PAGES = """
import json, sys
import numpy as np
from tasks.memory import keep_freed_memory

def huge_kib(array):
    start = array.__array_interface__["data"][0]
    end, total, mapping = start + array.nbytes, 0, False
    for line in open("/proc/self/smaps"):  # the array's range may span several mappings
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:
            low, high = (int(part, 16) for part in fields[0].split("-"))
            mapping = low < end and start < high
        elif mapping and fields[0] == "AnonHugePages:":
            total += int(fields[1])
    return total

def filled():
    array = np.ones(1 << 23)
    return array, huge_kib(array)

before = filled()
keep_freed_memory()
after = filled()
print(json.dumps({"before": before[1], "after": after[1]}))
"""


@needs_huge_pages
def test_numpy_arrays_are_in_ordinary_pages_once_the_run_keeps_its_freed_memory():
    pages = _array_pages({})
    assert pages["after"] == 0
    if "[madvise]" in HUGE_PAGES.read_text() or "[always]" in HUGE_PAGES.read_text():
        # the same array took huge pages before: the test sees what the switch changes
        assert pages["before"] > 0, pages


@needs_huge_pages
def test_an_environment_that_sets_numpy_s_huge_pages_keeps_its_choice():
    assert _array_pages({HUGE_PAGES_SETTING: "0"}) == {"before": 0, "after": 0}
    if "[madvise]" in HUGE_PAGES.read_text():  # only NumPy's advice gives huge pages
        kept = _array_pages({HUGE_PAGES_SETTING: "1"})
        assert kept["before"] > 0 and kept["after"] > 0, kept


def _array_pages(env: dict[str, str]) -> dict[str, int]:
    """``ARRAY_PAGES`` run with ``env`` added to this environment (NumPy's setting removed first)."""
    environment = {name: value for name, value in os.environ.items() if name != HUGE_PAGES_SETTING}
    done = subprocess.run(
        [sys.executable, "-c", ARRAY_PAGES],
        cwd=PROJECT_ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)
