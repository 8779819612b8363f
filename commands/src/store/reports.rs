//! Reports: `reports` holds `<id>` → [`Report`]; two index trees make the scans cheap:
//! `report_time` (`<branch>\0<instant>\0<id>`, a week is one range) and `report_author`
//! (`<branch>\0<user>\0<id>`, a member's own list). All three and the id counter change in one
//! transaction.

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, Transactional};
use zhibu_chat::UserId;

use super::{decode, encode, keys, Store, StoreError, Written};
use crate::domain::{BranchId, Report, ReportKind};

const REPORT_SEQ: &[u8] = b"report_seq";

fn time_key(r: &Report) -> Vec<u8> {
    keys::join(&[r.branch.as_str().as_bytes(), &keys::instant(r.at), &keys::id(r.id)])
}

fn author_key(r: &Report) -> Vec<u8> {
    keys::join(&[r.branch.as_str().as_bytes(), r.author.as_str().as_bytes(), &keys::id(r.id)])
}

fn id_from_index_key(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

impl Store {
    /// Stores a new report under the next id and returns it.
    pub fn add_report(&self, branch: &BranchId, author: &UserId, kind: ReportKind, at: DateTime<Utc>, text: &str) -> Result<Written<Report>, StoreError> {
        let trees = (&self.meta, &self.reports, &self.report_time, &self.report_author);
        let result = trees.transaction(|(meta, reports, by_time, by_author)| {
            let last = super::counter(meta.get(REPORT_SEQ)?);
            let report = Report { id: last + 1, branch: branch.clone(), author: author.clone(), kind, at, text: text.to_owned() };
            let value = encode(&report).map_err(ConflictableTransactionError::Abort)?;
            meta.insert(REPORT_SEQ, &keys::id(report.id))?;
            reports.insert(&keys::id(report.id), value)?;
            by_time.insert(time_key(&report), &[])?;
            by_author.insert(author_key(&report), &[])?;
            Ok(report)
        });
        let report = result.map_err(super::tx_error)?;
        Ok(Written { value: report, ticket: self.wrote() })
    }

    pub fn report(&self, id: u64) -> Result<Option<Report>, StoreError> {
        self.reports.get(keys::id(id))?.map(|raw| decode("report", &raw)).transpose()
    }

    fn reports_from_index(&self, iter: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>) -> Result<Vec<Report>, StoreError> {
        let mut out = Vec::new();
        for kv in iter {
            let (k, _) = kv?;
            if let Some(report) = id_from_index_key(&k).map(|id| self.report(id)).transpose()?.flatten() {
                out.push(report);
            }
        }
        Ok(out)
    }

    /// A member's reports in a branch, oldest first.
    pub fn reports_by_author(&self, branch: &BranchId, author: &UserId) -> Result<Vec<Report>, StoreError> {
        let prefix = keys::prefix(&[branch.as_str().as_bytes(), author.as_str().as_bytes()]);
        self.reports_from_index(self.report_author.scan_prefix(prefix))
    }

    /// A branch's reports submitted in `[from, until)`, oldest first.
    pub fn reports_between(&self, branch: &BranchId, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<Report>, StoreError> {
        let b = branch.as_str().as_bytes();
        let start = keys::prefix(&[b, &keys::instant(from)]);
        let end = keys::prefix(&[b, &keys::instant(until)]);
        self.reports_from_index(self.report_time.range(start..end))
    }

    /// The highest report id handed out so far.
    pub(crate) fn report_seq(&self) -> Result<u64, StoreError> {
        Ok(super::counter(self.meta.get(REPORT_SEQ)?))
    }

    /// Puts back a report exactly as exported (id included), with its index entries.
    pub(crate) fn restore_report(&self, report: &Report) -> Result<(), StoreError> {
        if let Some(old) = self.report(report.id)? {
            self.report_time.remove(time_key(&old))?;
            self.report_author.remove(author_key(&old))?;
        }
        self.reports.insert(keys::id(report.id), encode(report)?)?;
        self.report_time.insert(time_key(report), &[])?;
        self.report_author.insert(author_key(report), &[])?;
        if report.id > self.report_seq()? {
            self.meta.insert(REPORT_SEQ, &keys::id(report.id))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    #[test]
    fn reports_get_increasing_ids_and_are_found_by_author_and_time() {
        let (_dir, store) = temp_store();
        let branch = BranchId::new("demo").unwrap();
        let alice = UserId::parse("console:alice").unwrap();
        let bob = UserId::parse("console:bob").unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let r1 = store.add_report(&branch, &alice, ReportKind::Thought, t("2026-11-20T10:00:00Z"), "一").unwrap().value;
        let r2 = store.add_report(&branch, &bob, ReportKind::StudyNote, t("2026-11-24T10:00:00Z"), "二").unwrap().value;
        let r3 = store.add_report(&branch, &alice, ReportKind::StudyNote, t("2026-11-25T10:00:00Z"), "三").unwrap().value;
        assert_eq!((r1.id, r2.id, r3.id), (1, 2, 3));
        let mine: Vec<u64> = store.reports_by_author(&branch, &alice).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(mine, [1, 3]);
        let week: Vec<u64> = store.reports_between(&branch, t("2026-11-23T00:00:00Z"), t("2026-11-30T00:00:00Z")).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(week, [2, 3]);
        assert_eq!(store.report(2).unwrap(), Some(r2));
        assert_eq!(store.report(9).unwrap(), None);
    }
}
