//! The sled store behind a small typed layer: one tree per record kind, keys laid out for the
//! scans the bot makes (`<branch>\0<date>\0<user>` for check-ins, so a week is one range scan),
//! values as JSON, and a schema version checked on open.
//!
//! Writes do not wait for the disk. A write that someone will be told of (a check-in, a report,
//! a role) hands back a [`Ticket`]; the reply that confirms it is sent once the ticket is
//! durable, so when the bot says "签到成功" the check-in survives a SIGKILL. The runtime's one
//! flusher makes the writes of many chats durable with one fsync ([`Store::flush_async`]). A few
//! writes nobody is told about (enrolling a speaker on first contact, the unanswered-question
//! log, read receipts) carry no ticket and reach the disk with the next flush: someone's ticket,
//! sled's own every [`BACKGROUND_FLUSH_MS`], or shutdown. Bulk writes of the command line and of
//! start-up (imports, seeding the FAQ, the schema) flush before they return.

mod checkins;
mod engagement;
mod faq;
mod handled;
mod jobs;
mod keys;
mod members;
mod points;
mod quiz;
mod reminders;
mod reports;
mod study;
mod ticket;
mod transfer;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use checkins::record_key as checkins_key;
pub use engagement::{engagement_counts, Push, PushEngagement};
pub use faq::{FaqAuthor, FaqChanges, FaqDraft, FaqEdit, FaqHistoryRecord, Unanswered};
pub use jobs::{Delivery, Effect, EffectTree, JobState, OutboxEntry, Outcome};
use members::record_key as members_key;
pub use quiz::{OpenQuiz, QuizAnswer};
pub use reminders::Reminder;
pub use ticket::{Insert, Ticket, Written};
pub use transfer::{ImportSummary, Record, TransferError};

/// The schema this build writes. Bump it with a migration in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 1;

/// `MIGRATIONS[i]` upgrades a store from schema `i + 1` to `i + 2`. Each one is code, with a test.
type Migration = fn(&Store) -> Result<(), StoreError>;
const MIGRATIONS: &[Migration] = &[];

const SCHEMA_KEY: &[u8] = b"schema_version";

