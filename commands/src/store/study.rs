//! Study progress: `study` holds `p\0<branch>\0<item>` → the date pushed, `t\0<branch>` →
//! today's item, `d\0<branch>\0<item>\0<user>` → when the member recorded studying it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use zhibu_chat::UserId;

use super::{decode, encode, keys, Effect, EffectTree, Insert, Store, StoreError};
use crate::domain::BranchId;
use crate::study::TodayItem;

fn pushed_key(branch: &BranchId, item: &str) -> Vec<u8> {
    keys::join(&[b"p", branch.as_str().as_bytes(), item.as_bytes()])
}

fn today_key(branch: &BranchId) -> Vec<u8> {
    keys::join(&[b"t", branch.as_str().as_bytes()])
}

fn done_key(branch: &BranchId, item: &str, user: &UserId) -> Vec<u8> {
    keys::join(&[b"d", branch.as_str().as_bytes(), item.as_bytes(), user.as_str().as_bytes()])
}

impl Store {
    /// Items pushed to a branch and when.
    pub fn study_pushed(&self, branch: &BranchId) -> Result<HashMap<String, NaiveDate>, StoreError> {
        let prefix = keys::prefix(&[b"p", branch.as_str().as_bytes()]);
        let mut out = HashMap::new();
        for kv in self.study.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let item = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.insert(item, decode("study push", &v)?);
        }
        Ok(out)
    }

    /// The effects of pushing `item` to a branch on `date`.
    pub fn study_push_effects(&self, branch: &BranchId, item: &str, date: NaiveDate) -> Result<Vec<Effect>, StoreError> {
        Ok(vec![
            Effect { tree: EffectTree::Study, key: pushed_key(branch, item), value: Some(encode(&date)?) },
            Effect { tree: EffectTree::Study, key: today_key(branch), value: Some(encode(&TodayItem { date, item: item.to_owned() })?) },
        ])
    }

    pub fn study_today(&self, branch: &BranchId) -> Result<Option<TodayItem>, StoreError> {
        self.study.get(today_key(branch))?.map(|raw| decode("study today", &raw)).transpose()
    }

    /// Records that a member studied an item, unless they already had.
    pub fn record_study(&self, branch: &BranchId, item: &str, user: &UserId, at: DateTime<Utc>) -> Result<Insert<()>, StoreError> {
        let inserted = self.study.compare_and_swap(done_key(branch, item, user), None as Option<&[u8]>, Some(encode(&at)?))?.is_ok();
        Ok(if inserted { Insert::Written(self.wrote()) } else { Insert::Existing(()) })
    }

    /// Every (member, when) study record of a branch.
    pub fn study_records(&self, branch: &BranchId) -> Result<Vec<(UserId, DateTime<Utc>)>, StoreError> {
        let prefix = keys::prefix(&[b"d", branch.as_str().as_bytes()]);
        let mut out = Vec::new();
        for kv in self.study.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let user = k.rsplit(|b| *b == 0).next().and_then(|u| std::str::from_utf8(u).ok()).and_then(|u| UserId::parse(u).ok());
            if let Some(user) = user {
                out.push((user, decode("study record", &v)?));
            }
        }
        Ok(out)
    }
}
