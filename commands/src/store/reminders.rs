//! One-off reminders set with `/提醒`: `reminders` holds `<id>` → [`Reminder`] until it fires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};
use zhibu_chat::{ChatId, UserId};

use super::{encode, keys, scan, Effect, EffectTree, Store, StoreError, Written};
use crate::domain::BranchId;

const REMINDER_SEQ: &[u8] = b"reminder_seq";

/// A reminder waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub id: u64,
    pub branch: BranchId,
    /// Where it will be posted.
    pub chats: Vec<ChatId>,
    pub author: UserId,
    pub at: DateTime<Utc>,
    pub text: String,
}

impl Store {
    /// Stores a new reminder under the next id.
    pub fn add_reminder(&self, branch: &BranchId, chats: Vec<ChatId>, author: &UserId, at: DateTime<Utc>, text: &str) -> Result<Written<Reminder>, StoreError> {
        let result = (&self.meta, &self.reminders).transaction(|(meta, reminders)| {
            let id = super::counter(meta.get(REMINDER_SEQ)?) + 1;
            let reminder = Reminder { id, branch: branch.clone(), chats: chats.clone(), author: author.clone(), at, text: text.to_owned() };
            meta.insert(REMINDER_SEQ, &keys::id(id))?;
            reminders.insert(&keys::id(id), encode(&reminder).map_err(ConflictableTransactionError::Abort)?)?;
            Ok(reminder)
        });
        let reminder = result.map_err(super::tx_error)?;
        Ok(Written { value: reminder, ticket: self.wrote() })
    }

    /// Every reminder not yet fired, in id order.
    pub fn reminders(&self) -> Result<Vec<Reminder>, StoreError> {
        scan("reminder", self.reminders.iter())
    }

    /// The effect that removes a reminder once it is planned to fire.
    pub fn reminder_fired_effect(&self, id: u64) -> Effect {
        Effect { tree: EffectTree::Reminders, key: keys::id(id).to_vec(), value: None }
    }
}
