"""Functions that test and choose: Switch, IIF, Coalesce, the Is… family, Not, CBool,
IgnoreFlowIfNullOrEmpty, plus BitAnd, Guid and RandomString."""

import re
import string

import pytest

from provisioning.expressions import Evaluation, ExpressionEvaluationError, evaluate, evaluate_detailed

DEFAULT_DROPBOX_ACTIVE_MAPPING = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'


class TestDefaultUserMapping:
    def test_it_flows_true_for_an_active_user(self):
        assert evaluate(DEFAULT_DROPBOX_ACTIVE_MAPPING, {"IsSoftDeleted": False}) == "True"

    def test_it_flows_false_for_a_soft_deleted_user(self):
        assert evaluate(DEFAULT_DROPBOX_ACTIVE_MAPPING, {"IsSoftDeleted": True}) == "False"

    def test_it_reads_the_flag_as_text_too(self):
        assert evaluate(DEFAULT_DROPBOX_ACTIVE_MAPPING, {"IsSoftDeleted": "False"}) == "True"

    def test_it_flows_null_when_the_flag_is_missing(self):
        assert evaluate(DEFAULT_DROPBOX_ACTIVE_MAPPING, {}) is None


class TestSwitch:
    EXPRESSION = ('Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", '
                  '"SA", "Australia/Adelaide")')

    def test_it_reproduces_the_reference_example(self):
        assert evaluate(self.EXPRESSION, {"state": "QLD"}) == "Australia/Brisbane"

    def test_it_returns_the_default_for_no_match(self):
        assert evaluate(self.EXPRESSION, {"state": "WA"}) == "Australia/Sydney"

    def test_it_compares_case_sensitively(self):
        assert evaluate(self.EXPRESSION, {"state": "qld"}) == "Australia/Sydney"

    def test_it_matches_an_empty_key_for_an_empty_or_missing_source(self):
        expression = 'Switch([statusFlag], "Default Value", "true", "1", "", "0")'
        assert evaluate(expression, {"statusFlag": ""}) == "0"
        assert evaluate(expression, {}) == "0"
        assert evaluate(expression, {"statusFlag": "true"}) == "1"

    def test_it_supports_the_lowercase_workaround_of_the_reference(self):
        expression = 'Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")'
        for flag in ("True", "true", "TRUE"):
            assert evaluate(expression, {"statusFlag": flag}) == "1"

    def test_it_flows_a_default_from_ispresent_like_the_mapping_tutorial(self):
        expression = 'Switch(IsPresent([jobTitle]), "DefaultValue", "True", [jobTitle])'
        assert evaluate(expression, {"jobTitle": "Engineer"}) == "Engineer"
        assert evaluate(expression, {}) == "DefaultValue"

    def test_it_returns_an_empty_default_that_ignore_flow_can_catch(self):
        expression = 'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))'
        assert evaluate_detailed(expression, {"prefix": "3444"}) == Evaluation("Prof.")
        assert evaluate_detailed(expression, {"prefix": "1"}) == Evaluation(None, ignore_flow=True)

    def test_it_evaluates_only_the_chosen_value(self):
        expression = 'Switch("a", Mid("x", 0, 1), "a", "chosen", "b", Mid("x", 0, 1))'
        assert evaluate(expression, {}) == "chosen"


