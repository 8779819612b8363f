//! Scheduled runs and their outbox.
//!
//! A fire of a job is *claimed by committing its plan*: in one transaction the run record
//! (`runs`: `<job>\0<fire instant>`), every message as an outbox entry (`outbox`: `<seq>`, with
//! an idempotency key), the job's domain effects (the study item marked pushed, the quiz
//! opened…) and the job's last fire (`job_state`). A second commit of the same (job, fire) is
//! refused, so a fire is planned once. Outbox entries are then sent in `seq` order per chat and
//! marked sent one by one; after a crash the pending ones are sent again under the same keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};
use zhibu_chat::Outgoing;

use super::{decode, encode, keys, scan, Store, StoreError, Ticket, Written};

const OUTBOX_SEQ: &[u8] = b"outbox_seq";

/// A tree that job effects may write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectTree {
    Study,
    Quiz,
    Reminders,
    Points,
}

/// One write that is part of a run's plan, applied atomically with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub tree: EffectTree,
    pub key: Vec<u8>,
    /// `None` removes the key.
    pub value: Option<Vec<u8>>,
}

/// What became of a job's last fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Declared; never fired yet. Fires before this time are not caught up.
    Registered,
    /// Planned; messages are being sent.
    Sending { messages: usize },
    /// Every message was handed to its adapter.
    Sent { messages: usize },
    /// Some messages failed after retries.
    Failed { failed: usize, messages: usize, error: String },
    /// Missed while the bot was down, outside the catch-up window.
    Skipped,
}

/// A job's persisted state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// The scheduled time of the last fire handled (run or skipped).
    pub last_fire: DateTime<Utc>,
    pub outcome: Outcome,
}

/// The state of one outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Sent,
    Failed,
}

/// A message a run will send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub seq: u64,
    pub job: String,
    pub fire: DateTime<Utc>,
    pub message: Outgoing,
    pub delivery: Delivery,
    #[serde(default)]
    pub error: Option<String>,
}

