"""Reading expression text: the syntax of Microsoft's reference, and errors that point at the character."""

import pytest

from provisioning.expressions import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Expression,
    ExpressionError,
    ExpressionEvaluationError,
    evaluate,
    parse,
    referenced_attributes,
)
from provisioning.expressions.nodes import Comparison, Constant, NumberLiteral, Omitted


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert not isinstance(caught.value, ExpressionEvaluationError)
    return caught.value


class TestSyntax:
    def test_it_parses_a_nested_call(self):
        expression = parse('ToLower(Join("@", [givenName], "contoso.com"))')
        assert isinstance(expression, Expression)
        assert expression.root.name == "ToLower"
        assert expression.root.args[0].name == "Join"

    def test_it_reads_an_empty_argument_between_commas(self):
        root = parse('Switch([IsSoftDeleted], , "False", "True", "True", "False")').root
        assert len(root.args) == 6
        assert isinstance(root.args[1], Omitted)

    def test_it_reads_empty_trailing_arguments(self):
        root = parse('Replace([mail], "@contoso.com", , ,"", ,)').root
        assert len(root.args) == 7
        assert [isinstance(arg, Omitted) for arg in root.args] == [False, False, True, True, False, True, True]

    def test_it_unescapes_quotes_and_backslashes(self):
        assert evaluate('"Company name: \\"Contoso\\""', {}) == 'Company name: "Contoso"'
        assert evaluate('"\\\\"', {}) == "\\"
        assert evaluate('"\\""', {}) == '"'

    def test_it_keeps_other_backslashes_as_written(self):
        assert evaluate('"\\d+"', {}) == "\\d+"

    def test_it_accepts_a_bare_attribute_as_the_whole_expression(self):
        assert evaluate("[mail]", {"mail": "a@contoso.com"}) == "a@contoso.com"

    def test_it_accepts_a_bare_literal_as_the_whole_expression(self):
        assert evaluate('"United States"', {}) == "United States"

    def test_it_reads_numbers_hex_numbers_and_compare_constants(self):
        root = parse('InStr("repEated", "e", 3, vbBinaryCompare)').root
        assert isinstance(root.args[2], NumberLiteral) and root.args[2].value == 3
        assert isinstance(root.args[3], Constant) and root.args[3].value == 0
        assert parse("BitAnd(&HF, &HF7)").root.args[1].value == 0xF7
        assert parse('DateAdd("d", -10, Now())').root.args[1].value == -10

    def test_it_reads_comparisons_in_arguments(self):
        root = parse('IIF([country]="USA",[country],[department])').root
        assert isinstance(root.args[0], Comparison)
        assert root.args[0].operator == "="
        assert parse('IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True")').root.args[0].operator == ">"

    def test_it_allows_whitespace_and_newlines_between_tokens(self):
        text = 'Switch([Active], , \n  "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), \n  "0", "False")'
        assert parse(text).root.name == "Switch"

    def test_it_caches_parsed_expressions(self):
        assert parse("ToUpper([a])") is parse("ToUpper([a])")