class TestIIF:
    def test_it_reproduces_the_reference_example(self):
        expression = 'IIF([country]="USA",[country],[department])'
        assert evaluate(expression, {"country": "USA", "department": "Sales"}) == "USA"
        assert evaluate(expression, {"country": "France", "department": "Sales"}) == "Sales"

    def test_it_nests_for_and_and_or(self):
        conjunction = 'IIF([country]="USA",IIF([state]="CA","True","False"),"False")'
        disjunction = 'IIF([country]="USA","True",IIF([state]="CA","True","False"))'
        assert evaluate(conjunction, {"country": "USA", "state": "CA"}) == "True"
        assert evaluate(conjunction, {"country": "USA", "state": "NY"}) == "False"
        assert evaluate(disjunction, {"country": "France", "state": "CA"}) == "True"
        assert evaluate(disjunction, {"country": "France", "state": "NY"}) == "False"

    def test_it_treats_a_missing_attribute_as_empty_in_a_comparison(self):
        # Azure documents this case as failing; here it does what it says.
        assert evaluate('IIF([country]="","Other",[country])', {}) == "Other"
        assert evaluate('IIF(IsNullOrEmpty([country]),"Other",[country])', {"country": "Chile"}) == "Chile"

    @pytest.mark.parametrize("expression, expected", [
        ('IIF(7 > 5, "y", "n")', "y"),
        ('IIF("10" > "9", "y", "n")', "y"),
        ('IIF("b" > "a", "y", "n")', "y"),
        ('IIF(5 >= 5, "y", "n")', "y"),
        ('IIF(4 <= 3, "y", "n")', "n"),
        ('IIF(1 < 2, "y", "n")', "y"),
        ('IIF("a" <> "A", "y", "n")', "y"),
        ('IIF([n] = 7, "y", "n")', "y"),
        ('IIF("007" = "7", "y", "n")', "n"),
        ('IIF([flag] = "true", "y", "n")', "y"),
        ('IIF(CDate("2021-01-02") > CDate("2021-01-01"), "y", "n")', "y"),
    ])
    def test_it_compares_numbers_text_booleans_and_dates(self, expression, expected):
        assert evaluate(expression, {"n": "007", "flag": True}) == expected

    def test_it_combines_with_datediff_like_the_reference(self):
        expression = ('Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", '
                      '"True"), "0", "False")')
        from datetime import datetime

        now = datetime(2021, 8, 20, 12, 0, 0)
        assert evaluate(expression, {"Active": "1", "StatusHireDate": "2021-08-23"}, now=now) == "True"
        assert evaluate(expression, {"Active": "1", "StatusHireDate": "2021-09-30"}, now=now) == "False"
        assert evaluate(expression, {"Active": "0", "StatusHireDate": "2021-08-23"}, now=now) == "False"

    def test_it_refuses_a_condition_that_is_not_boolean(self):
        with pytest.raises(ExpressionEvaluationError, match="condition must be True or False"):
            evaluate('IIF([country], "a", "b")', {"country": "USA"})

    def test_it_evaluates_only_the_chosen_branch(self):
        assert evaluate('IIF("True", "ok", Mid("x", 0, 1))', {}) == "ok"


class TestCoalesce:
    def test_it_reproduces_the_reference_example(self):
        assert evaluate("Coalesce([mail],[userPrincipalName])", {"userPrincipalName": "John.Doe@contoso.com"}) == (
            "John.Doe@contoso.com"
        )

    def test_it_returns_the_default_when_every_source_is_null(self):
        assert evaluate('Coalesce([a], [b], "none")', {}) == "none"

    def test_it_returns_null_without_a_default(self):
        assert evaluate("Coalesce([a], [b])", {}) is None

    def test_it_does_not_skip_an_empty_string(self):
        assert evaluate('Coalesce([mail], "x")', {"mail": ""}) == ""

    def test_it_skips_an_empty_multi_valued_attribute(self):
        assert evaluate('Coalesce([otherMails], "x")', {"otherMails": []}) == "x"


class TestPresenceTests:
    @pytest.mark.parametrize("attributes, is_null, null_or_empty", [
        ({}, "True", "True"),
        ({"displayName": None}, "True", "True"),
        ({"displayName": ""}, "False", "True"),
        ({"displayName": "John"}, "False", "False"),
        ({"displayName": ["a", "b"]}, "False", "False"),
    ])
    def test_it_tells_absent_empty_and_present_apart(self, attributes, is_null, null_or_empty):
        assert evaluate("IsNull([displayName])", attributes) == is_null
        assert evaluate("IsNullOrEmpty([displayName])", attributes) == null_or_empty
        assert evaluate("IsPresent([displayName])", attributes) == ("False" if null_or_empty == "True" else "True")

    def test_it_evaluates_the_ispresent_example_of_the_reference(self):
        expression = ("Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),"
                      "[skiplevelManager], IsPresent([director]),[director])")
        # The source "True" matches no key ("False", "False"), so the default, [directManager], flows.
        assert evaluate(expression, {"directManager": "Jane"}) == "Jane"

    def test_it_says_whether_a_value_is_a_string(self):
        assert evaluate("IsString([a])", {"a": "x"}) == "True"
        assert evaluate("IsString([a])", {}) == "False"
        assert evaluate("IsString([a])", {"a": ["x", "y"]}) == "False"


