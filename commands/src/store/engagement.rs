//! Engagement with what the bot pushes.
//!
//! `engagement` holds `p\0<chat>\0<sent instant>` → the [`Push`], `m\0<message id>` → that
//! push's key (to find a push from a reaction), and `r\0<message id>\0<user>` /
//! `a\0<message id>\0<user>` → when the member read / acknowledged (👍) it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use zhibu_chat::{ChatId, MessageId, UserId};

use super::{decode, encode, keys, Store, StoreError};

/// How far back a read receipt marks pushes as read.
const READ_LOOKBACK_DAYS: i64 = 14;

/// A scheduled message the bot sent to a chat (a study push, a quiz, a reminder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    pub message: MessageId,
    pub chat: ChatId,
    pub job: String,
    pub sent_at: DateTime<Utc>,
}

/// A push with who read it and who acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEngagement {
    pub push: Push,
    pub read: BTreeSet<UserId>,
    pub acknowledged: BTreeSet<UserId>,
}

fn push_key(chat: &ChatId, at: DateTime<Utc>) -> Vec<u8> {
    keys::join(&[b"p", chat.as_str().as_bytes(), &keys::instant(at)])
}

fn by_message_key(message: &MessageId) -> Vec<u8> {
    keys::join(&[b"m", message.as_str().as_bytes()])
}

fn mark_key(kind: &[u8], message: &MessageId, user: &UserId) -> Vec<u8> {
    keys::join(&[kind, message.as_str().as_bytes(), user.as_str().as_bytes()])
}

impl Store {
    /// Records a push the platform accepted, under the id it gave the message.
    pub fn record_push(&self, push: &Push) -> Result<(), StoreError> {
        let key = push_key(&push.chat, push.sent_at);
        self.engagement.insert(by_message_key(&push.message), key.as_slice())?;
        self.engagement.insert(key, encode(push)?)?;
        Ok(())
    }

    /// The push sent as `message`, if it was one.
    pub fn push(&self, message: &MessageId) -> Result<Option<Push>, StoreError> {
        let Some(key) = self.engagement.get(by_message_key(message))? else { return Ok(None) };
        self.engagement.get(key)?.map(|v| decode("push", &v)).transpose()
    }

    /// Records that `user` acknowledged a push; false when `message` is not a push.
    pub fn acknowledge_push(&self, message: &MessageId, user: &UserId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        if self.push(message)?.is_none() {
            return Ok(false);
        }
        self.engagement.insert(mark_key(b"a", message, user), &keys::instant(at))?;
        self.engagement.insert(mark_key(b"r", message, user), &keys::instant(at))?;
        Ok(true)
    }

    /// Records that `user` has read `chat` up to `at`: every push sent there before is read.
    /// Returns how many pushes were newly marked.
    pub fn read_up_to(&self, chat: &ChatId, user: &UserId, at: DateTime<Utc>) -> Result<usize, StoreError> {
        let from = push_key(chat, at - Duration::days(READ_LOOKBACK_DAYS));
        let until = push_key(chat, at + Duration::seconds(1));
        let mut marked = 0;
        for kv in self.engagement.range(from..until) {
            let (_, v) = kv?;
            let push: Push = decode("push", &v)?;
            let key = mark_key(b"r", &push.message, user);
            if self.engagement.insert(key, &keys::instant(at))?.is_none() {
                marked += 1;
            }
        }
        Ok(marked)
    }

    /// The pushes sent to `chats` in `[from, until)`, with their readers and acknowledgers.
    pub fn engagement_between(&self, chats: &[ChatId], from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<PushEngagement>, StoreError> {
        let mut out = Vec::new();
        for chat in chats {
            for kv in self.engagement.range(push_key(chat, from)..push_key(chat, until)) {
                let (_, v) = kv?;
                let push: Push = decode("push", &v)?;
                let users = |kind: &[u8]| -> Result<BTreeSet<UserId>, StoreError> {
                    let prefix = keys::prefix(&[kind, push.message.as_str().as_bytes()]);
                    let mut set = BTreeSet::new();
                    for kv in self.engagement.scan_prefix(&prefix) {
                        let (k, _) = kv?;
                        if let Ok(user) = UserId::parse(&String::from_utf8_lossy(&k[prefix.len()..])) {
                            set.insert(user);
                        }
                    }
                    Ok(set)
                };
                out.push(PushEngagement { read: users(b"r")?, acknowledged: users(b"a")?, push });
            }
        }
        out.sort_by_key(|e| e.push.sent_at);
        Ok(out)
    }
}

/// Per member: how many of the pushes they read and acknowledged.
pub fn engagement_counts(pushes: &[PushEngagement]) -> BTreeMap<UserId, (u32, u32)> {
    let mut out: BTreeMap<UserId, (u32, u32)> = BTreeMap::new();
    for p in pushes {
        for u in &p.read {
            out.entry(u.clone()).or_default().0 += 1;
        }
        for u in &p.acknowledged {
            out.entry(u.clone()).or_default().1 += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn push(store: &Store, chat: &ChatId, id: &str, at: &str) -> MessageId {
        let message = MessageId::parse(id).unwrap();
        store.record_push(&Push { message: message.clone(), chat: chat.clone(), job: "daily-study".into(), sent_at: t(at) }).unwrap();
        message
    }

    #[test]
    fn reads_cover_earlier_pushes_and_acks_imply_reads() {
        let (_dir, store) = temp_store();
        let group = ChatId::parse("t:group").unwrap();
        let other = ChatId::parse("t:other").unwrap();
        let alice = UserId::parse("t:alice").unwrap();
        let bob = UserId::parse("t:bob").unwrap();
        let monday = push(&store, &group, "t:m1", "2026-11-23T00:00:00Z");
        let tuesday = push(&store, &group, "t:m2", "2026-11-24T00:00:00Z");
        push(&store, &other, "t:m3", "2026-11-23T00:00:00Z");
        // Alice read the group on Monday evening: only Monday's push.
        assert_eq!(store.read_up_to(&group, &alice, t("2026-11-23T12:00:00Z")).unwrap(), 1);
        assert_eq!(store.read_up_to(&group, &alice, t("2026-11-23T13:00:00Z")).unwrap(), 0);
        assert!(store.acknowledge_push(&tuesday, &bob, t("2026-11-24T01:00:00Z")).unwrap());
        assert!(!store.acknowledge_push(&MessageId::parse("t:chatter").unwrap(), &bob, t("2026-11-24T01:00:00Z")).unwrap());
        let week = store.engagement_between(std::slice::from_ref(&group), t("2026-11-23T00:00:00Z"), t("2026-11-30T00:00:00Z")).unwrap();
        assert_eq!(week.len(), 2);
        assert_eq!(week[0].push.message, monday);
        let counts = engagement_counts(&week);
        assert_eq!(counts[&alice], (1, 0));
        assert_eq!(counts[&bob], (1, 1));
        assert_eq!(store.push(&tuesday).unwrap().unwrap().chat, group);
    }
}
