"""Scoping filter clauses and filters, per Microsoft's "Scoping filters" page."""

from datetime import datetime, timezone

import pytest

from provisioning.expressions import ExpressionEvaluationError
from provisioning.expressions.scoping import OPERATORS, ScopingError, evaluate_clause, matches, validate_clause


class TestOperators:
    def test_it_offers_the_operators_of_the_entra_portal(self):
        assert {value for value, _ in OPERATORS} == {
            "EQUALS", "NOT EQUALS", "IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL", "REGEX MATCH",
            "NOT REGEX MATCH", "Greater_Than", "Greater_Than_OR_EQUALS", "Includes", "ENDS_WITH", "&", "!&",
        }
        assert all(value == label for value, label in OPERATORS)

    def test_it_accepts_an_operator_in_any_case_or_with_underscores(self):
        assert validate_clause("not_equals", "x") == "NOT EQUALS"
        assert validate_clause("GREATER THAN", "1") == "Greater_Than"


class TestBitwise:
    def test_and_holds_when_a_bit_is_shared(self):
        assert evaluate_clause(514, "&", "2")  # userAccountControl of a disabled account: 512 | 2
        assert evaluate_clause("514", "&", "6")
        assert not evaluate_clause(512, "&", "2")

    def test_not_and_holds_when_no_bit_is_shared(self):
        assert evaluate_clause(512, "!&", "2")
        assert not evaluate_clause(514, "!&", "2")

    def test_a_value_that_is_not_an_integer_matches_neither(self):
        for value in ("Sales", "2.5", None, ""):
            assert not evaluate_clause(value, "&", "2")
            assert not evaluate_clause(value, "!&", "2")

    def test_a_multi_valued_attribute_holds_when_any_value_does(self):
        assert evaluate_clause([1, 4], "&", "4")
        assert evaluate_clause([1, 4], "!&", "2")

    @pytest.mark.parametrize("operator", ["&", "!&"])
    def test_the_clause_value_must_be_an_integer(self, operator):
        with pytest.raises(ScopingError, match=f'{operator} tests the bits of an integer, and "two" is not an integer'):
            validate_clause(operator, "two")
        with pytest.raises(ScopingError, match="needs a value"):
            validate_clause(operator, "")


class TestEquality:
    def test_it_matches_exactly_and_case_sensitively(self):
        assert evaluate_clause("Sales", "EQUALS", "Sales")
        assert not evaluate_clause("sales", "EQUALS", "Sales")
        assert not evaluate_clause("Sales ", "EQUALS", "Sales")

    def test_it_compares_not_equals_case_sensitively(self):
        assert evaluate_clause("sales", "NOT EQUALS", "Sales")
        assert not evaluate_clause("Sales", "NOT EQUALS", "Sales")

    def test_it_is_false_for_a_null_or_empty_value_either_way(self):
        for value in (None, "", []):
            assert not evaluate_clause(value, "EQUALS", "Sales")
            assert not evaluate_clause(value, "NOT EQUALS", "Sales")

    def test_it_compares_booleans_as_text(self):
        assert evaluate_clause(True, "EQUALS", "True")


class TestBooleans:
    @pytest.mark.parametrize("value, is_true, is_false", [
        (True, True, False), (False, False, True), ("true", True, False), ("False", False, True),
        ("yes", False, False), (None, False, False),
    ])
    def test_it_reads_boolean_values(self, value, is_true, is_false):
        assert evaluate_clause(value, "IS TRUE", None) is is_true
        assert evaluate_clause(value, "IS FALSE", None) is is_false


class TestNull:
    @pytest.mark.parametrize("value, is_null", [(None, True), ("", True), ([], True), ("x", False), (0, False),
                                                (False, False), (["a"], False)])
    def test_it_tests_for_absent_or_empty(self, value, is_null):
        assert evaluate_clause(value, "IS NULL", "") is is_null
        assert evaluate_clause(value, "IS NOT NULL", "") is (not is_null)


class TestRegex:
    def test_it_matches_the_reference_examples(self):
        assert evaluate_clause("john@domain.com", "REGEX MATCH", ".*\\@domain.com")
        assert not evaluate_clause("john@other.com", "REGEX MATCH", ".*\\@domain.com")
        assert evaluate_clause("1500000", "REGEX MATCH", "(1[0-9][0-9][0-9][0-9][0-9][0-9])")
        assert evaluate_clause("42", "REGEX MATCH", "([1-9][0-9])")

    def test_it_searches_anywhere_unless_anchored(self):
        assert evaluate_clause("x42y", "REGEX MATCH", "[0-9]+")
        assert not evaluate_clause("x42y", "REGEX MATCH", "^[0-9]+$")

    def test_it_is_case_sensitive(self):
        assert not evaluate_clause("SALES", "REGEX MATCH", "sales")

    def test_it_negates_with_not_regex_match(self):
        assert evaluate_clause("john@other.com", "NOT REGEX MATCH", ".*\\@domain.com")
        assert not evaluate_clause("john@domain.com", "NOT REGEX MATCH", ".*\\@domain.com")

    def test_it_returns_false_for_null_with_not_regex_match(self):
        assert not evaluate_clause(None, "NOT REGEX MATCH", ".*\\@domain.com")
        assert not evaluate_clause("", "NOT REGEX MATCH", ".*\\@domain.com")


