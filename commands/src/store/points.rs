//! Points (积分): `points` holds `<branch>\0<user>\0<YYYY-MM-DD>\0<activity>` → points earned
//! that day for that activity, so a daily cap is one read and a member's history one scan.

use std::collections::HashMap;

use chrono::NaiveDate;
use zhibu_chat::UserId;

use super::{keys, Effect, EffectTree, Store, StoreError, Written};
use crate::domain::BranchId;

fn key(branch: &BranchId, user: &UserId, date: NaiveDate, activity: &str) -> Vec<u8> {
    keys::join(&[branch.as_str().as_bytes(), user.as_str().as_bytes(), &keys::date(date), activity.as_bytes()])
}

fn value(raw: &[u8]) -> u32 {
    raw.try_into().map(u32::from_be_bytes).unwrap_or(0)
}

impl Store {
    /// Adds `amount` points for `activity` on `date`, up to `daily_cap` for that day and
    /// activity. Returns the points actually added.
    pub fn award_points(
        &self,
        branch: &BranchId,
        user: &UserId,
        date: NaiveDate,
        activity: &str,
        amount: u32,
        daily_cap: u32,
    ) -> Result<Written<u32>, StoreError> {
        let k = key(branch, user, date, activity);
        let before = self.points.fetch_and_update(&k, |old| {
            let current = old.map(value).unwrap_or(0);
            Some(current.saturating_add(amount).min(daily_cap.max(current)).to_be_bytes().to_vec())
        })?;
        let before = before.as_deref().map(value).unwrap_or(0);
        let after = self.points.get(&k)?.as_deref().map(value).unwrap_or(0);
        Ok(Written { value: after - before, ticket: self.wrote() })
    }

    /// The effect of awarding points inside a scheduled run (capped by the caller).
    pub fn points_effect(&self, branch: &BranchId, user: &UserId, date: NaiveDate, activity: &str, total: u32) -> Effect {
        Effect { tree: EffectTree::Points, key: key(branch, user, date, activity), value: Some(total.to_be_bytes().to_vec()) }
    }

    /// Points a member holds for `activity` on `date`.
    pub fn points_on(&self, branch: &BranchId, user: &UserId, date: NaiveDate, activity: &str) -> Result<u32, StoreError> {
        Ok(self.points.get(key(branch, user, date, activity))?.as_deref().map(value).unwrap_or(0))
    }

    /// A member's points per day.
    pub fn points_by_day(&self, branch: &BranchId, user: &UserId) -> Result<Vec<(NaiveDate, u32)>, StoreError> {
        let prefix = keys::prefix(&[branch.as_str().as_bytes(), user.as_str().as_bytes()]);
        let mut out: Vec<(NaiveDate, u32)> = Vec::new();
        for kv in self.points.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let Some(date) = k.get(prefix.len()..prefix.len() + 10).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| d.parse().ok()) else {
                continue;
            };
            match out.last_mut() {
                Some((d, sum)) if *d == date => *sum += value(&v),
                _ => out.push((date, value(&v))),
            }
        }
        Ok(out)
    }

    /// Every member's total points in a branch.
    pub fn points_totals(&self, branch: &BranchId) -> Result<HashMap<UserId, u32>, StoreError> {
        let prefix = keys::prefix(&[branch.as_str().as_bytes()]);
        let mut out: HashMap<UserId, u32> = HashMap::new();
        for kv in self.points.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let user = k[prefix.len()..].split(|b| *b == 0).next().and_then(|u| std::str::from_utf8(u).ok()).and_then(|u| UserId::parse(u).ok());
            if let Some(user) = user {
                *out.entry(user).or_default() += value(&v);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    #[test]
    fn awards_respect_the_daily_cap() {
        let (_dir, store) = temp_store();
        let b = BranchId::new("demo").unwrap();
        let u = UserId::parse("console:alice").unwrap();
        let d: NaiveDate = "2026-11-25".parse().unwrap();
        assert_eq!(store.award_points(&b, &u, d, "study", 2, 5).unwrap().value, 2);
        assert_eq!(store.award_points(&b, &u, d, "study", 2, 5).unwrap().value, 2);
        assert_eq!(store.award_points(&b, &u, d, "study", 2, 5).unwrap().value, 1);
        assert_eq!(store.award_points(&b, &u, d, "study", 2, 5).unwrap().value, 0);
        assert_eq!(store.award_points(&b, &u, d, "checkin", 1, 1).unwrap().value, 1);
        let next = d.succ_opt().unwrap();
        assert_eq!(store.award_points(&b, &u, next, "study", 2, 5).unwrap().value, 2);
        assert_eq!(store.points_by_day(&b, &u).unwrap(), vec![(d, 6), (next, 2)]);
        assert_eq!(store.points_totals(&b).unwrap()[&u], 8);
    }
}
