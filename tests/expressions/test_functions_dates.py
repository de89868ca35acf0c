"""Date functions, against the reference's examples, and .NET format strings."""

from datetime import date, datetime, timedelta, timezone

import pytest

from provisioning.expressions import ExpressionError, ExpressionEvaluationError, evaluate
from provisioning.expressions.dotnet_dates import DateFormatError, format_datetime, parse_exact, parse_styles

NOW = datetime(2021, 7, 2, 15, 33, 38, 123456, tzinfo=timezone.utc)


class TestCDate:
    @pytest.mark.parametrize("source, expected", [
        ("2020-03-16-07:00", "3/16/2020 7:00:00 AM"),
        ("2021-06-30+08:00", "6/29/2021 4:00:00 PM"),
        ("2009-06-15T01:45:30-07:00", "6/15/2009 8:45:30 AM"),
    ])
    def test_it_reproduces_the_reference_examples_in_utc(self, source, expected):
        assert evaluate("CDate([StatusHireDate])", {"StatusHireDate": source}) == expected

    @pytest.mark.parametrize("source, expected", [
        ("2021-08-24", "8/24/2021 12:00:00 AM"),
        ("2021-08-24T13:05:00Z", "8/24/2021 1:05:00 PM"),
        ("2021-08-24 13:05:00.1234567", "8/24/2021 1:05:00 PM"),
        ("8/25/2021 5:41:18 PM", "8/25/2021 5:41:18 PM"),
        ("8/25/2021", "8/25/2021 12:00:00 AM"),
        ("2021/8/25", "8/25/2021 12:00:00 AM"),
        ("June 15, 2009", "6/15/2009 12:00:00 AM"),
        ("15 Jun 2009 13:45", "6/15/2009 1:45:00 PM"),
        ("Mon, 15 Jun 2009 20:45:30 GMT", "6/15/2009 8:45:30 PM"),
    ])
    def test_it_reads_the_common_date_forms(self, source, expected):
        assert evaluate("CDate([d])", {"d": source}) == expected

    def test_it_is_null_for_a_null_value(self):
        assert evaluate("CDate([d])", {}) is None

    def test_it_fails_for_text_that_is_not_a_date(self):
        with pytest.raises(ExpressionEvaluationError, match='"next tuesday"') as caught:
            evaluate("CDate([d])", {"d": "next tuesday"})
        assert caught.value.function == "CDate"

    def test_it_fails_for_an_impossible_date(self):
        with pytest.raises(ExpressionEvaluationError, match="not a valid date"):
            evaluate('CDate("2021-02-30")', {})

    def test_it_reads_a_datetime_attribute(self):
        moment = datetime(2021, 6, 30, 8, 0, tzinfo=timezone(timedelta(hours=2)))
        assert evaluate("CDate([employeeHireDate])", {"employeeHireDate": moment}) == "6/30/2021 6:00:00 AM"


class TestNow:
    def test_it_shows_the_current_utc_time(self):
        assert evaluate("Now()", {}, now=NOW) == "7/2/2021 3:33:38 PM"

    def test_it_converts_an_aware_time_to_utc(self):
        now = datetime(2021, 7, 2, 17, 33, 38, tzinfo=timezone(timedelta(hours=2)))
        assert evaluate("Now()", {}, now=now) == "7/2/2021 3:33:38 PM"

    def test_it_uses_the_clock_by_default(self):
        before = datetime.now(timezone.utc).replace(microsecond=0)
        shown = evaluate('FormatDateTime(Now(), , "M/d/yyyy h:mm:ss tt", "o")', {})
        moment = datetime.fromisoformat(shown.replace("Z", "+00:00").replace(".0000000", ""))
        assert before <= moment <= datetime.now(timezone.utc)