class TestNumbers:
    @pytest.mark.parametrize("value, greater, greater_or_equal", [
        ("1000001", True, True), ("1000000", False, True), ("999999", False, False), (1500000, True, True),
        ("abc", False, False), ("1.5e6", False, False), (None, False, False),
    ])
    def test_it_compares_integers(self, value, greater, greater_or_equal):
        assert evaluate_clause(value, "Greater_Than", "1000000") is greater
        assert evaluate_clause(value, "Greater_Than_OR_EQUALS", "1000000") is greater_or_equal

    def test_it_compares_numerically_not_as_text(self):
        assert evaluate_clause("10", "Greater_Than", "9")


class TestText:
    def test_it_finds_a_substring_case_sensitively_with_includes(self):
        assert evaluate_clause("Engineering", "Includes", "gine")
        assert not evaluate_clause("Engineering", "Includes", "GINE")

    def test_it_finds_one_entry_of_a_comma_separated_value_with_includes(self):
        assert evaluate_clause("Sales,Marketing,Support", "Includes", "Marketing")

    def test_it_tests_the_end_of_a_value(self):
        assert evaluate_clause("john@contoso.com", "ENDS_WITH", "@contoso.com")
        assert not evaluate_clause("john@contoso.com.evil", "ENDS_WITH", "@contoso.com")


class TestMultiValued:
    def test_it_holds_when_any_value_satisfies_a_positive_clause(self):
        assert evaluate_clause(["a", "Sales"], "EQUALS", "Sales")
        assert evaluate_clause(["x@a.com", "y@b.com"], "ENDS_WITH", "@b.com")

    def test_it_holds_when_no_value_matches_a_negative_clause(self):
        assert evaluate_clause(["a", "b"], "NOT EQUALS", "Sales")
        assert not evaluate_clause(["a", "Sales"], "NOT EQUALS", "Sales")


class TestValidation:
    def test_it_refuses_an_unknown_operator(self):
        with pytest.raises(ScopingError, match='"LIKE" is not a scoping operator'):
            validate_clause("LIKE", "x")

    def test_it_refuses_an_invalid_regular_expression(self):
        with pytest.raises(ScopingError, match="not a valid regular expression"):
            validate_clause("REGEX MATCH", "([1-9]")

    @pytest.mark.parametrize("value", ["ten", "1.5", ""])
    def test_it_refuses_a_non_integer_for_greater_than(self, value):
        with pytest.raises(ScopingError):
            validate_clause("Greater_Than", value)

    def test_it_requires_a_value_for_binary_operators(self):
        with pytest.raises(ScopingError, match="needs a value"):
            validate_clause("EQUALS", None)

    def test_it_ignores_the_value_of_unary_operators(self):
        assert validate_clause("IS NULL", None) == "IS NULL"

    def test_it_validates_before_evaluating(self):
        with pytest.raises(ScopingError):
            evaluate_clause("x", "Greater_Than", "x")


class TestFilters:
    # The reference's example: New York, Engineering, employee id between 1,000,000 and 2,000,000, a job title.
    NEW_YORK_ENGINEERS = [[
        ("state", "EQUALS", "New York"),
        ("department", "EQUALS", "Engineering"),
        ("employeeId", "Greater_Than_OR_EQUALS", "1000000"),
        ("employeeId", "NOT REGEX MATCH", "^([2-9]|[1-9][0-9])[0-9]{6}$|^[0-9]{8,}$"),
        ("jobTitle", "IS NOT NULL", ""),
    ]]
    ENGINEER = {"state": "New York", "department": "Engineering", "employeeId": "1234567", "jobTitle": "Dev"}

    def test_it_puts_everything_in_scope_without_filters(self):
        assert matches([], {})

    def test_it_requires_every_clause_of_a_filter(self):
        assert matches(self.NEW_YORK_ENGINEERS, self.ENGINEER)
        for attribute, value in [("state", "Ohio"), ("department", "Sales"), ("employeeId", "999"),
                                 ("employeeId", "2000001"), ("jobTitle", None)]:
            assert not matches(self.NEW_YORK_ENGINEERS, {**self.ENGINEER, attribute: value}), attribute

    def test_it_accepts_any_one_filter(self):
        filters = [[("department", "EQUALS", "Sales")], [("department", "EQUALS", "Engineering")]]
        assert matches(filters, {"department": "Engineering"})
        assert not matches(filters, {"department": "Support"})

    def test_it_reads_attribute_names_case_sensitively(self):
        assert not matches([[("Department", "EQUALS", "Sales")]], {"department": "Sales"})

    def test_it_reads_datetimes_as_graph_writes_them(self):
        moment = datetime(2021, 6, 30, 8, 0, tzinfo=timezone.utc)
        assert matches([[("employeeHireDate", "REGEX MATCH", "^2021-")]], {"employeeHireDate": moment})


class TestSlowPatterns:
    def test_it_stops_a_catastrophic_pattern_quickly(self):
        import time

        started = time.monotonic()
        with pytest.raises(ExpressionEvaluationError, match="took too long"):
            evaluate_clause("a" * 5000 + "b", "REGEX MATCH", "(a+)+$")
        assert time.monotonic() - started < 2
