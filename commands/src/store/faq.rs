//! The FAQ library as the bot serves it: `faq` holds `<entry id>` → [`FaqEntry`]; the synonym
//! rules (synonyms, declined phrases, keyword rules) and the "seeded" flag live in `meta`.
//! Every change is recorded in `faq_history` with its author and time, in the same transaction
//! as the change itself. Edits made in chat wait in `faq_drafts` until their author confirms.
//! `faq_unanswered` counts the questions the bot could not answer, by question, never by asker.
//! Those counts gather in memory ([`PendingUnanswered`]) and are written in one batch every
//! [`UNANSWERED_BATCH`] questions or [`UNANSWERED_DELAY`], before the log is read, and at shutdown
//! ([`Store::flush_all`]), so a question the bot cannot answer costs no write of its own.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};

use super::{decode, encode, scan, tx_error, Store, StoreError, Ticket, Written};
use crate::faq::{FaqEntry, FaqRules};

const FAQ_SEEDED: &[u8] = b"faq_seeded";
const FAQ_RULES: &[u8] = b"faq_rules";
/// The unanswered-question log keeps this many distinct questions, dropping the stalest.
const UNANSWERED_KEPT: usize = 500;
/// The longest question text kept in the unanswered log.
const UNANSWERED_CHARS: usize = 100;
/// Unanswered questions gathered in memory are written once this many distinct ones wait...
const UNANSWERED_BATCH: usize = 64;
/// ...or the oldest has waited this long (checked when the next one comes).
const UNANSWERED_DELAY: std::time::Duration = std::time::Duration::from_secs(10);

/// Unanswered questions not yet written: by text, how many times and when last; and since when
/// the oldest waits. Texts are merged by their key (letters and digits, lower case) only when
/// written: the key costs a Unicode table lookup per character, and a question asked many times
/// between two writes costs it once.
#[derive(Debug, Default)]
pub(super) struct PendingUnanswered {
    /// Each text with the order it was first seen in.
    by_text: std::collections::HashMap<String, (usize, Unanswered)>,
    since: Option<std::time::Instant>,
}

/// What an FAQ import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaqChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
}

/// Who changed the library: a member (`console:alice`, their name) or the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqAuthor {
    pub id: String,
    pub name: String,
}

/// One change to the library, with what it replaces (`base`), so that the history shows before
/// and after, and so that an edit drafted against an entry someone else has changed since is
/// refused instead of silently undoing their change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaqEdit {
    /// Adds `entry` (`base` none) or replaces `base` with it.
    Put {
        entry: FaqEntry,
        base: Option<FaqEntry>,
    },
    Delete {
        base: FaqEntry,
    },
    /// Replaces the synonym groups.
    Synonyms {
        groups: Vec<Vec<String>>,
        base: Vec<Vec<String>>,
    },
}

impl FaqEdit {
    /// The history subject: `entry:<id>` or `synonyms`.
    pub fn subject(&self) -> String {
        match self {
            FaqEdit::Put { entry, .. } => format!("entry:{}", entry.id),
            FaqEdit::Delete { base } => format!("entry:{}", base.id),
            FaqEdit::Synonyms { .. } => "synonyms".to_owned(),
        }
    }
}

/// An edit drafted in chat, waiting for `/faq 确认`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqDraft {
    pub edit: FaqEdit,
    pub drafted_at: DateTime<Utc>,
}

/// One entry of the library's history. Keys: subject, 0, time (µs), then a sequence number
/// from the database, so two changes in the same microsecond both stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqHistoryRecord {
    pub at: DateTime<Utc>,
    pub author: FaqAuthor,
    pub edit: FaqEdit,
}

/// A question the bot could not answer: its text (clipped), how often it was asked and when
/// last. Who asked is never recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unanswered {
    pub question: String,
    pub count: u64,
    pub last: DateTime<Utc>,
}