class TestBooleans:
    @pytest.mark.parametrize("source, expected", [("True", "False"), ("true", "False"), ("False", "True"),
                                                  ("anything", "True")])
    def test_it_flips_true_and_anything_else(self, source, expected):
        assert evaluate("Not([s])", {"s": source}) == expected

    def test_it_flips_a_missing_value_to_true(self):
        assert evaluate("Not([s])", {}) == "True"

    def test_it_flips_a_boolean_attribute(self):
        assert evaluate("Not([accountEnabled])", {"accountEnabled": True}) == "False"

    def test_it_compares_attributes_with_cbool_like_the_reference(self):
        expression = "CBool([attribute1] = [attribute2])"
        assert evaluate(expression, {"attribute1": "x", "attribute2": "x"}) == "True"
        assert evaluate(expression, {"attribute1": "x", "attribute2": "y"}) == "False"

    @pytest.mark.parametrize("value, expected", [("1", "True"), ("0", "False"), ("-3", "True"), ("TRUE", "True"),
                                                 ("false", "False"), (None, "False"), (5, "True"), (0, "False")])
    def test_it_reads_non_zero_as_true(self, value, expected):
        assert evaluate("CBool([v])", {"v": value}) == expected

    def test_it_refuses_text_that_is_not_boolean(self):
        with pytest.raises(ExpressionEvaluationError, match="must be True or False"):
            evaluate('CBool("maybe")', {})


class TestIgnoreFlow:
    def test_it_drops_a_null_attribute_from_the_flow(self):
        assert evaluate_detailed("IgnoreFlowIfNullOrEmpty([department])", {}) == Evaluation(None, ignore_flow=True)

    def test_it_drops_an_empty_attribute_from_the_flow(self):
        result = evaluate_detailed("IgnoreFlowIfNullOrEmpty([department])", {"department": ""})
        assert result.ignore_flow

    def test_it_flows_a_present_value(self):
        assert evaluate_detailed("IgnoreFlowIfNullOrEmpty([department])", {"department": "Sales"}) == Evaluation("Sales")

    def test_it_makes_evaluate_return_none(self):
        assert evaluate("IgnoreFlowIfNullOrEmpty([department])", {}) is None

    def test_it_drops_the_attribute_even_when_nested(self):
        assert evaluate_detailed('Join(",", "a", IgnoreFlowIfNullOrEmpty([b]))', {}).ignore_flow

    def test_it_is_not_triggered_in_a_branch_not_taken(self):
        result = evaluate_detailed('IIF("True", "kept", IgnoreFlowIfNullOrEmpty([b]))', {})
        assert result == Evaluation("kept")


class TestRedact:
    def test_it_flows_the_value_and_asks_for_it_to_be_hidden_in_logs(self):
        assert evaluate_detailed("Redact([userPrincipalName])", {"userPrincipalName": "a@b.c"}) == Evaluation(
            "a@b.c", redact=True
        )


class TestBitAnd:
    def test_it_reproduces_the_reference_example(self):
        assert evaluate("BitAnd(&HF, &HF7)", {}) == "7"

    def test_it_reads_numbers_from_attributes(self):
        assert evaluate("BitAnd([userAccountControl], 2)", {"userAccountControl": "514"}) == "2"

    def test_it_is_null_for_a_null_value(self):
        assert evaluate("BitAnd([userAccountControl], 2)", {}) is None

    def test_it_refuses_a_value_that_is_not_a_number(self):
        with pytest.raises(ExpressionEvaluationError, match="value1 must be a whole number"):
            evaluate('BitAnd("x", 2)', {})


class TestGenerated:
    def test_it_generates_a_new_guid_each_time(self):
        first, second = evaluate("Guid()", {}), evaluate("Guid()", {})
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
        assert first != second

    def test_it_generates_digits_and_lower_case_like_the_first_example(self):
        value = evaluate("RandomString(6,3,0,0,3)", {})
        assert len(value) == 6
        assert sum(c.isdigit() for c in value) >= 3 and sum(c.islower() for c in value) >= 3

    def test_it_meets_every_minimum_and_avoids_characters_like_the_second_example(self):
        for _ in range(50):
            value = evaluate('RandomString(10,2,2,2,1,"?,")', {})
            assert len(value) == 10
            assert sum(c in string.digits for c in value) >= 2
            assert sum(c in string.punctuation for c in value) >= 2
            assert sum(c in string.ascii_uppercase for c in value) >= 2
            assert sum(c in string.ascii_lowercase for c in value) >= 1
            assert "?" not in value and "," not in value

    @pytest.mark.parametrize("expression, message", [
        ("RandomString(257,0,0,0,0)", "between 1 and 256"),
        ("RandomString(3,2,2,0,0)", "more than Length"),
        ('RandomString(4,4,0,0,0,"0123456789")', "excludes every such character"),
        ("RandomString(4,-1,0,0,0)", "0 or more"),
    ])
    def test_it_refuses_impossible_requirements(self, expression, message):
        with pytest.raises(ExpressionEvaluationError, match=message):
            evaluate(expression, {})
