"""Problems kume reports rather than crashes on: a bad input, a refused publication."""

from __future__ import annotations

import re


class KumeError(Exception):
    """A problem with the inputs, the parameters or a publication, described for the operator:
    the message names the province, the file and the rule where they apply."""


class SourceUnavailableError(KumeError):
    """A source could not be reached (a database connection): transient, worth a retry."""


class InputDataError(KumeError, ValueError):
    """The accepted inputs cannot give what the run asks for (a year missing from the data)."""


# Characters that would break a log or terminal line, or reorder what it shows: C0 and C1
# control characters (line breaks, tabs, escape sequences), the Unicode line and paragraph
# separators and the bidirectional marks and overrides.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` fit for one line of a log or a terminal: a file name with a line break cannot
    forge a second line. Each character above is written escaped as Python writes it (``\\n``,
    ``\\t``, ``\\x1b``, ``\\u202e``); every other character, Turkish letters included, as it is.
    Data files (the manifest's JSON, Parquet) keep names raw."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], str(text))
