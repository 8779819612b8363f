//! A scheduled job as configured: name, cron schedule in a timezone, kind, target branches and
//! catch-up window.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use zhibu_commands::domain::BranchId;
use zhibu_commands::jobs::JobKind;

/// Default window in which a fire missed while the bot was down is still run.
pub const DEFAULT_CATCH_UP: Duration = Duration::hours(6);

/// One job, checked.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: String,
    /// The expression as written (5 fields, or 6–7 with seconds and year).
    pub cron: String,
    schedule: cron::Schedule,
    pub timezone: Tz,
    pub kind: JobKind,
    /// Target branches; empty means all.
    pub branches: Vec<BranchId>,
    pub catch_up: Duration,
}

/// A cron expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression `{expr}`: {reason} (fields: [second] minute hour day-of-month month day-of-week [year], e.g. \"0 8 * * *\" or \"0 0 8 * * Mon-Fri\")")]
pub struct BadCron {
    pub expr: String,
    pub reason: String,
}

/// Parses a cron expression; a 5-field one gets a leading `0` seconds field.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, BadCron> {
    let fields = expr.split_whitespace().count();
    let full = if fields == 5 { format!("0 {expr}") } else { expr.to_owned() };
    cron::Schedule::from_str(&full).map_err(|e| BadCron { expr: expr.to_owned(), reason: e.to_string() })
}

impl JobSpec {
    pub fn new(name: &str, cron: &str, timezone: Tz, kind: JobKind, branches: Vec<BranchId>, catch_up: Duration) -> Result<Self, BadCron> {
        Ok(Self { name: name.to_owned(), cron: cron.to_owned(), schedule: parse_cron(cron)?, timezone, kind, branches, catch_up })
    }

    /// The first fire strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.after(&t.with_timezone(&self.timezone)).next().map(|d| d.with_timezone(&Utc))
    }

    /// The latest fire in `(after, until]` and how many fires that range holds (capped).
    pub fn latest_in(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> (Option<DateTime<Utc>>, usize) {
        const CAP: usize = 100_000;
        let mut latest = None;
        let mut count = 0;
        for fire in self.schedule.after(&after.with_timezone(&self.timezone)) {
            let fire = fire.with_timezone(&Utc);
            if fire > until || count >= CAP {
                break;
            }
            latest = Some(fire);
            count += 1;
        }
        (latest, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_and_six_field_expressions_in_a_timezone() {
        let tz = chrono_tz::Asia::Shanghai;
        let daily = JobSpec::new("d", "0 8 * * *", tz, JobKind::StudyPush, vec![], DEFAULT_CATCH_UP).unwrap();
        assert_eq!(daily.next_after(t("2026-11-25T10:00:00+08:00")), Some(t("2026-11-26T08:00:00+08:00")));
        let weekly = JobSpec::new("w", "0 0 9 * * Mon", tz, JobKind::WeeklyDigest, vec![], DEFAULT_CATCH_UP).unwrap();
        assert_eq!(weekly.next_after(t("2026-11-25T10:00:00+08:00")), Some(t("2026-11-30T09:00:00+08:00")));
        let (latest, n) = daily.latest_in(t("2026-11-20T00:00:00+08:00"), t("2026-11-25T10:00:00+08:00"));
        assert_eq!((latest, n), (Some(t("2026-11-25T08:00:00+08:00")), 6));
    }

    #[test]
    fn bad_expressions_are_explained() {
        for bad in ["", "every day", "0 25 * * *", "61 * * * * *"] {
            assert!(parse_cron(bad).is_err(), "{bad}");
        }
    }
}
