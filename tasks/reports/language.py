"""The words of the reports, one file per language (``text/tr.json``, ``text/en.json``): the
datasets hold codes (an ``assessment``, a ``size_basis``), the reports say them in the
language asked for."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

TEXT_DIR = Path(__file__).parent / "text"


@cache
def report_text(language: str) -> dict:
    """Every string a report shows in ``language`` (``tr`` or ``en``), by key; ``assessments``
    by the consultation's assessment code, ``largest`` by the basis of the size rank."""
    return json.loads((TEXT_DIR / f"{language}.json").read_text(encoding="utf-8"))
