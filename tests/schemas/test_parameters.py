"""Run parameters (``schemas.parameters``): what each knob accepts and refuses, the provinces
canonicalised, and a run request's selection parameters."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.parameters import (
    CriteriaWeights,
    EligibilityGates,
    RelatednessParameters,
    Robustness,
    RunRequest,
    RunTarget,
    SelectionParameters,
)


@pytest.mark.parametrize("weights", [(0.5, 0.5, 0.5, 0.5), (-0.25, 0.75, 0.25, 0.25)])
def test_weights_are_validated(weights):
    with pytest.raises(ValidationError):
        CriteriaWeights(**dict(zip(CriteriaWeights.model_fields, weights, strict=True)))


def test_robustness_settings_are_validated():
    with pytest.raises(ValidationError):
        SelectionParameters(robustness={"draws": 10})


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"economic_impact": 0.7, "demand": 0.2, "networking": 0.2, "factor_conditions": 0.2}, "must sum to 1"),
        ({"economic_impact": -0.1, "demand": 0.5, "networking": 0.3, "factor_conditions": 0.3}, "greater than"),
    ],
)
def test_invalid_weights_are_refused_by_the_request_model(weights, message):
    with pytest.raises(ValueError, match=message):
        RunRequest(weights=weights)


def test_province_names_are_accepted_in_any_spelling_and_unknown_ones_refused():
    request = RunRequest(provinces=["kahramanmaras", "SAMSUN", "55", "Çorum"])
    assert request.provinces == ["Çorum", "Kahramanmaraş", "Samsun"]
    with pytest.raises(ValueError, match="Atlantis"):
        RunRequest(provinces=["Atlantis"])


# ---- criteria weights --------------------------------------------------------------------


def test_default_weights_are_equal_and_as_dict_keeps_the_criteria_order():
    assert CriteriaWeights().as_dict() == {
        "economic_impact": 0.25,
        "demand": 0.25,
        "networking": 0.25,
        "factor_conditions": 0.25,
    }


def test_weights_may_be_zero_and_need_sum_to_one_only_within_a_millionth():
    assert CriteriaWeights(economic_impact=1, demand=0, networking=0, factor_conditions=0).economic_impact == 1
    third = 0.3333333  # three of them sum to 0.9999999: within 1e-6 of 1
    assert CriteriaWeights(economic_impact=third, demand=third, networking=third, factor_conditions=0)
    with pytest.raises(ValidationError, match="must sum to 1, got 0.99999"):
        CriteriaWeights(economic_impact=0.25, demand=0.25, networking=0.25, factor_conditions=0.24999)


def test_all_zero_weights_are_refused():
    with pytest.raises(ValidationError, match="must sum to 1, got 0"):
        CriteriaWeights(economic_impact=0, demand=0, networking=0, factor_conditions=0)


# ---- eligibility gates and robustness ----------------------------------------------------


def test_gates_defaults_and_zero_is_the_lowest_bound():
    assert EligibilityGates().model_dump() == {"min_firms": 10, "min_employment": 100, "min_lq_employment": 1.0}
    assert EligibilityGates(min_firms=0, min_employment=0, min_lq_employment=0).min_firms == 0


@pytest.mark.parametrize(
    ("field", "value"), [("min_firms", -1), ("min_employment", -0.5), ("min_lq_employment", -0.01)]
)
def test_negative_gates_are_refused(field, value):
    with pytest.raises(ValidationError, match=field):
        EligibilityGates(**{field: value})


@pytest.mark.parametrize(
    "settings",
    [{"draws": 1000}, {"draws": 100_000}, {"kappa": 0.001}, {"robust_share": 1.0}, {"robust_share": 0.001}],
)
def test_robustness_accepts_its_bounds(settings):
    robustness = Robustness(**settings)
    assert robustness.model_dump() == {**Robustness().model_dump(), **settings}


@pytest.mark.parametrize(
    "settings",
    [{"draws": 999}, {"draws": 100_001}, {"kappa": 0}, {"kappa": -1}, {"robust_share": 0}, {"robust_share": 1.01}],
)
def test_robustness_refuses_beyond_its_bounds(settings):
    with pytest.raises(ValidationError, match=next(iter(settings))):
        Robustness(**settings)


def test_robustness_defaults():
    assert Robustness().model_dump() == {"draws": 1000, "kappa": 50.0, "robust_share": 0.75, "seed": 20111001}


# ---- relatedness ---------------------------------------------------------------------------


def test_relatedness_defaults_are_methodology_s_and_part_of_the_run_form():
    assert RelatednessParameters().model_dump() == {"min_employment": 10.0, "window": 3, "leave_one_out": False}
    assert SelectionParameters().relatedness == RelatednessParameters()
    form = RunRequest(relatedness={"window": 5, "leave_one_out": True}).selection_parameters().relatedness
    assert (form.min_employment, form.window, form.leave_one_out) == (10.0, 5, True)


@pytest.mark.parametrize(
    "settings", [{"min_employment": 0}, {"window": 1}, {"window": 10}, {"min_employment": 2.5, "leave_one_out": True}]
)
def test_relatedness_accepts_its_bounds(settings):
    assert RelatednessParameters(**settings).model_dump() == {**RelatednessParameters().model_dump(), **settings}


@pytest.mark.parametrize("settings", [{"min_employment": -1}, {"window": 0}, {"window": 11}])
def test_relatedness_refuses_beyond_its_bounds(settings):
    with pytest.raises(ValidationError, match=next(iter(settings))):
        RelatednessParameters(**settings)


# ---- selection parameters ----------------------------------------------------------------


@pytest.mark.parametrize(("spans", "primary"), [([5, 3, 10], 5), ([1], 1), ([30, 1], 30)])
def test_growth_spans_from_1_to_30_years_and_the_first_is_scored(spans, primary):
    assert SelectionParameters(growth_spans=spans).growth_years == primary


@pytest.mark.parametrize("spans", [[0], [31], [5, 31], [5, -3]])
def test_growth_spans_beyond_1_to_30_years_are_refused(spans):
    with pytest.raises(ValidationError, match="growth_spans must be between 1 and 30 years"):
        SelectionParameters(growth_spans=spans)


def test_growth_spans_may_not_be_empty():
    with pytest.raises(ValidationError, match="growth_spans"):
        SelectionParameters(growth_spans=[])


def test_selection_defaults():
    parameters = SelectionParameters()
    assert parameters.growth_spans == [5, 3, 10] and parameters.growth_years == 5
    assert parameters.reference_year is None and parameters.universe is None
    assert parameters.top_n == 5 and parameters.report_language == "tr"
    assert parameters.weights == CriteriaWeights() and parameters.gates == EligibilityGates()


@pytest.mark.parametrize("settings", [{"top_n": 0}, {"top_n": 51}, {"report_language": "de"}])
def test_top_n_and_report_language_are_bounded(settings):
    with pytest.raises(ValidationError, match=next(iter(settings))):
        SelectionParameters(**settings)


# ---- run target --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (["Istanbul", "IZMIR", "igdir"], ["Iğdır", "İstanbul", "İzmir"]),  # ASCII and any case -> Turkish name
        (["6", 34, "81"], ["Ankara", "Düzce", "İstanbul"]),  # plate codes, as text or number
        (["Ankara", "ANKARA", "ankara", "6"], ["Ankara"]),  # once each
        (["Zonguldak", "Çorum", "Adana", "Şırnak"], ["Adana", "Çorum", "Şırnak", "Zonguldak"]),  # in folded order
        ([], []),  # empty = all 81
    ],
)
def test_run_target_keeps_the_turkish_names_once_each_in_order(written, canonical):
    assert RunTarget(provinces=written).provinces == canonical


def test_run_target_without_provinces_selects_all():
    assert RunTarget().provinces == []


def test_run_target_accepts_two_digit_plate_codes():
    assert RunTarget(provinces=["06", "01"]).provinces == ["Adana", "Ankara"]


# ---- run request -------------------------------------------------------------------------


def test_selection_parameters_of_a_request_are_its_selection_fields_only():
    request = RunRequest(
        provinces=["Samsun"],
        reference_year=2021,
        growth_spans=[3, 5],
        universe=["28.93"],
        weights={"economic_impact": 0.4, "demand": 0.2, "networking": 0.2, "factor_conditions": 0.2},
        gates={"min_firms": 3},
        robustness={"draws": 2000, "seed": 7},
        top_n=10,
        report_language="en",
        force=True,
        publish=False,
        reason="a test",
    )
    parameters = request.selection_parameters()
    assert type(parameters) is SelectionParameters
    assert parameters == SelectionParameters(
        reference_year=2021,
        growth_spans=[3, 5],
        universe=["28.93"],
        weights=CriteriaWeights(economic_impact=0.4, demand=0.2, networking=0.2, factor_conditions=0.2),
        gates=EligibilityGates(min_firms=3),
        robustness=Robustness(draws=2000, seed=7),
        top_n=10,
        report_language="en",
    )
    assert set(parameters.model_dump()) == set(SelectionParameters.model_fields)
    assert not {"provinces", "force", "publish", "reason"} & set(parameters.model_dump())


def test_a_default_request_gives_the_default_selection_parameters():
    request = RunRequest()
    assert request.selection_parameters() == SelectionParameters()
    assert request.provinces == [] and request.force is False and request.publish is True and request.reason == ""


def test_the_reason_is_at_most_500_characters():
    assert len(RunRequest(reason="x" * 500).reason) == 500
    with pytest.raises(ValidationError, match="reason"):
        RunRequest(reason="x" * 501)
