//! Monthly partitions of the decision log on PostgreSQL (`listing_checks` and its link
//! table `listing_check_codes`, partitioned by `created_at`). The service creates each
//! month's partition ahead of time, so that decisions never land in the DEFAULT partition
//! (a month partition cannot be added while the DEFAULT one holds rows of that month). On
//! SQLite there is one table and nothing to do.

use chrono::{Datelike, Months, NaiveDate};
use diesel::RunQueryDsl;
use diesel::sql_types::{Bool, Text};

use super::DbConnection;

/// The tables partitioned by month.
pub const PARTITIONED: &[&str] = &["listing_checks", "listing_check_codes"];

/// Months ahead of the current one whose partitions exist at all times.
pub const MONTHS_AHEAD: u32 = 3;

/// `<table>_<yyyy>_<mm>`: the partition of `table` for the month of `day`.
pub fn partition_name(table: &str, day: NaiveDate) -> String {
    format!("{table}_{:04}_{:02}", day.year(), day.month())
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    present: bool,
}

/// Creates the partitions of the month of `today` and of the [`MONTHS_AHEAD`] months after
/// it that do not exist yet; returns the names created. Nothing on SQLite.
pub fn ensure_ahead(conn: &mut DbConnection, today: NaiveDate) -> diesel::QueryResult<Vec<String>> {
    let DbConnection::Postgresql(pg) = conn else {
        return Ok(Vec::new());
    };
    let mut created = Vec::new();
    let first = first_of_month(today);
    for ahead in 0..=MONTHS_AHEAD {
        let (Some(from), Some(to)) = (
            first.checked_add_months(Months::new(ahead)),
            first.checked_add_months(Months::new(ahead + 1)),
        ) else {
            continue;
        };
        for table in PARTITIONED {
            let name = partition_name(table, from);
            let present: Exists =
                diesel::sql_query("SELECT to_regclass($1) IS NOT NULL AS present")
                    .bind::<Text, _>(&name)
                    .get_result(pg)?;
            if present.present {
                continue;
            }
            // Names and bounds are built here from dates, never from input.
            diesel::sql_query(format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} \
                 FOR VALUES FROM ('{from}') TO ('{to}')"
            ))
            .execute(pg)?;
            created.push(name);
        }
    }
    Ok(created)
}

#[derive(diesel::QueryableByName)]
struct Partition {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The month a partition named `<table>_<yyyy>_<mm>` covers.
fn month_of(table: &str, name: &str) -> Option<NaiveDate> {
    let suffix = name.strip_prefix(table)?.strip_prefix('_')?;
    let (year, month) = suffix.split_once('_')?;
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// Drops the month partitions that lie wholly before `until`; returns their names. The
/// caller exports their rows first.
pub fn drop_before(
    pg: &mut diesel::PgConnection,
    until: chrono::NaiveDateTime,
) -> diesel::QueryResult<Vec<String>> {
    let mut dropped = Vec::new();
    for table in PARTITIONED {
        let children: Vec<Partition> = diesel::sql_query(
            "SELECT c.relname::text AS name FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
             WHERE p.relname = $1 ORDER BY c.relname",
        )
        .bind::<Text, _>(*table)
        .load(pg)?;
        for child in children {
            let Some(month) = month_of(table, &child.name) else {
                continue;
            };
            let ends = month.checked_add_months(Months::new(1)).unwrap_or(month);
            if ends.and_time(chrono::NaiveTime::MIN) <= until {
                // The name was read from the catalogue and matched `<table>_<yyyy>_<mm>`.
                diesel::sql_query(format!("DROP TABLE {}", child.name)).execute(pg)?;
                dropped.push(child.name);
            }
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_named_by_year_and_month() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).expect("date");
        assert_eq!(
            partition_name("listing_checks", day),
            "listing_checks_2026_12"
        );
        assert_eq!(
            first_of_month(day),
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
        );
    }
}
