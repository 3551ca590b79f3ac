"""Problems kume reports rather than crashes on: a bad input, a refused parameter, a refused
publication. One hierarchy: every error kume raises for the operator is a ``KumeError`` whose
message is one line, and carries as fields what code may act on (code never reads the message)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa


class KumeError(Exception):
    """A problem with the inputs, the parameters or a publication, described for the operator:
    the message names the province, the file and the rule where they apply. ``kume`` prints it
    as one line."""

    def __reduce__(self) -> tuple:
        # Prefect pickles the errors a task or flow ends with; the subclasses take their fields
        # as arguments, so they are rebuilt from the message and the fields, not called again.
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(kind: type[KumeError], args: tuple, fields: dict) -> KumeError:
    error = kind.__new__(kind, *args)
    error.args = args
    error.__dict__.update(fields)
    return error


class InputFileError(KumeError):
    """A file (or the agency database) that cannot be read at all. ``source`` is the source it
    belongs to (None where the reader does not know it yet), ``file`` its name as the manifest
    gives it (or its path), ``problem`` what is wrong, ``provinces`` the plate codes it covered
    when known (else empty)."""

    def __init__(
        self, file: str | Path, problem: str, source: str | None = None, provinces: Sequence[int] = ()
    ) -> None:
        super().__init__(f"{file}: {problem}")
        self.source = source
        self.file = str(file)
        self.problem = problem
        self.provinces = tuple(provinces)

    def __reduce__(self) -> tuple:  # pickled whole, as the processes that read files return it
        return type(self), (self.file, self.problem, self.source, self.provinces)

    def failure(self) -> dict:
        """The failure as the stages record it (``failed`` of an ingested source, the manifest)."""
        return {"source": self.source, "file": self.file, "problem": self.problem, "provinces": list(self.provinces)}


class SourceUnavailableError(KumeError):
    """A source could not be reached (a database connection): transient, worth a retry."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source


class InputDataError(KumeError, ValueError):
    """The accepted inputs cannot give what the run asks for (a year missing from the data)."""


class NationalInputError(KumeError, RuntimeError):
    """A national source could not be read: nothing is published. ``failures`` are the files
    that failed, as ``InputFileError.failure`` gives them."""

    def __init__(self, failures: list[dict]) -> None:
        super().__init__(
            "national input could not be read, the previous publication stays current: "
            + "; ".join(f"{f['source']}: {f['file']}: {f['problem']}" for f in failures)
        )
        self.failures = failures


class ParameterError(KumeError, ValueError):
    """A run parameter the data or the method cannot answer: refused before any work.
    ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class RowAccountingError(KumeError, RuntimeError):
    """Validation lost or invented rows (rows in != accepted + quarantined): a defect of kume,
    never of the inputs; nothing is published."""

    def __init__(self, source: str, rows_in: int, rows_accepted: int, rows_quarantined: int) -> None:
        super().__init__(f"{source}: {rows_in} rows in != {rows_accepted} accepted + {rows_quarantined} quarantined")
        self.source = source
        self.rows_in = rows_in
        self.rows_accepted = rows_accepted
        self.rows_quarantined = rows_quarantined


class OutputValidationError(KumeError, ValueError):
    """A dataset about to be published breaks its suite: nothing is published. ``problems``
    name the dataset, the rule and the first failing rows, one per failed expectation."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("output validation failed, nothing published: " + "; ".join(problems))
        self.problems = problems


class IndicatorInputError(KumeError, ValueError):
    """A file given to ``kume indicators`` that does not follow its contract: ``file`` and what
    is wrong with it (``problem``)."""

    def __init__(self, file: str | Path, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = str(file)
        self.problem = problem


class EmbeddedServerError(KumeError):
    """The temporary Prefect server kume starts for a run did not start."""


class ServeError(KumeError, RuntimeError):
    """``kume serve`` cannot bring the operator's stack up (the API does not answer, a step failed)."""


class PublishError(KumeError, RuntimeError):
    """A publication that could not complete; the previous one stays current."""


class SqlSchemaError(PublishError):
    """The SQL database holds kume tables of another layout: nothing is written to it."""


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


def safe_url(url: str) -> str:
    """A database URL as it may appear in logs and manifests: without its password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
