"""Round 14, pysnc and documented raw calls: the condition builder's trend (DATEPART) numbers weeks as the
trend's "Week 0".."Week 53" choices do (weeks Sunday to Saturday, the days before a year's first Sunday
being week 0; ISO weeks never give 0), orders days Sunday first, takes the three-letter month values it
emits ('jan'); the date field comparison "is same <unit> as" (`SAMEAS<field>@<unit>`) compares that part
of both dates (documented: Day is the day of the month, Week the Sunday-Saturday week of the year)."""

from __future__ import annotations

from tests.sandbox.servicenow.helpers import as_user, sorted_ids

SIZE = 20
MARK = "r14dp"


def _seed(sb) -> dict[str, str]:
    rows = {"sat jan 6": ("2024-01-06 12:00:00", "2024-01-06 13:00:00"),  # before 2024's first Sunday
            "sun jan 7": ("2024-01-07 12:00:00", "2024-01-13 12:00:00"),  # a Sunday and its Saturday
            "mon jan 1": ("2024-01-01 12:00:00", "2024-01-08 12:00:00"),  # ISO week 1; Sunday weeks 0 and 1
            "aug 1": ("2024-08-01 10:00:00", "2024-09-01 10:00:00"),  # same day of month, other month
            "no close": ("2024-03-03 10:00:00", "")}
    out = {}
    for name, (opened, closed) in rows.items():
        out[name] = sb.insert("incident", {"short_description": f"{MARK} {name}", "opened_at": opened,
                                           "closed_at": closed})["sys_id"]
    return out


def _q(sb, s, query: str) -> list[str]:
    return sorted_ids(s, f"{sb.url}/api/now/table/incident", f"short_descriptionSTARTSWITH{MARK}^{query}")


def test_datepart_weeks_run_sunday_to_saturday_from_week_0(env):
    sb, client, s = env
    ids = _seed(sb)
    week0 = "opened_atDATEPARTWeek 0@javascript:gs.datePart('week','0','EE')"
    assert _q(sb, s, week0) == sorted([ids["sat jan 6"], ids["mon jan 1"]])
    week1 = "opened_atDATEPARTWeek 1@javascript:gs.datePart('week','1','EE')"
    assert _q(sb, s, week1) == [ids["sun jan 7"]]
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(f"short_descriptionSTARTSWITH{MARK}^{week1}")
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.get_value("sys_id") == ids["sun jan 7"]


def test_datepart_days_start_on_sunday_and_short_month_names(env):
    sb, _, s = env
    ids = _seed(sb)
    on_or_after_monday = "opened_atDATEPARTMonday@javascript:gs.datePart('dayofweek','monday','GE')"
    # Sunday (Jan 7, Mar 3) is the first day: not "on or after Monday"
    assert _q(sb, s, on_or_after_monday) == sorted([ids["sat jan 6"], ids["mon jan 1"], ids["aug 1"]])
    jan = "opened_atDATEPARTJanuary@javascript:gs.datePart('month','jan','EE')"
    assert _q(sb, s, jan) == sorted([ids["sat jan 6"], ids["sun jan 7"], ids["mon jan 1"]])
    up_to_march = "opened_atDATEPARTMarch@javascript:gs.datePart('month','mar','LE')"
    assert _q(sb, s, up_to_march) == sorted([ids["sat jan 6"], ids["sun jan 7"], ids["mon jan 1"], ids["no close"]])


def test_is_same_unit_as_compares_that_part_of_both_dates(env):
    sb, _, s = env
    ids = _seed(sb)
    assert _q(sb, s, "opened_atSAMEASclosed_at@week") == sorted([ids["sat jan 6"], ids["sun jan 7"]])
    assert _q(sb, s, "opened_atSAMEASclosed_at@day") == sorted([ids["sat jan 6"], ids["aug 1"]])
    assert _q(sb, s, "opened_atSAMEASclosed_at@hour") == sorted([ids["sun jan 7"], ids["mon jan 1"], ids["aug 1"]])
    assert _q(sb, s, "opened_atSAMEASclosed_at@month") == sorted([ids["sat jan 6"], ids["sun jan 7"],
                                                                  ids["mon jan 1"]])
    # "is different": an empty closed_at matches neither
    assert _q(sb, s, "opened_atNSAMEASclosed_at@week") == sorted([ids["mon jan 1"], ids["aug 1"]])
    assert _q(sb, s, "opened_atNSAMEASclosed_at@year") == []


def test_week_and_same_week_are_taken_in_the_callers_time_zone(env):
    sb, _, s = env
    # 02:00 UTC on Sunday Jan 7 2024 is 21:00 on Saturday Jan 6 in New York: week 1 in UTC, week 0 there
    late = sb.insert("incident", {"short_description": f"{MARK} saturday night ny", "opened_at": "2024-01-07 02:00:00",
                                  "closed_at": "2024-01-06 15:00:00"})["sys_id"]
    me = sb.add_user("r14.ny", "Secret-12", roles=("itil",))["sys_id"]
    assert s.patch(f"{sb.url}/api/now/table/sys_user/{me}", json={"time_zone": "America/New_York"}).status_code == 200
    ny = as_user(sb, "r14.ny", "Secret-12")
    week0 = "opened_atDATEPARTWeek 0@javascript:gs.datePart('week','0','EE')"
    assert _q(sb, s, week0) == [] and _q(sb, ny, week0) == [late]
    assert _q(sb, s, "opened_atSAMEASclosed_at@week") == [] and _q(sb, ny, "opened_atSAMEASclosed_at@week") == [late]