/// How often sled's background thread writes out what no ticket asked for, fsyncs and cleans
/// its log segments. sled's default is 500 ms; every confirmed write here is made durable before
/// its reply, so this only bounds what a crash can lose of the writes nobody was told about (see
/// above), which the next message repairs. Each round wakes the thread and fsyncs even when
/// nothing was written, so it is kept rare.
pub const BACKGROUND_FLUSH_MS: u64 = 5_000;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {path} is in use by another zhibu process; stop it first")]
    Locked { path: PathBuf },
    #[error("cannot open the data directory {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error("the data directory {path} is damaged or is not a zhibu data directory ({detail}); move it away or restore a backup made with `zhibu export`")]
    Corrupt { path: PathBuf, detail: String },
    #[error("the data directory {path} was written by a newer zhibu (schema {found}; this build reads schema {supported} and older); upgrade zhibu")]
    NewerSchema { path: PathBuf, found: u32, supported: u32 },
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("a stored {tree} record is unreadable: {detail}")]
    Decode { tree: &'static str, detail: String },
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The bot's embedded database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    members: sled::Tree,
    checkins: sled::Tree,
    reports: sled::Tree,
    report_time: sled::Tree,
    report_author: sled::Tree,
    faq: sled::Tree,
    runs: sled::Tree,
    outbox: sled::Tree,
    job_state: sled::Tree,
    study: sled::Tree,
    quiz: sled::Tree,
    reminders: sled::Tree,
    points: sled::Tree,
    engagement: sled::Tree,
    handled: sled::Tree,
    /// Handled event ids of this process (see [`handled`]).
    recent_events: std::sync::Arc<handled::RecentEvents>,
    /// Every change to the FAQ library, by subject (`entry:<id>`, `synonyms`) and time.
    faq_history: sled::Tree,
    /// Questions the FAQ could not answer, without who asked (see [`Unanswered`]).
    faq_unanswered: sled::Tree,
    /// Counts for `faq_unanswered` not yet written (see [`faq`]).
    unanswered_pending: std::sync::Arc<std::sync::Mutex<faq::PendingUnanswered>>,
    /// FAQ edits waiting for their author's confirmation, by author.
    faq_drafts: sled::Tree,
    /// Bumped on every change to the FAQ library, so the bot knows to rebuild its index.
    faq_version: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Member records and role holders read since the last member write (see [`members`]).
    member_cache: std::sync::Arc<std::sync::Mutex<members::MemberCache>>,
    /// Writes made and made durable (see [`ticket`]).
    durability: std::sync::Arc<ticket::Durability>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, checks its schema and runs migrations.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(StoreError::Open { path, detail: "it is a file, not a directory".into() });
        }
        // sled recovers a damaged log by dropping what it cannot read, which can leave an empty
        // database: files that were there before opening and yield no schema record are damage,
        // not a fresh start.
        let existed = dir.join("db").metadata().map(|m| m.len() > 0).unwrap_or(false);
        let config = sled::Config::new().path(dir).flush_every_ms(Some(BACKGROUND_FLUSH_MS));
        // sled can panic on some kinds of damaged files instead of returning an error; a damaged
        // data dir must give the secretary a clear message, not a stack trace.
        let db = match catch_unwind(AssertUnwindSafe(|| config.open())) {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(classify_open_error(path, e)),
            Err(_) => return Err(StoreError::Corrupt { path, detail: "the database files cannot be read".into() }),
        };
        let tree = |name: &str| db.open_tree(name);
        let store = Store {
            meta: tree("meta")?,
            members: tree("members")?,
            checkins: tree("checkins")?,
            reports: tree("reports")?,
            report_time: tree("report_time")?,
            report_author: tree("report_author")?,
            faq: tree("faq")?,
            runs: tree("runs")?,
            outbox: tree("outbox")?,
            job_state: tree("job_state")?,
            study: tree("study")?,
            quiz: tree("quiz")?,
            reminders: tree("reminders")?,
            points: tree("points")?,
            engagement: tree("engagement")?,
            handled: tree("handled")?,
            recent_events: Default::default(),
            faq_history: tree("faq_history")?,
            faq_unanswered: tree("faq_unanswered")?,
            unanswered_pending: Default::default(),
            faq_drafts: tree("faq_drafts")?,
            faq_version: Default::default(),
            member_cache: Default::default(),
            durability: Default::default(),
            db,
        };
        store.check_schema(&path, existed)?;
        Ok(store)
    }

    fn check_schema(&self, path: &Path, existed: bool) -> Result<(), StoreError> {
        let found = match self.meta.get(SCHEMA_KEY)? {
            Some(raw) => {
                let bytes: [u8; 4] =
                    raw.as_ref().try_into().map_err(|_| StoreError::Corrupt { path: path.to_path_buf(), detail: "unreadable schema version".into() })?;
                u32::from_be_bytes(bytes)
            }
            None if self.is_empty() && !existed => {
                self.set_schema(SCHEMA_VERSION)?;
                return Ok(());
            }
            None => return Err(StoreError::Corrupt { path: path.to_path_buf(), detail: "no zhibu records could be read".into() }),
        };
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
        }
        if found == 0 {
            return Err(StoreError::Corrupt { path: path.to_path_buf(), detail: "schema version 0".into() });
        }
        for version in found..SCHEMA_VERSION {
            let migrate = MIGRATIONS
                .get(version as usize - 1)
                .ok_or_else(|| StoreError::Corrupt { path: path.to_path_buf(), detail: format!("no migration from schema {version}") })?;
            migrate(self)?;
            self.set_schema(version + 1)?;
        }
        Ok(())
    }

    fn set_schema(&self, version: u32) -> Result<(), StoreError> {
        self.meta.insert(SCHEMA_KEY, &version.to_be_bytes())?;
        self.flush()
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let raw = self.meta.get(SCHEMA_KEY)?;
        Ok(raw.and_then(|r| r.as_ref().try_into().ok()).map(u32::from_be_bytes).unwrap_or(0))
    }

    /// Overwrites the recorded schema version (for tests of version handling).
    #[doc(hidden)]
    pub fn force_schema_version(&self, version: u32) -> Result<(), StoreError> {
        self.set_schema(version)
    }

    fn is_empty(&self) -> bool {
        [&self.meta, &self.members, &self.checkins, &self.reports, &self.faq].iter().all(|t| t.is_empty())
    }

    /// A digest of every record a reply may confirm (all but the handled-event marks and the
    /// unanswered-question log): tests compare it to show that handling an event wrote nothing
    /// that matters, or that a reply which follows a write carries its ticket.
    pub fn checksum(&self) -> Result<u32, StoreError> {
        let mut sum = 0u32;
        for name in self.db.tree_names() {
            if name.as_ref() == b"handled" || name.as_ref() == b"faq_unanswered" {
                continue;
            }
            sum = sum.rotate_left(7) ^ self.db.open_tree(name)?.checksum()?;
        }
        Ok(sum)
    }

    /// Writes what is gathered in memory (the unanswered-question counts) and makes every write
    /// so far durable: for shutdown.
    pub fn flush_all(&self) -> Result<(), StoreError> {
        self.write_unanswered()?;
        self.flush()
    }

    /// Makes every write so far durable, waiting for the disk (the command line, start-up,
    /// tests; the running bot goes through [`Store::flush_async`]).
    pub fn flush(&self) -> Result<(), StoreError> {
        let upto = self.durability.written();
        self.db.flush()?;
        self.durability.flushed(upto);
        Ok(())
    }

    /// Makes every write so far durable, on sled's own I/O threads: the runtime's flusher, one
    /// fsync for every write made while the previous one ran.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        let upto = self.durability.written();
        self.db.flush_async().await?;
        self.durability.flushed(upto);
        Ok(())
    }

    /// Whether the write of `ticket` is on disk.
    pub fn is_durable(&self, ticket: Ticket) -> bool {
        self.durability.is_durable(ticket)
    }

    /// A ticket for a write that has just completed.
    fn wrote(&self) -> Ticket {
        self.durability.wrote()
    }
}