fn history_key(subject: &str, at: DateTime<Utc>, seq: u64) -> Vec<u8> {
    let mut key = subject.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

impl Store {
    /// Every entry, in id order.
    pub fn faq_entries(&self) -> Result<Vec<FaqEntry>, StoreError> {
        scan("faq", self.faq.iter())
    }

    pub fn faq_rules(&self) -> Result<FaqRules, StoreError> {
        Ok(self.meta.get(FAQ_RULES)?.map(|raw| decode("faq rules", &raw)).transpose()?.unwrap_or_default())
    }

    /// The entry with this id.
    pub fn faq_entry(&self, id: &str) -> Result<Option<FaqEntry>, StoreError> {
        self.faq.get(id.as_bytes())?.map(|raw| decode("faq", &raw)).transpose()
    }

    /// Bumped on every change to the library (in this process).
    pub fn faq_version(&self) -> u64 {
        self.faq_version.load(Ordering::Acquire)
    }

    /// Adds new entries and replaces changed ones (by id), with `rules` if given, in one
    /// transaction, durably, each change recorded in the history under `author` (none: a
    /// restore from an export, whose history comes with it). Entries not named are kept.
    pub fn upsert_faq(&self, entries: &[FaqEntry], rules: Option<&FaqRules>, author: Option<&FaqAuthor>, at: DateTime<Utc>) -> Result<FaqChanges, StoreError> {
        let mut changes = FaqChanges::default();
        let mut edits = Vec::new();
        for entry in entries {
            let old = self.faq_entry(&entry.id)?;
            match &old {
                None => changes.added.push(entry.id.clone()),
                Some(old) if old == entry => {
                    changes.unchanged += 1;
                    continue;
                }
                Some(_) => changes.changed.push(entry.id.clone()),
            }
            edits.push(FaqEdit::Put { entry: entry.clone(), base: old });
        }
        let rules = match rules {
            Some(rules) if *rules != self.faq_rules()? => Some(rules),
            _ => None,
        };
        if edits.is_empty() && rules.is_none() {
            return Ok(changes);
        }
        let records: Vec<(Vec<u8>, Vec<u8>)> = edits
            .into_iter()
            .filter(|_| author.is_some())
            .map(|edit| {
                let key = history_key(&edit.subject(), at, self.db.generate_id()?);
                let author = author.cloned().unwrap_or_else(|| FaqAuthor { id: String::new(), name: String::new() });
                Ok((key, encode(&FaqHistoryRecord { at, author, edit })?))
            })
            .collect::<Result<_, StoreError>>()?;
        let rules_raw = rules.map(encode).transpose()?;
        (&self.faq, &self.meta, &self.faq_history)
            .transaction(|(faq, meta, history)| {
                for entry in entries {
                    faq.insert(entry.id.as_bytes(), encode(entry).map_err(ConflictableTransactionError::Abort)?)?;
                }
                if let Some(raw) = &rules_raw {
                    meta.insert(FAQ_RULES, raw.as_slice())?;
                }
                for (key, value) in &records {
                    history.insert(key.as_slice(), value.as_slice())?;
                }
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush()?;
        self.faq_version.fetch_add(1, Ordering::AcqRel);
        Ok(changes)
    }

    /// Applies one edit and records it, in one transaction. `None` when the library no longer
    /// holds the edit's `base` (someone changed it since the edit was drafted): nothing is
    /// written.
    pub fn apply_faq_edit(&self, edit: &FaqEdit, author: &FaqAuthor, at: DateTime<Utc>) -> Result<Option<Ticket>, StoreError> {
        let record = encode(&FaqHistoryRecord { at, author: author.clone(), edit: edit.clone() })?;
        let key = history_key(&edit.subject(), at, self.db.generate_id()?);
        let applied = (&self.faq, &self.meta, &self.faq_history)
            .transaction(|(faq, meta, history)| {
                let current = |id: &str| -> Result<Option<FaqEntry>, ConflictableTransactionError<StoreError>> {
                    faq.get(id.as_bytes())?.map(|raw| decode("faq", &raw)).transpose().map_err(ConflictableTransactionError::Abort)
                };
                match edit {
                    FaqEdit::Put { entry, base } => {
                        if current(&entry.id)? != *base {
                            return Ok(false);
                        }
                        faq.insert(entry.id.as_bytes(), encode(entry).map_err(ConflictableTransactionError::Abort)?)?;
                    }
                    FaqEdit::Delete { base } => {
                        if current(&base.id)?.as_ref() != Some(base) {
                            return Ok(false);
                        }
                        faq.remove(base.id.as_bytes())?;
                    }
                    FaqEdit::Synonyms { groups, base } => {
                        let mut rules: FaqRules = match meta.get(FAQ_RULES)? {
                            Some(raw) => decode("faq rules", &raw).map_err(ConflictableTransactionError::Abort)?,
                            None => FaqRules::default(),
                        };
                        if rules.synonyms != *base {
                            return Ok(false);
                        }
                        rules.synonyms = groups.clone();
                        meta.insert(FAQ_RULES, encode(&rules).map_err(ConflictableTransactionError::Abort)?)?;
                    }
                }
                history.insert(key.as_slice(), record.as_slice())?;
                Ok(true)
            })
            .map_err(tx_error)?;
        if !applied {
            return Ok(None);
        }
        self.faq_version.fetch_add(1, Ordering::AcqRel);
        Ok(Some(self.wrote()))
    }

    /// The changes recorded for `subject` (`entry:<id>` or `synonyms`), oldest first.
    pub fn faq_history(&self, subject: &str) -> Result<Vec<FaqHistoryRecord>, StoreError> {
        let mut prefix = subject.as_bytes().to_vec();
        prefix.push(0);
        scan("faq_history", self.faq_history.scan_prefix(prefix))
    }

    /// Keeps `draft` as `author_id`'s edit waiting for confirmation (replacing any earlier one).
    pub fn put_faq_draft(&self, author_id: &str, draft: &FaqDraft) -> Result<Ticket, StoreError> {
        self.faq_drafts.insert(author_id.as_bytes(), encode(draft)?)?;
        Ok(self.wrote())
    }

    /// Takes `author_id`'s waiting edit, if any.
    pub fn take_faq_draft(&self, author_id: &str) -> Result<Written<Option<FaqDraft>>, StoreError> {
        let draft = self.faq_drafts.remove(author_id.as_bytes())?.map(|raw| decode("faq_drafts", &raw)).transpose()?;
        Ok(Written { value: draft, ticket: self.wrote() })
    }

    /// Counts one more asking of a question the bot could not answer. Gathered in memory and
    /// written in batches without an fsync: losing the last seconds of this log in a crash
    /// costs nothing.
    pub fn record_unanswered(&self, question: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Nothing to key on (punctuation, emoji): not a question anyone can answer.
        if !question.chars().any(char::is_alphanumeric) {
            return Ok(());
        }
        let text = unanswered_text(question);
        let due = {
            let mut pending = self.pending_unanswered();
            let since = *pending.since.get_or_insert_with(std::time::Instant::now);
            let order = pending.by_text.len();
            match pending.by_text.get_mut(text.as_str()) {
                Some((_, seen)) => {
                    seen.count += 1;
                    seen.last = seen.last.max(at);
                }
                None => {
                    pending.by_text.insert(text.clone(), (order, Unanswered { question: text, count: 1, last: at }));
                }
            }
            pending.by_text.len() >= UNANSWERED_BATCH || since.elapsed() >= UNANSWERED_DELAY
        };
        if due {
            self.write_unanswered()?;
        }
        Ok(())
    }

    fn pending_unanswered(&self) -> std::sync::MutexGuard<'_, PendingUnanswered> {
        // Plain counts: a panic elsewhere cannot leave them half-updated.
        self.unanswered_pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds the gathered counts to the log in one batch, then drops the stalest questions beyond
    /// [`UNANSWERED_KEPT`]. Holds the gathering lock throughout, so two threads writing at once
    /// cannot both read a count and each add only their own.
    pub(super) fn write_unanswered(&self) -> Result<(), StoreError> {
        let mut pending = self.pending_unanswered();
        let gathered = std::mem::take(&mut *pending).by_text;
        if gathered.is_empty() {
            return Ok(());
        }
        // Texts that differ only in spacing, case or punctuation count as one question, under the
        // text seen first.
        let mut in_order: Vec<(usize, Unanswered)> = gathered.into_values().collect();
        in_order.sort_unstable_by_key(|(order, _)| *order);
        let mut by_key: std::collections::BTreeMap<String, Unanswered> = std::collections::BTreeMap::new();
        for (_, new) in in_order {
            let key = unanswered_key(&new.question);
            if key.is_empty() {
                continue;
            }
            match by_key.entry(key) {
                std::collections::btree_map::Entry::Occupied(mut seen) => {
                    let seen = seen.get_mut();
                    seen.count += new.count;
                    seen.last = seen.last.max(new.last);
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(new);
                }
            }
        }
        let mut batch = sled::Batch::default();
        let mut added = false;
        for (key, new) in by_key {
            let record = match self.faq_unanswered.get(key.as_bytes())? {
                Some(raw) => {
                    let old: Unanswered = decode("faq_unanswered", &raw)?;
                    Unanswered { question: old.question, count: old.count + new.count, last: old.last.max(new.last) }
                }
                None => {
                    added = true;
                    new
                }
            };
            batch.insert(key.as_bytes(), encode(&record)?);
        }
        self.faq_unanswered.apply_batch(batch)?;
        if added && self.faq_unanswered.len() > UNANSWERED_KEPT {
            let mut all: Vec<(sled::IVec, DateTime<Utc>)> = Vec::new();
            for kv in self.faq_unanswered.iter() {
                let (k, v) = kv?;
                all.push((k, decode::<Unanswered>("faq_unanswered", &v)?.last));
            }
            all.sort_by_key(|(_, last)| *last);
            let mut batch = sled::Batch::default();
            for (k, _) in all.iter().take(all.len().saturating_sub(UNANSWERED_KEPT)) {
                batch.remove(k);
            }
            self.faq_unanswered.apply_batch(batch)?;
        }
        Ok(())
    }

    /// The unanswered questions, most asked first, then most recent.
    pub fn unanswered(&self) -> Result<Vec<Unanswered>, StoreError> {
        self.write_unanswered()?;
        let mut all: Vec<Unanswered> = scan("faq_unanswered", self.faq_unanswered.iter())?;
        all.sort_by(|a, b| b.count.cmp(&a.count).then(b.last.cmp(&a.last)));
        Ok(all)
    }

    /// Empties the unanswered log (the secretary has dealt with it).
    pub fn clear_unanswered(&self) -> Result<Written<usize>, StoreError> {
        self.write_unanswered()?;
        let n = self.faq_unanswered.len();
        self.faq_unanswered.clear()?;
        Ok(Written { value: n, ticket: self.wrote() })
    }

    /// Whether the shipped library was ever loaded (so deleting every entry doesn't bring the
    /// shipped ones back on the next start).
    pub fn faq_seeded(&self) -> Result<bool, StoreError> {
        Ok(self.meta.get(FAQ_SEEDED)?.is_some())
    }

    pub fn mark_faq_seeded(&self) -> Result<(), StoreError> {
        self.meta.insert(FAQ_SEEDED, &[1])?;
        self.flush()
    }
}

/// A question as the unanswered log keeps it: whitespace runs as one space, at most
/// [`UNANSWERED_CHARS`] characters.
fn unanswered_text(question: &str) -> String {
    let mut text = String::with_capacity(question.len().min(UNANSWERED_CHARS * 4));
    let mut chars = 0;
    for word in question.split_whitespace() {
        if !text.is_empty() {
            if chars == UNANSWERED_CHARS {
                break;
            }
            text.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars == UNANSWERED_CHARS {
                break;
            }
            text.push(c);
            chars += 1;
        }
    }
    text
}

/// What makes two logged questions the same: their letters and digits, in lower case.
fn unanswered_key(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    fn e(id: &str, answer: &str) -> FaqEntry {
        FaqEntry {
            id: id.into(),
            topic: String::new(),
            question: "q".into(),
            alternatives: vec![],
            keywords: vec![],
            answer: answer.into(),
            source: String::new(),
        }
    }

    #[test]
    fn upserts_report_what_changed() {
        let (_dir, store) = temp_store();
        let cli = FaqAuthor { id: "cli".into(), name: "命令行".into() };
        let now = Utc::now();
        let first = store.upsert_faq(&[e("a", "1"), e("b", "1")], None, Some(&cli), now).unwrap();
        assert_eq!(first.added, ["a", "b"]);
        let second = store.upsert_faq(&[e("a", "1"), e("b", "2"), e("c", "1")], None, Some(&cli), now).unwrap();
        assert_eq!((second.added, second.changed, second.unchanged), (vec!["c".to_string()], vec!["b".to_string()], 1));
        assert_eq!(store.faq_entries().unwrap().len(), 3);
        // Added, then changed: two records for b, one for a.
        assert_eq!(store.faq_history("entry:b").unwrap().len(), 2);
        assert_eq!(store.faq_history("entry:a").unwrap().len(), 1);
    }

    #[test]
    fn an_edit_drafted_against_an_old_version_is_refused() {
        let (_dir, store) = temp_store();
        let cli = FaqAuthor { id: "cli".into(), name: "命令行".into() };
        let now = Utc::now();
        store.upsert_faq(&[e("a", "1")], None, Some(&cli), now).unwrap();
        let base = store.faq_entry("a").unwrap();
        let first = FaqEdit::Put { entry: e("a", "2"), base: base.clone() };
        let second = FaqEdit::Put { entry: e("a", "3"), base };
        let version = store.faq_version();
        assert!(store.apply_faq_edit(&first, &cli, now).unwrap().is_some());
        assert!(store.apply_faq_edit(&second, &cli, now).unwrap().is_none());
        assert_eq!(store.faq_entry("a").unwrap().unwrap().answer, "2");
        assert_eq!(store.faq_version(), version + 1);
        let delete = FaqEdit::Delete { base: e("a", "2") };
        assert!(store.apply_faq_edit(&delete, &cli, now).unwrap().is_some());
        assert_eq!(store.faq_entry("a").unwrap(), None);
        assert_eq!(store.faq_history("entry:a").unwrap().len(), 3);
    }

    #[test]
    fn unanswered_questions_are_counted_without_their_askers() {
        let (_dir, store) = temp_store();
        let now = Utc::now();
        store.record_unanswered("食堂 几点开门？", now).unwrap();
        store.record_unanswered("食堂几点开门", now).unwrap();
        store.record_unanswered("图书馆在哪", now).unwrap();
        store.record_unanswered("？？", now).unwrap();
        let all = store.unanswered().unwrap();
        assert_eq!(all.iter().map(|u| (u.question.as_str(), u.count)).collect::<Vec<_>>(), [("食堂 几点开门？", 2), ("图书馆在哪", 1)]);
        assert_eq!(store.clear_unanswered().unwrap().value, 2);
    }

    #[test]
    fn unanswered_counts_gathered_in_memory_reach_the_disk_and_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Utc::now();
        {
            let store = Store::open(dir.path()).unwrap();
            store.record_unanswered("食堂几点开门", t0).unwrap();
            assert_eq!(store.unanswered().unwrap()[0].count, 1);
            // More than a batch of distinct questions: the first batch is written on its own.
            for i in 0..UNANSWERED_BATCH + 5 {
                store.record_unanswered(&format!("问题{i}"), t0).unwrap();
            }
            store.record_unanswered("食堂几点开门", t0 + chrono::Duration::seconds(1)).unwrap();
            assert!(store.faq_unanswered.len() >= UNANSWERED_BATCH);
            // The rest is written at shutdown.
            store.flush_all().unwrap();
        }
        let store = crate::testing::reopen(dir.path()).unwrap();
        let all = store.unanswered().unwrap();
        assert_eq!(all.len(), UNANSWERED_BATCH + 6);
        assert_eq!((all[0].question.as_str(), all[0].count, all[0].last), ("食堂几点开门", 2, t0 + chrono::Duration::seconds(1)));
    }

    #[test]
    fn the_unanswered_log_keeps_the_most_recent_questions() {
        let (_dir, store) = temp_store();
        let t0 = Utc::now();
        for i in 0..UNANSWERED_KEPT + 3 {
            store.record_unanswered(&format!("问题{i}"), t0 + chrono::Duration::seconds(i as i64)).unwrap();
        }
        let all = store.unanswered().unwrap();
        assert_eq!(all.len(), UNANSWERED_KEPT);
        assert!(all.iter().all(|u| u.question != "问题0" && u.question != "问题2"));
        assert!(all.iter().any(|u| u.question == "问题3"));
    }

    #[test]
    fn logged_question_texts_are_cut_as_before() {
        let joined = |q: &str| -> String { q.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(UNANSWERED_CHARS).collect() };
        let (long, spaced) = ("问".repeat(150), "a ".repeat(80));
        let (edge, past) = (format!("{} x", "问".repeat(99)), format!("{} x", "问".repeat(100)));
        for q in ["", "  ", "食堂 几点开门？", "  a\t b\n\nc  ", &long, &spaced, &edge, &past] {
            assert_eq!(unanswered_text(q), joined(q), "{q:?}");
        }
        assert_eq!(unanswered_key("Wi-Fi 密码？"), "wifi密码");
    }
}
