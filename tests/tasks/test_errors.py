"""The one hierarchy of kume's errors: every error kume raises for the operator is a
``KumeError`` with a one-line message and the fields code acts on."""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path

import pytest

from tasks import errors
from tasks.errors import (
    EmbeddedServerError,
    IndicatorInputError,
    InputDataError,
    InputFileError,
    KumeError,
    NationalInputError,
    OutputValidationError,
    ParameterError,
    PublishError,
    RowAccountingError,
    ServeError,
    SourceUnavailableError,
    SqlSchemaError,
)

EXAMPLES = [
    InputFileError(Path("/data/sources/chamber_registry/x.csv"), "no header row", "chamber_registry", [55]),
    SourceUnavailableError("agency_db", "agency_db: cannot reach the agency database"),
    InputDataError("no accepted SGK employment rows"),
    NationalInputError([{"source": "sgk_employment", "file": "sgk.csv", "problem": "no header row", "provinces": []}]),
    ParameterError("reference_year", "reference year 2099 is not in the data"),
    RowAccountingError("consultation", 10, 8, 1),
    OutputValidationError(["selection: OUT-SEL-02 total score outside 0-100 (rows [3])"]),
    IndicatorInputError("facts.csv", "no such facts file"),
    EmbeddedServerError("the temporary Prefect server did not answer within 90 s"),
    ServeError("the Prefect API at http://127.0.0.1:4200/api did not answer within 60 s"),
    PublishError("run r has no complete snapshot to switch to"),
    SqlSchemaError("SQL table kume_selection has another schema"),
]


def test_every_error_of_the_module_is_a_kume_error_and_every_one_has_an_example():
    classes = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)}
    assert all(issubclass(c, KumeError) for c in classes)
    assert classes == {KumeError} | {type(e) for e in EXAMPLES}


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_the_message_is_one_line_and_the_error_survives_pickling_with_its_fields(error):
    assert "\n" not in str(error)
    again = pickle.loads(pickle.dumps(error))  # Prefect keeps the error a task or flow ended with
    assert type(again) is type(error) and str(again) == str(error) and vars(again) == vars(error)


def test_a_file_error_carries_source_file_problem_and_provinces():
    error = InputFileError(Path("/data/x.csv"), "no header row", "chamber_registry", [55, 19])
    assert (error.source, error.file, error.problem, error.provinces) == (
        "chamber_registry",
        "/data/x.csv",
        "no header row",
        (55, 19),
    )
    assert str(error) == "/data/x.csv: no header row"
    assert error.failure() == {
        "source": "chamber_registry",
        "file": "/data/x.csv",
        "problem": "no header row",
        "provinces": [55, 19],
    }
    assert InputFileError("x.csv", "no such file").source is None  # a reader that does not know it


def test_the_mixins_callers_catch_are_kept():
    assert isinstance(InputDataError("x"), ValueError) and isinstance(ParameterError("p", "x"), ValueError)
    assert isinstance(IndicatorInputError("f", "x"), ValueError) and isinstance(OutputValidationError([]), ValueError)
    assert isinstance(SqlSchemaError("x"), PublishError) and isinstance(PublishError("x"), RuntimeError)
    assert isinstance(NationalInputError([]), RuntimeError) and isinstance(
        RowAccountingError("s", 1, 0, 0), RuntimeError
    )


def test_the_fields_say_what_the_messages_say():
    accounting = RowAccountingError("consultation", 10, 8, 1)
    assert (accounting.source, accounting.rows_in, accounting.rows_accepted, accounting.rows_quarantined) == (
        "consultation",
        10,
        8,
        1,
    )
    assert str(accounting) == "consultation: 10 rows in != 8 accepted + 1 quarantined"
    problems = ["selection: OUT-SEL-02 total score outside 0-100 (rows [3])", "scores: OUT-SCO-01 x (rows [1])"]
    refused = OutputValidationError(problems)
    assert refused.problems == problems and str(refused) == "output validation failed, nothing published: " + "; ".join(
        problems
    )
    custom = IndicatorInputError(Path("facts.csv"), "facts lacks required columns ['year']")
    assert (custom.file, custom.problem, str(custom)) == (
        "facts.csv",
        "facts lacks required columns ['year']",
        "facts.csv: facts lacks required columns ['year']",
    )