fn run_key(job: &str, fire: DateTime<Utc>) -> Vec<u8> {
    keys::join(&[job.as_bytes(), &keys::instant(fire)])
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

impl Store {
    /// Commits the plan of `job`'s fire at `fire`: the run, its messages (each given an
    /// idempotency key `job@fire#i`), its effects and the job's state, all or nothing.
    /// Returns the entries, or `None` when this fire was already planned. Nothing of the run
    /// may be sent before its ticket is durable: a restart would plan it again.
    pub fn commit_run(
        &self,
        job: &str,
        fire: DateTime<Utc>,
        messages: Vec<Outgoing>,
        effects: &[Effect],
    ) -> Result<Option<Written<Vec<OutboxEntry>>>, StoreError> {
        let trees = (&self.meta, &self.runs, &self.outbox, &self.job_state, &self.study, &self.quiz, &self.reminders, &self.points);
        let result = trees.transaction(|(meta, runs, outbox, job_state, study, quiz, reminders, points)| {
            let key = run_key(job, fire);
            if runs.get(&key)?.is_some() {
                return Ok(None);
            }
            let mut seq = super::counter(meta.get(OUTBOX_SEQ)?);
            let mut entries = Vec::with_capacity(messages.len());
            for (i, message) in messages.iter().enumerate() {
                seq += 1;
                let mut message = message.clone();
                message.idempotency_key = Some(format!("{job}@{}#{i}", fire.timestamp()));
                let entry = OutboxEntry { seq, job: job.to_owned(), fire, message, delivery: Delivery::Pending, error: None };
                outbox.insert(&keys::id(seq), encode(&entry).map_err(abort)?)?;
                entries.push(entry);
            }
            meta.insert(OUTBOX_SEQ, &keys::id(seq))?;
            runs.insert(key, encode(&entries.iter().map(|e| e.seq).collect::<Vec<_>>()).map_err(abort)?)?;
            for effect in effects {
                let tree = match effect.tree {
                    EffectTree::Study => study,
                    EffectTree::Quiz => quiz,
                    EffectTree::Reminders => reminders,
                    EffectTree::Points => points,
                };
                match &effect.value {
                    Some(value) => tree.insert(effect.key.as_slice(), value.as_slice())?,
                    None => tree.remove(effect.key.as_slice())?,
                };
            }
            let state = JobState { last_fire: fire, outcome: Outcome::Sending { messages: entries.len() } };
            job_state.insert(job.as_bytes(), encode(&state).map_err(abort)?)?;
            Ok(Some(entries))
        });
        let entries = result.map_err(super::tx_error)?;
        Ok(entries.map(|value| Written { value, ticket: self.wrote() }))
    }

    /// Whether `job`'s fire at `fire` was already planned.
    pub fn run_exists(&self, job: &str, fire: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(self.runs.contains_key(run_key(job, fire))?)
    }

    /// Records a fire that was skipped (missed outside its catch-up window).
    pub fn skip_fire(&self, job: &str, fire: DateTime<Utc>) -> Result<Ticket, StoreError> {
        let state = JobState { last_fire: fire, outcome: Outcome::Skipped };
        self.job_state.insert(job.as_bytes(), encode(&state)?)?;
        Ok(self.wrote())
    }

    /// Records a newly declared job as of `now`, unless it is already known.
    pub fn register_job(&self, job: &str, now: DateTime<Utc>) -> Result<Written<JobState>, StoreError> {
        if let Some(state) = self.job_state(job)? {
            return Ok(Written { value: state, ticket: self.wrote() });
        }
        let state = JobState { last_fire: now, outcome: Outcome::Registered };
        self.job_state.insert(job.as_bytes(), encode(&state)?)?;
        Ok(Written { value: state, ticket: self.wrote() })
    }

    pub fn job_state(&self, job: &str) -> Result<Option<JobState>, StoreError> {
        self.job_state.get(job.as_bytes())?.map(|raw| decode("job state", &raw)).transpose()
    }

    /// Outbox entries not yet sent, in the order they were planned.
    pub fn pending_outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let all: Vec<OutboxEntry> = scan("outbox entry", self.outbox.iter())?;
        Ok(all.into_iter().filter(|e| e.delivery == Delivery::Pending).collect())
    }

    /// Marks an entry delivered (or failed for good) and updates its job's outcome once every
    /// message of the run is settled. Until its ticket is durable, a restart sends it again.
    pub fn settle(&self, seq: u64, delivery: Delivery, error: Option<String>) -> Result<Ticket, StoreError> {
        let Some(mut entry) = self.outbox.get(keys::id(seq))?.map(|raw| decode::<OutboxEntry>("outbox entry", &raw)).transpose()? else {
            return Ok(self.wrote());
        };
        entry.delivery = delivery;
        entry.error = error;
        self.outbox.insert(keys::id(seq), encode(&entry)?)?;
        self.update_outcome(&entry.job, entry.fire)?;
        Ok(self.wrote())
    }

    fn update_outcome(&self, job: &str, fire: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(state) = self.job_state(job)? else { return Ok(()) };
        if state.last_fire != fire {
            return Ok(());
        }
        let seqs: Vec<u64> = match self.runs.get(run_key(job, fire))? {
            Some(raw) => decode("run", &raw)?,
            None => return Ok(()),
        };
        let mut entries = Vec::new();
        for seq in &seqs {
            if let Some(raw) = self.outbox.get(keys::id(*seq))? {
                entries.push(decode::<OutboxEntry>("outbox entry", &raw)?);
            }
        }
        let messages = entries.len();
        let failed: Vec<&OutboxEntry> = entries.iter().filter(|e| e.delivery == Delivery::Failed).collect();
        let outcome = if entries.iter().any(|e| e.delivery == Delivery::Pending) {
            Outcome::Sending { messages }
        } else if let Some(first) = failed.first() {
            Outcome::Failed { failed: failed.len(), messages, error: first.error.clone().unwrap_or_default() }
        } else {
            Outcome::Sent { messages }
        };
        self.job_state.insert(job.as_bytes(), encode(&JobState { last_fire: fire, outcome })?)?;
        Ok(())
    }

    /// Drops settled outbox entries older than `before` (their runs stay recorded).
    pub fn prune_outbox(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in scan::<OutboxEntry>("outbox entry", self.outbox.iter())? {
            if entry.delivery != Delivery::Pending && entry.fire < before {
                self.outbox.remove(keys::id(entry.seq))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;
    use zhibu_chat::ChatId;

    fn msg(text: &str) -> Outgoing {
        Outgoing::text(ChatId::parse("console:group").unwrap(), text)
    }

    #[test]
    fn a_fire_is_planned_once_with_its_effects() {
        let (_dir, store) = temp_store();
        let fire = "2026-11-25T00:00:00Z".parse().unwrap();
        let effect = Effect { tree: EffectTree::Study, key: b"k".to_vec(), value: Some(b"v".to_vec()) };
        let entries = store.commit_run("study", fire, vec![msg("a"), msg("b")], std::slice::from_ref(&effect)).unwrap().unwrap().value;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].message.idempotency_key.as_deref(), Some("study@1795564800#1"));
        assert!(store.commit_run("study", fire, vec![msg("a")], &[effect]).unwrap().is_none());
        assert_eq!(store.study.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(store.pending_outbox().unwrap().len(), 2);
        assert_eq!(store.job_state("study").unwrap().unwrap().outcome, Outcome::Sending { messages: 2 });

        let _ = store.settle(entries[0].seq, Delivery::Sent, None).unwrap();
        let _ = store.settle(entries[1].seq, Delivery::Failed, Some("gone".into())).unwrap();
        assert!(store.pending_outbox().unwrap().is_empty());
        assert_eq!(store.job_state("study").unwrap().unwrap().outcome, Outcome::Failed { failed: 1, messages: 2, error: "gone".into() });
    }
}
