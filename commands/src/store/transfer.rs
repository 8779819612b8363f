//! Export and import of every record as JSON lines. The first line is a header with the schema
//! version; each other line is one record, tagged with its record type. Export → import into an empty
//! data dir → export gives the same bytes.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, SCHEMA_VERSION};
use crate::domain::{CheckIn, Member, Report};
use crate::faq::{FaqEntry, FaqRules};

/// One exported line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Header {
        format: String,
        schema: u32,
    },
    Member(Member),
    Checkin(CheckIn),
    Report(Report),
    Faq(FaqEntry),
    FaqRules(FaqRules),
    /// A record of the scheduler, study, quiz, points, reminders or engagement trees, or a counter, as
    /// its raw key and value in hex: exact, whatever the record's shape.
    Raw {
        tree: String,
        key: String,
        value: String,
    },
}

/// Trees exported as raw records, and the `meta` counters that go with them.
const RAW_TREES: [&str; 12] =
    ["study", "quiz", "reminders", "points", "job_state", "runs", "outbox", "meta", "engagement", "handled", "faq_history", "faq_unanswered"];
const META_SKIPPED: [&[u8]; 3] = [b"schema_version", b"faq_seeded", b"faq_rules"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

const FORMAT: &str = "zhibu-export";

/// Why an import was refused. Nothing is written when it is.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("line {line}: {detail}")]
    BadLine { line: usize, detail: String },
    #[error("the file does not start with a zhibu export header")]
    NoHeader,
    #[error("the export is of schema {found}; this build reads schema {supported} and older")]
    NewerSchema { found: u32, supported: u32 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts of what an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub members: usize,
    pub checkins: usize,
    pub reports: usize,
    pub faq: usize,
}

impl Store {
    fn raw_tree(&self, name: &str) -> Option<&sled::Tree> {
        Some(match name {
            "study" => &self.study,
            "quiz" => &self.quiz,
            "reminders" => &self.reminders,
            "points" => &self.points,
            "job_state" => &self.job_state,
            "runs" => &self.runs,
            "outbox" => &self.outbox,
            "meta" => &self.meta,
            "engagement" => &self.engagement,
            "handled" => &self.handled,
            "faq_history" => &self.faq_history,
            "faq_unanswered" => &self.faq_unanswered,
            _ => return None,
        })
    }

    /// Writes every record, one JSON object per line.
    pub fn export(&self, out: &mut dyn Write) -> Result<(), TransferError> {
        let mut line = |record: &Record| -> Result<(), TransferError> {
            serde_json::to_writer(&mut *out, record).map_err(StoreError::from)?;
            out.write_all(b"\n")?;
            Ok(())
        };
        line(&Record::Header { format: FORMAT.into(), schema: SCHEMA_VERSION })?;
        for m in super::scan::<Member>("member", self.members.iter())? {
            line(&Record::Member(m))?;
        }
        for c in super::scan::<CheckIn>("checkin", self.checkins.iter())? {
            line(&Record::Checkin(c))?;
        }
        for r in super::scan::<Report>("report", self.reports.iter())? {
            line(&Record::Report(r))?;
        }
        for f in self.faq_entries()? {
            line(&Record::Faq(f))?;
        }
        let rules = self.faq_rules()?;
        if rules != FaqRules::default() {
            line(&Record::FaqRules(rules))?;
        }
        for name in RAW_TREES {
            let tree = self.raw_tree(name).ok_or_else(|| StoreError::Decode { tree: "export", detail: name.into() })?;
            for kv in tree.iter() {
                let (k, v) = kv.map_err(StoreError::from)?;
                if name == "meta" && META_SKIPPED.contains(&k.as_ref()) {
                    continue;
                }
                line(&Record::Raw { tree: name.into(), key: hex(&k), value: hex(&v) })?;
            }
        }
        Ok(())
    }

    /// Reads an export and writes its records, replacing records with the same key. Every line
    /// is checked before anything is written: a bad line refuses the whole file.
    pub fn import(&self, input: &mut dyn BufRead) -> Result<ImportSummary, TransferError> {
        let mut records = Vec::new();
        let mut header = false;
        for (i, raw) in input.lines().enumerate() {
            let raw = raw?;
            if raw.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(&raw).map_err(|e| TransferError::BadLine { line: i + 1, detail: e.to_string() })?;
            match &record {
                Record::Header { format, schema } if format == FORMAT && !header => {
                    if *schema > SCHEMA_VERSION {
                        return Err(TransferError::NewerSchema { found: *schema, supported: SCHEMA_VERSION });
                    }
                    header = true;
                }
                _ if !header => return Err(TransferError::NoHeader),
                Record::Header { .. } => return Err(TransferError::BadLine { line: i + 1, detail: "a second header".into() }),
                Record::Raw { tree, key, value } => {
                    let ok = RAW_TREES.contains(&tree.as_str()) && unhex(key).is_some() && unhex(value).is_some();
                    if !ok {
                        return Err(TransferError::BadLine { line: i + 1, detail: format!("bad raw record for tree `{tree}`") });
                    }
                    records.push(record);
                }
                Record::Faq(entry) => {
                    if let Some(problem) = entry.problems().into_iter().next() {
                        return Err(TransferError::BadLine { line: i + 1, detail: problem });
                    }
                    records.push(record);
                }
                _ => records.push(record),
            }
        }
        if !header {
            return Err(TransferError::NoHeader);
        }
        self.write_records(&records)
    }

    fn write_records(&self, records: &[Record]) -> Result<ImportSummary, TransferError> {
        let mut summary = ImportSummary::default();
        // A restored library brings its own history: the records a fresh store wrote when it
        // loaded the shipped library would otherwise stand beside it.
        if records.iter().any(|r| matches!(r, Record::Raw { tree, .. } if tree == "faq_history")) {
            self.faq_history.clear().map_err(StoreError::from)?;
        }
        let mut faq = Vec::new();
        let mut rules = None;
        for record in records {
            match record {
                Record::Header { .. } => {}
                Record::Member(m) => {
                    self.members.insert(super::members_key(m), super::encode(m)?).map_err(StoreError::from)?;
                    summary.members += 1;
                    self.forget_cached_members();
                }
                Record::Checkin(c) => {
                    self.checkins.insert(super::checkins_key(c), super::encode(c)?).map_err(StoreError::from)?;
                    summary.checkins += 1;
                }
                Record::Report(r) => {
                    self.restore_report(r)?;
                    summary.reports += 1;
                }
                Record::Faq(f) => faq.push(f.clone()),
                Record::FaqRules(r) => rules = Some(r.clone()),
                Record::Raw { tree, key, value } => {
                    if let (Some(t), Some(k), Some(v)) = (self.raw_tree(tree), unhex(key), unhex(value)) {
                        t.insert(k, v).map_err(StoreError::from)?;
                    }
                }
            }
        }
        summary.faq = faq.len();
        self.upsert_faq(&faq, rules.as_ref(), None, chrono::Utc::now())?;
        if summary.faq > 0 {
            self.mark_faq_seeded()?;
        }
        self.flush()?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;
    use crate::domain::{BranchId, ReportKind, Role};
    use zhibu_chat::UserId;

    #[test]
    fn export_import_export_is_exact() {
        let (_a, store) = temp_store();
        let branch = BranchId::new("demo").unwrap();
        let alice = UserId::parse("console:alice").unwrap();
        let at = "2026-11-25T01:02:03.456Z".parse().unwrap();
        let _ = store
            .put_member(&Member { branch: branch.clone(), user: alice.clone(), name: "Alice \"A\" 爱丽丝".into(), role: Role::Probationary, joined_at: at })
            .unwrap();
        let _ = store
            .insert_checkin(&CheckIn { branch: branch.clone(), user: alice.clone(), date: "2026-11-25".parse().unwrap(), at, note: Some("早\n安".into()) })
            .unwrap();
        let _ = store.add_report(&branch, &alice, ReportKind::Thought, at, "汇报\u{0}正文").unwrap();
        store
            .upsert_faq(
                &[FaqEntry {
                    id: "x".into(),
                    topic: "t".into(),
                    question: "q".into(),
                    alternatives: vec!["a".into()],
                    keywords: vec![],
                    answer: "ans".into(),
                    source: "s".into(),
                }],
                Some(&FaqRules { decline: vec![], synonyms: vec![vec!["a".into(), "b".into()]], ..FaqRules::default() }),
                None,
                at,
            )
            .unwrap();
        let _ = store.award_points(&branch, &alice, "2026-11-25".parse().unwrap(), "study", 2, 6).unwrap();
        let _ = store.add_reminder(&branch, vec![], &alice, at, "提醒").unwrap();
        let mut first = Vec::new();
        store.export(&mut first).unwrap();

        let (_b, other) = temp_store();
        let summary = other.import(&mut first.as_slice()).unwrap();
        assert_eq!(summary, ImportSummary { members: 1, checkins: 1, reports: 1, faq: 1 });
        let mut second = Vec::new();
        other.export(&mut second).unwrap();
        assert_eq!(String::from_utf8(first).unwrap(), String::from_utf8(second).unwrap());
        // The id counter follows the imported reports.
        assert_eq!(other.add_report(&branch, &alice, ReportKind::Thought, at, "next").unwrap().value.id, 2);
    }

    #[test]
    fn a_bad_line_refuses_the_whole_file() {
        let (_a, store) = temp_store();
        let input = format!(
            "{}\n{}\nnot json\n",
            r#"{"record":"header","format":"zhibu-export","schema":1}"#,
            r#"{"record":"member","branch":"demo","user":"console:a","name":"a","role":"member","joined_at":"2026-11-25T00:00:00Z"}"#
        );
        let err = store.import(&mut input.as_bytes()).unwrap_err();
        assert!(matches!(err, TransferError::BadLine { line: 3, .. }), "{err}");
        assert!(store.members(&BranchId::new("demo").unwrap()).unwrap().is_empty());
        assert!(matches!(store.import(&mut "{\"record\":\"faq\"}".as_bytes()), Err(TransferError::BadLine { .. } | TransferError::NoHeader)));
        assert!(matches!(store.import(&mut "".as_bytes()), Err(TransferError::NoHeader)));
    }
}
