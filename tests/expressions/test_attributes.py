"""How attribute values of each Python type flow into and out of expressions."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from provisioning.expressions import (
    Evaluation,
    ExpressionError,
    ExpressionEvaluationError,
    evaluate,
    evaluate_detailed,
    parse,
)


@pytest.mark.parametrize("value, expected", [
    ("text", "text"),
    (True, "True"),
    (False, "False"),
    (42, "42"),
    (-7, "-7"),
    (1.0, "1"),
    (1.5, "1.5"),
    (Decimal("2.50"), "2.5"),
    (datetime(2021, 6, 30, 8, 0, tzinfo=timezone.utc), "2021-06-30T08:00:00Z"),
    (datetime(2021, 6, 30, 10, 0, tzinfo=timezone(timedelta(hours=2))), "2021-06-30T08:00:00Z"),
    (datetime(2021, 6, 30, 8, 0), "2021-06-30T08:00:00Z"),
    (date(2021, 6, 30), "2021-06-30"),
    (None, None),
])
def test_it_flows_each_type_of_attribute_as_text(value, expected):
    assert evaluate("[attribute]", {"attribute": value}) == expected


def test_it_flows_a_list_as_a_list_of_text():
    assert evaluate("[values]", {"values": ["a", 1, True, None]}) == ["a", "1", "True"]


def test_it_treats_an_empty_list_as_null():
    assert evaluate("[values]", {"values": []}) is None
    assert evaluate("IsNull([values])", {"values": [None]}) == "True"


def test_it_treats_a_missing_attribute_as_null():
    assert evaluate("[missing]", {}) is None


def test_it_reads_attribute_names_case_sensitively():
    assert evaluate("[displayname]", {"displayName": "John"}) is None
    assert evaluate("[displayName]", {"displayName": "John"}) == "John"


def test_it_returns_an_evaluation_with_the_value():
    assert evaluate_detailed('ToUpper("a")', {}) == Evaluation("A", ignore_flow=False, redact=False)


def test_it_evaluates_a_parsed_expression_many_times():
    expression = parse("ToLower([mail])")
    assert [evaluate(expression, {"mail": mail}) for mail in ("A@B.C", "X@Y.Z")] == ["a@b.c", "x@y.z"]


def test_it_reports_evaluation_errors_as_expression_errors_with_the_function_and_position():
    with pytest.raises(ExpressionError) as caught:
        evaluate('Append("x", CDate([hireDate]))', {"hireDate": "soon"})
    error = caught.value
    assert isinstance(error, ExpressionEvaluationError)
    assert (error.function, error.position) == ("CDate", 12)
    assert str(error) == f"{error.message} (in CDate at character 12)"


def test_it_refuses_a_value_longer_than_a_million_characters():
    with pytest.raises(ExpressionEvaluationError, match="longer than"):
        evaluate("Join(\"\", [a], [a])", {"a": "x" * 600_000})


def test_it_stops_a_catastrophic_pattern_in_replace_quickly():
    import time

    started = time.monotonic()
    with pytest.raises(ExpressionEvaluationError, match="took too long") as caught:
        evaluate('Replace([a], , "(a+)+$", , "", , )', {"a": "a" * 5000 + "b"})
    assert time.monotonic() - started < 2
    assert caught.value.function == "Replace"
