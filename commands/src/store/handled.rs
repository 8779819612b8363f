//! The ids of events already handled, so an event the platform delivers again is handled once.
//!
//! Two layers:
//! - `handled` (sled) holds `<event id>` → when it was handled, for events whose handling wrote
//!   something a reply confirms. The mark is written after the event's own writes, and the reply
//!   waits for the mark's ticket, so a redelivery after a restart is dropped and a report is
//!   never filed twice.
//! - [`RecentEvents`] (memory) remembers the last [`RECENT_EVENTS`] ids of this process. It
//!   catches what a reconnecting implementation sends twice, and it is all that events which
//!   wrote nothing are marked in: handling one of them again after a restart repeats a reply and
//!   changes nothing, and a sled write per FAQ answer or echo would cost more than the answer.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use zhibu_chat::MessageId;

use super::{keys, Store, StoreError, Ticket};

/// How many recent event ids each process keeps in memory (about 24 bytes each).
pub const RECENT_EVENTS: usize = 8192;

/// The last [`RECENT_EVENTS`] handled event ids, as 64-bit hashes: a new event is taken for one
/// of them by mistake with a chance of 8192 in 2⁶⁴ (about 2⁻⁵¹).
#[derive(Debug, Default)]
pub struct RecentEvents {
    inner: Mutex<Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    /// The fingerprints are SipHash values already: FxHash only spreads them over the buckets.
    set: rustc_hash::FxHashSet<u64>,
    order: VecDeque<u64>,
}

fn fingerprint(id: &[u8]) -> u64 {
    // SipHash with fixed keys: stable within the process, which is all the window needs.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

impl RecentEvents {
    fn contains(&self, id: &MessageId) -> bool {
        self.lock().set.contains(&fingerprint(id.as_str().as_bytes()))
    }

    fn insert(&self, id: &MessageId) {
        let key = fingerprint(id.as_str().as_bytes());
        let mut recent = self.lock();
        if recent.set.insert(key) {
            recent.order.push_back(key);
            if recent.order.len() > RECENT_EVENTS {
                if let Some(old) = recent.order.pop_front() {
                    recent.set.remove(&old);
                }
            }
        }
    }

    fn forget(&self, id: &[u8]) {
        let key = fingerprint(id);
        let mut recent = self.lock();
        if recent.set.remove(&key) {
            recent.order.retain(|k| *k != key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        // The set holds plain numbers: a panic elsewhere cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store {
    /// Whether the event `id` was handled already, in this process or (for an event that wrote
    /// something) before a restart.
    pub fn was_handled(&self, id: &MessageId) -> Result<bool, StoreError> {
        Ok(self.recent_events.contains(id) || self.handled.contains_key(id.as_str().as_bytes())?)
    }

    /// Records that the event `id`, whose handling wrote something a reply confirms, was
    /// handled. Written after the event's own writes: its ticket covers them, and once it is
    /// durable a redelivery is dropped even after a restart.
    pub fn mark_handled(&self, id: &MessageId, at: DateTime<Utc>) -> Result<Ticket, StoreError> {
        self.recent_events.insert(id);
        self.handled.insert(id.as_str().as_bytes(), &keys::instant(at))?;
        Ok(self.wrote())
    }

    /// Records that the event `id`, which wrote nothing a reply confirms, was handled: in memory
    /// only (see the module documentation).
    pub fn mark_handled_in_memory(&self, id: &MessageId) {
        self.recent_events.insert(id);
    }

    /// Forgets handled-event ids older than `before` (platforms do not redeliver that far back).
    pub fn prune_handled(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = keys::instant(before);
        let mut old = Vec::new();
        for kv in self.handled.iter() {
            let (k, v) = kv?;
            if v.as_ref() < cutoff.as_slice() {
                old.push(k);
            }
        }
        for k in &old {
            self.handled.remove(k)?;
            self.recent_events.forget(k);
        }
        Ok(old.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn id(s: &str) -> MessageId {
        MessageId::parse(s).unwrap()
    }

    #[test]
    fn handled_ids_are_remembered_and_pruned() {
        let (_dir, store) = temp_store();
        let e1 = id("t:e1");
        assert!(!store.was_handled(&e1).unwrap());
        let _ = store.mark_handled(&e1, t("2026-11-01T00:00:00Z")).unwrap();
        assert!(store.was_handled(&e1).unwrap());
        assert_eq!(store.prune_handled(t("2026-10-01T00:00:00Z")).unwrap(), 0);
        assert_eq!(store.prune_handled(t("2026-12-01T00:00:00Z")).unwrap(), 1);
        assert!(!store.was_handled(&e1).unwrap());
    }

    #[test]
    fn marks_in_memory_last_for_the_process_and_durable_marks_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let _ = store.mark_handled(&id("t:wrote"), t("2026-11-01T00:00:00Z")).unwrap();
            store.mark_handled_in_memory(&id("t:read"));
            assert!(store.was_handled(&id("t:read")).unwrap());
            assert!(store.was_handled(&id("t:wrote")).unwrap());
            store.flush().unwrap();
        }
        let store = crate::testing::reopen(dir.path()).unwrap();
        assert!(store.was_handled(&id("t:wrote")).unwrap());
        assert!(!store.was_handled(&id("t:read")).unwrap());
    }

    #[test]
    fn the_memory_window_keeps_the_latest_ids() {
        let (_dir, store) = temp_store();
        for i in 0..RECENT_EVENTS + 10 {
            store.mark_handled_in_memory(&id(&format!("t:e{i}")));
        }
        assert!(!store.was_handled(&id("t:e0")).unwrap());
        assert!(!store.was_handled(&id("t:e9")).unwrap());
        assert!(store.was_handled(&id("t:e10")).unwrap());
        assert!(store.was_handled(&id(&format!("t:e{}", RECENT_EVENTS + 9))).unwrap());
        assert_eq!(store.recent_events.lock().set.len(), RECENT_EVENTS);
    }
}