class TestDateAdd:
    @pytest.mark.parametrize("interval, value, expected", [
        ("d", 7, "3/23/2012 7:00:00 AM"),
        ("d", -10, "3/6/2012 7:00:00 AM"),
        ("ww", 2, "3/30/2012 7:00:00 AM"),
        ("m", 10, "1/16/2013 7:00:00 AM"),
        ("yyyy", 2, "3/16/2014 7:00:00 AM"),
    ])
    def test_it_reproduces_the_reference_table(self, interval, value, expected):
        expression = f'DateAdd("{interval}", {value}, CDate([StatusHireDate]))'
        assert evaluate(expression, {"StatusHireDate": "2012-03-16-07:00"}) == expected

    @pytest.mark.parametrize("interval, value, expected", [
        ("h", 5, "3/16/2012 12:00:00 PM"),
        ("n", -30, "3/16/2012 6:30:00 AM"),
        ("s", 90, "3/16/2012 7:01:30 AM"),
    ])
    def test_it_adds_hours_minutes_and_seconds(self, interval, value, expected):
        assert evaluate(f'DateAdd("{interval}", {value}, CDate("2012-03-16-07:00"))', {}) == expected

    def test_it_clamps_to_the_end_of_a_shorter_month(self):
        assert evaluate('DateAdd("m", 1, CDate("2021-01-31"))', {}) == "2/28/2021 12:00:00 AM"
        assert evaluate('DateAdd("yyyy", 1, CDate("2020-02-29"))', {}) == "2/28/2021 12:00:00 AM"

    def test_it_accepts_date_text_without_cdate(self):
        assert evaluate('DateAdd("d", 1, "2021-01-31")', {}) == "2/1/2021 12:00:00 AM"

    def test_it_is_null_for_a_null_date(self):
        assert evaluate('DateAdd("d", 1, [missing])', {}) is None

    def test_it_refuses_an_unknown_computed_interval(self):
        with pytest.raises(ExpressionEvaluationError, match='"q" is not an interval'):
            evaluate('DateAdd([i], 1, Now())', {"i": "q"})

    def test_it_refuses_a_date_beyond_the_year_9999(self):
        with pytest.raises(ExpressionEvaluationError, match="outside the years 1 to 9999"):
            evaluate('DateAdd("yyyy", 9000, CDate("2021-01-01"))', {})


class TestDateDiff:
    @pytest.mark.parametrize("interval, date1, date2, expected", [
        ("d", "2021-08-18+08:00", "2021-08-31+08:00", "13"),
        ("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-3449"),
        ("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-493"),
        ("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-113"),
        ("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-9"),
        ("d", "2021-08-31+08:00", "2021-08-31+08:00", "0"),
        ("h", "2021-08-24", "2021-08-25", "24"),
        ("n", "2021-08-24", "2021-08-25", "1440"),
        ("s", "2021-08-24", "2021-08-25", "86400"),
    ])
    def test_it_reproduces_the_reference_table(self, interval, date1, date2, expected):
        assert evaluate(f'DateDiff("{interval}", CDate([date1]), CDate([date2]))',
                        {"date1": date1, "date2": date2}) == expected

    def test_it_compares_with_now(self):
        now = datetime(2021, 8, 25, 17, 41, 18, tzinfo=timezone.utc)
        assert evaluate('DateDiff("d", Now(), CDate([StatusHireDate]))', {"StatusHireDate": "2012-03-16-07:00"},
                        now=now) == "-3449"

    def test_it_counts_calendar_months_and_years(self):
        assert evaluate('DateDiff("m", "2021-01-31", "2021-02-01")', {}) == "1"
        assert evaluate('DateDiff("yyyy", "2021-12-31", "2022-01-01")', {}) == "1"

    def test_it_truncates_partial_days(self):
        assert evaluate('DateDiff("d", "2021-01-01T00:00:00Z", "2021-01-02T23:59:59Z")', {}) == "1"
        assert evaluate('DateDiff("d", "2021-01-02T23:59:59Z", "2021-01-01T00:00:00Z")', {}) == "-1"

    def test_it_is_null_when_a_date_is_null(self):
        assert evaluate('DateDiff("d", [a], Now())', {}) is None


