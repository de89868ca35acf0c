"""Functions over multi-valued attributes, which arrive as Python lists."""

import pytest

from provisioning.expressions import ExpressionError, ExpressionEvaluationError, evaluate

PROXY_ADDRESSES = {"proxyAddresses": ["SMTP:john@contoso.com", "smtp:j@contoso.com", "smtp:j@contoso.com"]}


class TestCount:
    def test_it_counts_the_values(self):
        assert evaluate("Count([proxyAddresses])", PROXY_ADDRESSES) == "3"

    def test_it_counts_a_single_value_as_one(self):
        assert evaluate("Count([mail])", {"mail": "a@b.c"}) == "1"

    def test_it_counts_nothing_as_zero(self):
        assert evaluate("Count([proxyAddresses])", {}) == "0"
        assert evaluate("Count([proxyAddresses])", {"proxyAddresses": []}) == "0"


class TestItem:
    def test_it_returns_the_first_item_for_index_one(self):
        assert evaluate("Item([proxyAddresses], 1)", PROXY_ADDRESSES) == "SMTP:john@contoso.com"

    def test_it_returns_a_later_item(self):
        assert evaluate("Item([proxyAddresses], 2)", PROXY_ADDRESSES) == "smtp:j@contoso.com"

    def test_it_rejects_index_zero_when_written_literally(self):
        with pytest.raises(ExpressionError, match="counts from 1") as caught:
            evaluate("Item([proxyAddresses], 0)", PROXY_ADDRESSES)
        assert caught.value.position == 23

    def test_it_rejects_index_zero_when_computed(self):
        with pytest.raises(ExpressionEvaluationError, match="index must be 1 or more"):
            evaluate("Item([proxyAddresses], [i])", {**PROXY_ADDRESSES, "i": "0"})

    def test_it_fails_for_an_index_past_the_last_value(self):
        with pytest.raises(ExpressionEvaluationError, match="index 4 is out of range: the attribute has 3 values"):
            evaluate("Item([proxyAddresses], 4)", PROXY_ADDRESSES)

    def test_it_is_null_for_an_absent_attribute(self):
        assert evaluate("Item([proxyAddresses], 1)", {}) is None


class TestRemoveDuplicates:
    def test_it_keeps_the_first_of_each_value(self):
        assert evaluate("RemoveDuplicates([proxyAddresses])", PROXY_ADDRESSES) == [
            "SMTP:john@contoso.com", "smtp:j@contoso.com",
        ]

    def test_it_compares_case_sensitively(self):
        assert evaluate("RemoveDuplicates([v])", {"v": ["a", "A", "a"]}) == ["a", "A"]

    def test_it_is_null_for_an_absent_attribute(self):
        assert evaluate("RemoveDuplicates([v])", {}) is None


class TestSplit:
    def test_it_reproduces_the_reference_example(self):
        assert evaluate('Split([extensionAttribute5], ",")', {"extensionAttribute5": "PermissionSetOne, PermissionSetTwo"}) == [
            "PermissionSetOne", "PermissionSetTwo",
        ]

    def test_it_splits_at_a_multi_character_delimiter(self):
        assert evaluate('Split("a::b::c", "::")', {}) == ["a", "b", "c"]

    def test_it_drops_empty_values(self):
        assert evaluate('Split("a,,b,", ",")', {}) == ["a", "b"]

    def test_it_is_null_for_a_null_source(self):
        assert evaluate('Split([missing], ",")', {}) is None

    def test_it_feeds_other_multi_valued_functions(self):
        assert evaluate('Count(Split("a;b;c", ";"))', {}) == "3"
        assert evaluate('Item(Split("a;b;c", ";"), 2)', {}) == "b"
        assert evaluate('Join("|", Split("a;b;c", ";"))', {}) == "a|b|c"


class TestSingleValuedUse:
    def test_it_uses_the_only_value_of_a_one_value_attribute(self):
        assert evaluate("ToUpper([otherMails])", {"otherMails": ["a@b.c"]}) == "A@B.C"

    def test_it_asks_which_value_when_there_are_several(self):
        with pytest.raises(ExpressionEvaluationError, match="multi-valued \\(3 values\\).*Item\\(\\).*Join\\(\\)"):
            evaluate("ToUpper([proxyAddresses])", PROXY_ADDRESSES)

    def test_it_flows_a_bare_multi_valued_attribute_as_a_list(self):
        assert evaluate("[proxyAddresses]", PROXY_ADDRESSES) == PROXY_ADDRESSES["proxyAddresses"]


class TestSingleAppRoleAssignment:
    def test_it_returns_the_role_value_of_an_assignment(self):
        roles = [{"appRoleId": "1f0c…", "value": "Admin", "displayName": "Administrator"}]
        assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": roles}) == "Admin"

    def test_it_falls_back_to_the_display_name(self):
        roles = [{"appRoleId": "1f0c…", "value": None, "displayName": "User"}]
        assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": roles}) == "User"

    def test_it_accepts_role_names_as_text(self):
        assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": ["User"]}) == "User"

    def test_it_uses_the_first_of_several_assignments(self):
        roles = [{"value": "Admin"}, {"value": "User"}]
        assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": roles}) == "Admin"

    def test_it_is_null_without_assignments(self):
        assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": []}) is None

    def test_it_does_not_flow_a_raw_assignment(self):
        with pytest.raises(ExpressionEvaluationError, match="complex value"):
            evaluate("[appRoleAssignments]", {"appRoleAssignments": [{"value": "Admin"}]})
