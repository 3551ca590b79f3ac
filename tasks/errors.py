"""Problems kume reports rather than crashes on: a bad input, a refused publication."""

from __future__ import annotations


class KumeError(Exception):
    """A problem with the inputs, the parameters or a publication, described for the operator:
    the message names the province, the file and the rule where they apply."""


class SourceUnavailableError(KumeError):
    """A source could not be reached (a database connection): transient, worth a retry."""


class InputDataError(KumeError, ValueError):
    """The accepted inputs cannot give what the run asks for (a year missing from the data)."""
