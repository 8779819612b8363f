//! Check-ins: `<branch>\0<YYYY-MM-DD>\0<user>` → [`CheckIn`]. A week of a branch is one range
//! scan; a member's streak is a few point reads, one per day back.

use chrono::NaiveDate;
use zhibu_chat::UserId;

use super::{decode, encode, keys, scan, Insert, Store, StoreError};
use crate::domain::{BranchId, CheckIn};

pub(super) fn record_key(c: &CheckIn) -> Vec<u8> {
    key(&c.branch, c.date, &c.user)
}

fn key(branch: &BranchId, date: NaiveDate, user: &UserId) -> Vec<u8> {
    keys::join(&[branch.as_str().as_bytes(), &keys::date(date), user.as_str().as_bytes()])
}

impl Store {
    /// Records a check-in unless the member already has one that day; returns the one that
    /// was there when there is one (and changes nothing).
    pub fn insert_checkin(&self, checkin: &CheckIn) -> Result<Insert<CheckIn>, StoreError> {
        let k = key(&checkin.branch, checkin.date, &checkin.user);
        match self.checkins.compare_and_swap(&k, None as Option<&[u8]>, Some(encode(checkin)?))? {
            Ok(()) => Ok(Insert::Written(self.wrote())),
            Err(conflict) => match conflict.current {
                Some(raw) => Ok(Insert::Existing(decode("checkin", &raw)?)),
                // Removed in between: there is nothing to keep, and nothing was written.
                None => Ok(Insert::Written(self.wrote())),
            },
        }
    }

    /// How many of the days from `first` to `last` (both included) a member checked in: one
    /// point read a day, whatever the rest of the branch did.
    pub fn checkin_days(&self, branch: &BranchId, user: &UserId, first: NaiveDate, last: NaiveDate) -> Result<usize, StoreError> {
        let mut days = 0;
        for day in first.iter_days().take_while(|d| *d <= last) {
            if self.checkins.contains_key(key(branch, day, user))? {
                days += 1;
            }
        }
        Ok(days)
    }

    pub fn checkin(&self, branch: &BranchId, date: NaiveDate, user: &UserId) -> Result<Option<CheckIn>, StoreError> {
        self.checkins.get(key(branch, date, user))?.map(|raw| decode("checkin", &raw)).transpose()
    }

    /// Every check-in of a branch from `first` to `last`, both included, in date order.
    pub fn checkins_between(&self, branch: &BranchId, first: NaiveDate, last: NaiveDate) -> Result<Vec<CheckIn>, StoreError> {
        let b = branch.as_str().as_bytes();
        let start = keys::prefix(&[b, &keys::date(first)]);
        // One past the last day's prefix: NUL+1 after the date.
        let mut end = keys::join(&[b, &keys::date(last)]);
        end.push(1);
        scan("checkin", self.checkins.range(start..end))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    fn checkin(date: &str, user: &str) -> CheckIn {
        CheckIn { branch: BranchId::new("demo").unwrap(), user: UserId::parse(user).unwrap(), date: date.parse().unwrap(), at: chrono::Utc::now(), note: None }
    }

    #[test]
    fn one_checkin_per_member_per_day() {
        let (_dir, store) = temp_store();
        let first = checkin("2026-11-25", "console:alice");
        assert!(matches!(store.insert_checkin(&first).unwrap(), Insert::Written(_)));
        let mut again = first.clone();
        again.note = Some("again".into());
        assert_eq!(store.insert_checkin(&again).unwrap(), Insert::Existing(first.clone()));
        assert_eq!(store.checkin(&first.branch, first.date, &first.user).unwrap(), Some(first));
    }

    #[test]
    fn range_scans_cover_whole_days() {
        let (_dir, store) = temp_store();
        for (d, u) in [("2026-11-22", "console:a"), ("2026-11-23", "console:a"), ("2026-11-29", "console:b"), ("2026-11-30", "console:a")] {
            let _ = store.insert_checkin(&checkin(d, u)).unwrap();
        }
        let branch = BranchId::new("demo").unwrap();
        let week = store.checkins_between(&branch, "2026-11-23".parse().unwrap(), "2026-11-29".parse().unwrap()).unwrap();
        let dates: Vec<String> = week.iter().map(|c| c.date.to_string()).collect();
        assert_eq!(dates, ["2026-11-23", "2026-11-29"]);
    }
}