class TestErrors:
    def test_it_points_at_the_unclosed_quote(self):
        error = error_of('Append([mail], "@contoso.com)')
        assert error.position == 15
        assert "Unclosed quote" in str(error)

    def test_it_points_at_the_unclosed_bracket(self):
        error = error_of("Append([mail, \"x\")")
        assert error.position == 7
        assert "Unclosed bracket" in str(error)

    def test_it_points_at_the_end_when_a_parenthesis_is_missing(self):
        error = error_of("ToLower(Append([mail], \"x\")")
        assert error.position == len("ToLower(Append([mail], \"x\")")
        assert 'Missing ")"' in str(error)
        assert "ToLower( at character 0 is not closed" in str(error)

    def test_it_points_at_trailing_garbage(self):
        error = error_of('ToLower([mail]) "x"')
        assert error.position == 16
        assert "expected the end of the expression" in str(error)

    def test_it_points_at_an_extra_closing_parenthesis(self):
        assert error_of("ToLower([mail]))").position == 15

    def test_it_names_the_closest_function_for_a_wrongly_cased_name(self):
        error = error_of("Join(\",\", tolower([a]))")
        assert error.position == 10
        assert str(error) == 'Unknown function "tolower" at character 10: did you mean "ToLower"?'

    def test_it_names_the_closest_function_for_a_misspelled_name(self):
        assert '"NormalizeDiacritics"' in str(error_of("NormaliseDiacritics([givenName])"))
        assert '"Coalesce"' in str(error_of("Coalesc([a], [b])"))

    def test_it_points_at_the_function_name_for_wrong_arity(self):
        error = error_of('Join(",", Append([a], "b", "c"))')
        assert error.position == 10
        assert "Append takes 2 arguments, got 3" in str(error)
        assert "Append(source, suffix)" in str(error)

    def test_it_requires_key_value_pairs_in_switch(self):
        error = error_of('Switch([a], "d", "k1", "v1", "k2")')
        assert error.position == 0
        assert "key and value" in error.message

    def test_it_says_an_argument_is_expected_for_an_empty_required_one(self):
        error = error_of("Append([mail],)")
        assert error.position == 14
        assert str(error).startswith('Unexpected ")" at character 14: expected an argument')

    def test_it_points_at_the_comma_after_an_empty_required_argument(self):
        error = error_of('Mid([a], , 3)')
        assert error.position == 9
        assert str(error).startswith('Unexpected "," at character 9: expected an argument')

    def test_it_refuses_an_expression_longer_than_ten_thousand_characters(self):
        text = 'Join(",", ' + ", ".join(['"x"'] * 2600) + ")"
        assert len(text) > MAX_LENGTH
        error = error_of(text)
        assert error.position == MAX_LENGTH
        assert "too long" in str(error)

    def test_it_accepts_an_expression_of_exactly_the_maximum_length(self):
        body = '"' + "x" * (MAX_LENGTH - 2) + '"'
        assert len(parse(body).source) == MAX_LENGTH

    def test_it_points_at_the_call_that_nests_too_deep(self):
        depth = MAX_DEPTH + 1
        text = "ToLower(" * depth + "[a]" + ")" * depth
        error = error_of(text)
        assert error.position == len("ToLower(") * MAX_DEPTH
        assert "nested" in str(error)

    def test_it_accepts_nesting_up_to_the_limit(self):
        text = "ToLower(" * MAX_DEPTH + "[a]" + ")" * MAX_DEPTH
        assert evaluate(text, {"a": "ABC"}) == "abc"

    def test_it_rejects_an_empty_expression(self):
        assert error_of("   ").position == 0

    def test_it_explains_a_bare_word(self):
        error = error_of("Join(\",\", True)")
        assert error.position == 10
        assert '"True"' in error.message

    def test_it_explains_a_function_name_without_parentheses(self):
        assert 'Missing "(" after Now' in str(error_of("Now"))

    def test_it_explains_c_style_operators(self):
        assert "<>" in str(error_of('IIF([a] != "b", "1", "0")'))
        assert error_of('IIF([a] == "b", "1", "0")').position == 8

    def test_it_refuses_chained_comparisons(self):
        assert error_of('IIF([a] = [b] = [c], "1", "0")').position == 14

    def test_it_refuses_an_empty_attribute_name(self):
        assert error_of("ToLower([])").position == 8

    def test_it_rejects_an_unknown_interval_when_it_is_a_literal(self):
        error = error_of('DateAdd("days", 7, Now())')
        assert error.position == 8
        assert "yyyy" in error.message

    def test_it_rejects_an_invalid_regular_expression_when_it_is_a_literal(self):
        error = error_of('Replace([a], , "(unclosed", , "", , )')
        assert error.position == 15
        assert "not a valid regular expression" in error.message

    def test_it_says_why_a_workday_only_function_is_not_offered(self):
        assert "Active Directory" in str(error_of('SelectUniqueValue([a], [b])'))

    def test_its_error_message_attribute_has_no_position(self):
        error = error_of("Append([mail],)")
        assert error.message == 'Unexpected ")": expected an argument (the suffix of Append)'

    def test_it_refuses_something_that_is_not_text(self):
        with pytest.raises(TypeError):
            parse(None)


class TestReferencedAttributes:
    def test_it_lists_every_attribute_read(self):
        text = 'Replace([telephoneNumber], , "\\\\+(?<isd>\\\\d* )(?<phone>\\\\d{10})", "phone", , [mobile], )'
        assert referenced_attributes(text) == {"telephoneNumber", "mobile"}

    def test_it_keeps_the_spelling_as_written(self):
        assert referenced_attributes("Coalesce([mail], [Mail], [userPrincipalName])") == {
            "mail", "Mail", "userPrincipalName",
        }

    def test_it_accepts_a_parsed_expression(self):
        assert referenced_attributes(parse('IIF([a]="1", [b], "c")')) == {"a", "b"}

    def test_it_finds_none_in_a_constant(self):
        assert referenced_attributes('"x"') == set()


class TestFunctionTable:
    REFERENCE_FUNCTIONS = [
        "Append", "BitAnd", "CBool", "CDate", "Coalesce", "ConvertToBase64", "ConvertToUTF8Hex", "Count", "CStr",
        "DateAdd", "DateDiff", "DateFromNum", "FormatDateTime", "Guid", "IgnoreFlowIfNullOrEmpty", "IIF", "InStr",
        "IsNull", "IsNullOrEmpty", "IsPresent", "IsString", "Item", "Join", "Left", "Mid", "NormalizeDiacritics",
        "Not", "Now", "NumFromDate", "PCase", "RandomString", "Redact", "RemoveDuplicates", "Replace",
        "SingleAppRoleAssignment", "Split", "StripSpaces", "Switch", "ToLower", "ToUpper", "Word",
    ]

    def test_it_offers_every_function_of_the_reference(self):
        assert sorted(FUNCTIONS) == sorted(self.REFERENCE_FUNCTIONS)

    def test_it_describes_each_function_with_a_signature(self):
        for name, spec in FUNCTIONS.items():
            assert spec.signature.startswith(name + "(")
            assert spec.description

    def test_it_marks_optional_parameters_in_the_signature(self):
        assert FUNCTIONS["InStr"].signature == "InStr(value1, value2, [start], [compareType])"
        assert FUNCTIONS["Switch"].signature == "Switch(source, [defaultValue], key, value, …)"
        assert FUNCTIONS["Now"].signature == "Now()"
        assert (FUNCTIONS["Join"].min_args, FUNCTIONS["Join"].max_args) == (2, None)