class TestActiveDirectoryNumbers:
    def test_it_reproduces_the_datefromnum_example(self):
        assert evaluate("DateFromNum(129699324000000000)", {}) == "1/1/2012 11:00:00 PM"
        assert evaluate("DateFromNum([lastLogonTimestamp])", {"lastLogonTimestamp": "129699324000000000"}) == (
            "1/1/2012 11:00:00 PM"
        )

    def test_it_refuses_the_never_expires_value(self):
        with pytest.raises(ExpressionEvaluationError, match="beyond the year 9999"):
            evaluate("DateFromNum(9223372036854775807)", {})

    def test_it_converts_the_workday_contract_end_example(self):
        expression = ('NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), '
                      '" 23:59:59-08:00"))')
        expected = (datetime(2021, 1, 1, 7, 59, 59, tzinfo=timezone.utc)
                    - datetime(1601, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 10
        assert evaluate(expression, {"ContractEndDate": "2020-12-31-08:00"}) == str(expected)

    def test_it_converts_the_successfactors_end_date_example(self):
        expression = ('NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd"),'
                      '" 23:59:59-08:00"))')
        assert evaluate(expression, {"endDate": "12/31/2020 08:30:00 AM"}) == evaluate(
            'NumFromDate("2020-12-31T23:59:59-08:00")', {}
        )

    def test_it_round_trips_between_dates_and_numbers(self):
        assert evaluate('DateFromNum(NumFromDate("2012-01-01T23:00:00Z"))', {}) == "1/1/2012 11:00:00 PM"


class TestFormatDateTime:
    def test_it_reproduces_the_reference_example(self):
        expression = 'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")'
        assert evaluate(expression, {"extensionAttribute1": "20150123105347.1Z"}) == "2015-01-23"

    def test_it_keeps_the_date_as_written_with_its_offset(self):
        assert evaluate('FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd")', {}) == "2020-12-31"
        assert evaluate('FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd K")', {}) == (
            "2020-12-31 -08:00"
        )

    def test_it_converts_to_utc_with_adjust_to_universal(self):
        expression = 'FormatDateTime("2020-12-31T20:00:00-08:00", "AdjustToUniversal", "yyyy-MM-ddTHH:mm:sszzz", "o")'
        assert evaluate(expression, {}) == "2021-01-01T04:00:00.0000000Z"

    def test_it_formats_a_computed_date(self):
        assert evaluate('FormatDateTime(CDate("2021-06-30+08:00"), , "M/d/yyyy h:mm:ss tt", "yyyy-MM-dd HH:mm")',
                        {}) == "2021-06-29 16:00"

    def test_it_is_null_for_a_null_source(self):
        assert evaluate('FormatDateTime([d], , "yyyy", "yy")', {}) is None

    def test_it_fails_when_the_source_does_not_match_the_input_format(self):
        with pytest.raises(ExpressionEvaluationError, match='does not match the date format "yyyyMMdd"'):
            evaluate('FormatDateTime([d], , "yyyyMMdd", "yyyy-MM-dd")', {"d": "2015-01-23"})

    def test_it_rejects_a_bad_literal_format_when_the_expression_is_saved(self):
        with pytest.raises(ExpressionError, match="Invalid outputFormat") as caught:
            evaluate('FormatDateTime([d], , "yyyy", "%")', {})
        assert caught.value.position == 30

    def test_it_rejects_bad_literal_styles_when_the_expression_is_saved(self):
        with pytest.raises(ExpressionError, match="Invalid dateTimeStyles"):
            evaluate('FormatDateTime([d], "RoundTrip", "yyyy", "yy")', {})


class TestDotnetFormats:
    MOMENT = datetime(2009, 6, 15, 13, 45, 30, 617_500, tzinfo=timezone(timedelta(hours=-7)))

    @pytest.mark.parametrize("fmt, expected", [
        ("d", "6/15/2009"), ("D", "Monday, June 15, 2009"), ("g", "6/15/2009 1:45 PM"),
        ("G", "6/15/2009 1:45:30 PM"), ("M", "June 15"), ("o", "2009-06-15T13:45:30.6175000-07:00"),
        ("R", "Mon, 15 Jun 2009 20:45:30 GMT"), ("s", "2009-06-15T13:45:30"), ("t", "1:45 PM"),
        ("T", "1:45:30 PM"), ("u", "2009-06-15 20:45:30Z"), ("Y", "June 2009"),
        ("dd/MM/yyyy", "15/06/2009"), ("ddd d MMM", "Mon 15 Jun"), ("dddd, MMMM dd", "Monday, June 15"),
        ("yy", "09"), ("%y", "9"), ("yyyyy", "02009"), ("hh:mm tt", "01:45 PM"), ("H:m:s t", "13:45:30 P"),
        ("fff", "617"), ("FFFF", "6175"), ("ss.FFFFFFF", "30.6175"), ("zz", "-07"), ("%z", "-7"),
        ("zzz", "-07:00"), ("%K", "-07:00"), ("'Day' d", "Day 15"), ('"at" h', "at 1"), ("\\d d", "d 15"),
        ("g", "6/15/2009 1:45 PM"), ("yyyy g", "2009 A.D."),
    ])
    def test_it_formats_like_dotnet(self, fmt, expected):
        assert format_datetime(self.MOMENT, fmt) == expected

    def test_it_drops_the_decimal_point_when_f_shows_nothing(self):
        assert format_datetime(datetime(2009, 6, 15, 13, 45, 30), "HH:mm:ss.FFF") == "13:45:30"

    def test_it_writes_z_for_utc_with_k(self):
        assert format_datetime(datetime(2009, 6, 15, tzinfo=timezone.utc), "%K") == "Z"
        assert format_datetime(datetime(2009, 6, 15), "%K") == ""

    @pytest.mark.parametrize("text, fmt, expected", [
        ("20150123105347.1Z", "yyyyMMddHHmmss.fZ", datetime(2015, 1, 23, 10, 53, 47, 100000, tzinfo=timezone.utc)),
        ("2020-12-31-08:00", "yyyy-MM-ddzzz", datetime(2020, 12, 31, tzinfo=timezone(timedelta(hours=-8)))),
        ("12/31/2020 08:30:00 PM", "M/d/yyyy hh:mm:ss tt", datetime(2020, 12, 31, 20, 30)),
        ("Mon, 15 Jun 2009 20:45:30 GMT", "r", datetime(2009, 6, 15, 20, 45, 30, tzinfo=timezone.utc)),
        ("  1/2/21  ", "M/d/yy", datetime(2021, 1, 2)),
        ("15 june 2009", "d MMMM yyyy", datetime(2009, 6, 15)),
        ("2009-06-15T13:45:30.61Z", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
         datetime(2009, 6, 15, 13, 45, 30, 610000, tzinfo=timezone.utc)),
        ("2009-06-15T13:45:30", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK", None),
    ])
    def test_it_parses_exactly_like_dotnet(self, text, fmt, expected):
        if expected is None:
            with pytest.raises(DateFormatError):
                parse_exact(text, fmt)
        else:
            assert parse_exact(text, fmt) == expected

    def test_it_defaults_a_time_only_value_to_today(self):
        assert parse_exact("13:45", "HH:mm", today=date(2021, 7, 2)) == datetime(2021, 7, 2, 13, 45)

    def test_it_checks_the_day_of_the_week(self):
        with pytest.raises(DateFormatError, match="day of the week"):
            parse_exact("Tue, 15 Jun 2009", "ddd, dd MMM yyyy")

    def test_it_requires_exact_whitespace_unless_allowed(self):
        with pytest.raises(DateFormatError):
            parse_exact("2009 -06", "yyyy-MM", parse_styles("None"))
        assert parse_exact("2009 - 06", "yyyy-MM", parse_styles("AllowInnerWhite")) == datetime(2009, 6, 1)

    @pytest.mark.parametrize("styles", ["AssumeLocal, AssumeUniversal", "RoundtripKind|AdjustToUniversal", "Sideways"])
    def test_it_refuses_invalid_styles(self, styles):
        with pytest.raises(DateFormatError):
            parse_styles(styles)

    @pytest.mark.parametrize("fmt", ["", "q", "z", "ffffffff", "'unclosed", "yyyy\\", "%"])
    def test_it_refuses_invalid_formats(self, fmt):
        with pytest.raises(DateFormatError):
            format_datetime(self.MOMENT, fmt)
