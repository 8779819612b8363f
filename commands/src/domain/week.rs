//! ISO weeks in the branch's timezone: `本周`, `上周`, `2026-W48`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An ISO 8601 week (Monday to Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Week {
    monday: NaiveDate,
}

/// A week argument that is neither `本周`/`上周` nor `YYYY-Www`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a week: `{0}` (expected 本周, 上周 or YYYY-Www)")]
pub struct BadWeek(pub String);

impl Week {
    pub fn containing(date: NaiveDate) -> Self {
        let back = u64::from(date.weekday().num_days_from_monday());
        Self { monday: date.checked_sub_days(Days::new(back)).unwrap_or(date) }
    }

    pub fn monday(self) -> NaiveDate {
        self.monday
    }

    pub fn sunday(self) -> NaiveDate {
        self.monday.checked_add_days(Days::new(6)).unwrap_or(self.monday)
    }

    pub fn previous(self) -> Self {
        Self { monday: self.monday.checked_sub_days(Days::new(7)).unwrap_or(self.monday) }
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.monday.iter_days().take(7)
    }

    /// The instant the week starts and the instant after it ends, in `tz`.
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            tz.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| midnight.and_utc())
        };
        let next = self.monday.checked_add_days(Days::new(7)).unwrap_or(self.monday);
        (start(self.monday), start(next))
    }

    /// Resolves `本周`/`this`, `上周`/`last`, or `YYYY-Www` relative to `today`.
    pub fn parse_relative(arg: &str, today: NaiveDate) -> Result<Self, BadWeek> {
        let this = Week::containing(today);
        match arg.trim().to_lowercase().as_str() {
            "" | "本周" | "这周" | "这一周" | "this" | "thisweek" | "this-week" => Ok(this),
            "上周" | "上一周" | "last" | "lastweek" | "last-week" => Ok(this.previous()),
            _ => arg.trim().parse(),
        }
    }
}

impl FromStr for Week {
    type Err = BadWeek;

    fn from_str(s: &str) -> Result<Self, BadWeek> {
        let bad = || BadWeek(s.to_owned());
        let upper = s.trim().to_uppercase();
        let (year, week) = upper.split_once("-W").ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let week: u32 = week.parse().map_err(|_| bad())?;
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
        Ok(Self { monday })
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let iso = self.monday.iso_week();
        write!(f, "{}-W{:02}", iso.year(), iso.week())
    }
}

impl TryFrom<String> for Week {
    type Error = BadWeek;
    fn try_from(s: String) -> Result<Self, BadWeek> {
        s.parse()
    }
}

impl From<Week> for String {
    fn from(w: Week) -> String {
        w.to_string()
    }
}

/// The local calendar date of an instant in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_parse_and_print() {
        let w: Week = "2026-W48".parse().unwrap();
        assert_eq!(w.monday(), d("2026-11-23"));
        assert_eq!(w.sunday(), d("2026-11-29"));
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!("2026-w01".parse::<Week>().unwrap().monday(), d("2025-12-29"));
        for bad in ["2026-W54", "2026W48", "W48", "明天", "2026-W"] {
            assert!(bad.parse::<Week>().is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_weeks() {
        let today = d("2026-11-25");
        assert_eq!(Week::parse_relative("本周", today).unwrap().to_string(), "2026-W48");
        assert_eq!(Week::parse_relative("上周", today).unwrap().to_string(), "2026-W47");
        assert_eq!(Week::parse_relative("", today).unwrap().to_string(), "2026-W48");
        assert!(Week::parse_relative("下周", today).is_err());
    }

    #[test]
    fn local_dates_follow_the_timezone() {
        let at: DateTime<Utc> = "2026-11-25T16:30:00Z".parse().unwrap();
        assert_eq!(local_date(at, chrono_tz::Asia::Shanghai), d("2026-11-26"));
        assert_eq!(local_date(at, chrono_tz::UTC), d("2026-11-25"));
        let (start, end) = Week::containing(d("2026-11-25")).bounds(chrono_tz::Asia::Shanghai);
        assert_eq!(start.to_rfc3339(), "2026-11-22T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-29T16:00:00+00:00");
    }
}