fn classify_open_error(path: PathBuf, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") => StoreError::Locked { path },
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => StoreError::Open { path, detail: io.to_string() },
        sled::Error::Io(io) => StoreError::Corrupt { path, detail: io.to_string() },
        sled::Error::Corruption { .. } => StoreError::Corrupt { path, detail: "checksum mismatch".into() },
        other => StoreError::Corrupt { path, detail: other.to_string() },
    }
}

/// The error of a transaction whose closure aborts with a [`StoreError`].
fn tx_error(e: sled::transaction::TransactionError<StoreError>) -> StoreError {
    match e {
        sled::transaction::TransactionError::Abort(e) => e,
        sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

/// A big-endian u64 counter value; 0 when absent or malformed.
fn counter(raw: Option<sled::IVec>) -> u64 {
    raw.and_then(|v| v.as_ref().try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    Ok(serde_json::to_vec(value)?)
}

fn decode<T: DeserializeOwned>(tree: &'static str, raw: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(raw).map_err(|e| StoreError::Decode { tree, detail: e.to_string() })
}

fn scan<T: DeserializeOwned>(tree: &'static str, iter: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>) -> Result<Vec<T>, StoreError> {
    iter.map(|kv| {
        let (_, v) = kv?;
        decode(tree, &v)
    })
    .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        (dir, store)
    }

    use crate::testing::reopen;

    #[test]
    fn a_new_store_records_its_schema_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        }
        let store = reopen(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        Store::open(&path).unwrap().force_schema_version(SCHEMA_VERSION + 1).unwrap();
        let err = reopen(&path).unwrap_err();
        assert!(matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1), "{err}");
    }

    #[test]
    fn a_second_open_of_the_same_dir_says_it_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let _first = Store::open(&path).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }

    #[test]
    fn garbage_files_are_reported_as_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("conf"), b"\xff\x00garbage not a config").unwrap();
        std::fs::write(path.join("db"), vec![0x5a; 4096]).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. } | StoreError::Open { .. }), "{err}");
        // Noise that sled "recovers" into an empty database is damage too.
        std::fs::remove_dir_all(&path).unwrap();
        std::fs::create_dir_all(&path).unwrap();
        let mut x: u32 = 12345;
        let noise: Vec<u8> = (0..65536)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        std::fs::write(path.join("db"), noise).unwrap();
        std::fs::write(path.join("conf"), b"junk\n").unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn a_file_in_place_of_the_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::write(&path, b"x").unwrap();
        assert!(matches!(Store::open(&path).unwrap_err(), StoreError::Open { .. }));
    }
}
