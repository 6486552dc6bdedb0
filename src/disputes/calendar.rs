//! Working days and local time. Deadlines count working days in Vietnam (Monday to Friday,
//! less the policy's holidays) and end at midnight local time; they are stored in UTC.
//! Vietnam keeps UTC+7 all year, so a fixed offset is exact.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Utc, Weekday};

/// Asia/Ho_Chi_Minh.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

/// A UTC instant as shown to people, in Vietnam's time.
pub fn local(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&vietnam())
}

pub fn is_working_day(day: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day)
}

/// The end (local midnight) of the `days`-th working day after the local day of `from`:
/// filed on a Friday afternoon with three days to answer, the answer is due at the end of
/// Wednesday.
pub fn add_working_days(
    from: DateTime<Utc>,
    days: u32,
    holidays: &BTreeSet<NaiveDate>,
) -> DateTime<Utc> {
    let mut day = local(from).date_naive();
    let mut counted = 0;
    while counted < days {
        day = day.succ_opt().unwrap_or(day);
        if is_working_day(day, holidays) {
            counted += 1;
        }
    }
    end_of_local_day(day)
}

/// A deadline moved by the time a case stood still, to the end of a working day (a pause
/// that ends on a Friday does not make the case due on a Sunday).
pub fn extend(due: DateTime<Utc>, by: TimeDelta, holidays: &BTreeSet<NaiveDate>) -> DateTime<Utc> {
    let moved = due + by.max(TimeDelta::zero());
    let mut day = local(moved).date_naive();
    // A deadline at local midnight belongs to the day that just ended.
    if local(moved).time() == chrono::NaiveTime::MIN {
        day = day.pred_opt().unwrap_or(day);
    }
    while !is_working_day(day, holidays) {
        day = day.succ_opt().unwrap_or(day);
    }
    end_of_local_day(day)
}

/// Midnight at the end of a local day, in UTC.
pub fn end_of_local_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    DateTime::from_naive_utc_and_offset(midnight - TimeDelta::hours(7), Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid")
    }

    #[test]
    fn weekends_do_not_count() {
        // Friday 27 November 2026, 15:00 in Hanoi.
        let due = add_working_days(at("2026-11-27T08:00:00Z"), 3, &BTreeSet::new());
        assert_eq!(local(due).to_rfc3339(), "2026-12-03T00:00:00+07:00");
        assert_eq!(
            due,
            at("2026-12-02T17:00:00Z"),
            "end of Wednesday 2 December"
        );
    }

    #[test]
    fn the_local_day_decides_not_the_utc_day() {
        // 23:30 UTC on Thursday is already Friday morning in Vietnam.
        let due = add_working_days(at("2026-11-26T23:30:00Z"), 1, &BTreeSet::new());
        assert_eq!(
            local(due).date_naive(),
            day("2026-12-01"),
            "Monday ends at midnight"
        );
    }

    #[test]
    fn a_pause_moves_the_deadline_to_the_end_of_a_working_day() {
        let holidays = BTreeSet::new();
        // Due at the end of Thursday 3 December; paused for 20 hours: Friday evening.
        let due = end_of_local_day(day("2026-12-03"));
        let moved = extend(due, TimeDelta::hours(20), &holidays);
        assert_eq!(
            local(moved).to_rfc3339(),
            "2026-12-05T00:00:00+07:00",
            "end of Friday"
        );
        // Paused for 30 hours: that is Saturday, so the end of Monday the 7th.
        let moved = extend(due, TimeDelta::hours(30), &holidays);
        assert_eq!(local(moved).to_rfc3339(), "2026-12-08T00:00:00+07:00");
        assert_eq!(
            extend(due, TimeDelta::zero(), &holidays),
            due,
            "no pause, no change"
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let holidays: BTreeSet<NaiveDate> = ["2026-09-01", "2026-09-02"]
            .iter()
            .map(|d| day(d))
            .collect();
        // Monday 31 August: Tuesday and Wednesday are National Day holidays.
        let due = add_working_days(at("2026-08-31T03:00:00Z"), 2, &holidays);
        assert_eq!(
            local(due).date_naive(),
            day("2026-09-05"),
            "Thursday and Friday count"
        );
        assert!(!is_working_day(day("2026-09-02"), &holidays));
        assert!(is_working_day(day("2026-09-03"), &holidays));
    }
}
