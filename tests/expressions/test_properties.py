"""Whatever an administrator types or an attribute holds, the language fails only with its own errors."""

from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from provisioning.expressions import FUNCTIONS, ExpressionError, evaluate, parse

ATTRIBUTE_NAMES = ["a", "b", "mail", "IsSoftDeleted", "proxyAddresses"]

# Fragments that look like the language, so that random text often gets deep into the parser.
FRAGMENTS = (
    ["(", ")", ",", ", ,", "[", "]", '"', "\\", '\\"', " ", "\n", "=", "<>", ">=", "<", "&H", "&HF7", "-", "-1",
     "0", "7", "1.5", "vbTextCompare", "True", "[a]", "[mail]", '"x"', '""', '"\\\\d+"', "[]", "[ a ]"]
    + [f"{name}(" for name in FUNCTIONS]
    + ["tolower(", "Foo(", "SelectUniqueValue("]
)

source_like_text = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), source_like_text))
def test_parse_either_succeeds_or_raises_an_expression_error(text):
    try:
        parse(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)
        assert str(error)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


leaves = st.one_of(
    st.sampled_from(ATTRIBUTE_NAMES).map(lambda name: f"[{name}]"),
    st.text(max_size=12).map(_quoted),
    st.sampled_from(['"d"', '"yyyy"', '"m"', '"ww"', '"s"', '"True"', '"False"', '"yyyy-MM-dd"', '"[a-z]+"',
                     '"2021-06-30T08:00:00Z"', '"8/25/2021 5:41:18 PM"', '","', '"en-US"', '"tr-TR"']),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.sampled_from(["vbTextCompare", "vbBinaryCompare", "&HF7", "9223372036854775807", "1.5", ""]),
)


def _calls(arguments):
    def build(draw_name_and_args):
        name, args = draw_name_and_args
        return f"{name}({', '.join(args)})"

    return st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(arguments, max_size=8)).map(build)


def _comparisons(arguments):
    return st.tuples(arguments, st.sampled_from(["=", "<>", "<", ">", "<=", ">="]), arguments).map(" ".join)


expressions = st.recursive(leaves, lambda inner: st.one_of(_calls(inner), _comparisons(inner)), max_leaves=12)

attribute_values = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-10**20, max_value=10**20),
    st.datetimes(timezones=st.just(timezone.utc)),
    st.lists(st.one_of(st.text(max_size=10), st.booleans(), st.integers()), max_size=4),
    st.sampled_from(["2021-06-30", "129699324000000000", "True", "aaaaaaaaaaaaaaaaaaaaaaaab", "+91 9998887777"]),
)
attribute_sets = st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), attribute_values)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(expressions, attribute_sets)
def test_evaluate_returns_text_lists_or_none_and_raises_only_expression_errors(text, attributes):
    try:
        expression = parse(text)
    except ExpressionError:
        assume(False)
    try:
        result = evaluate(expression, attributes, now=datetime(2021, 7, 2, 15, 33, 38))
    except ExpressionError as error:
        assert str(error)
        return
    assert result is None or isinstance(result, str) or (
        isinstance(result, list) and all(isinstance(item, str) for item in result)
    )
