//! Messages in (from a chat) and out (from the bot).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{ChatId, MessageId, UserId};

/// Whether a chat is a group (many members, the bot among them) or a direct chat with the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    Group,
    Direct,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub id: UserId,
    /// The name the platform shows for this user (nickname, group card, display name).
    pub display_name: String,
}

/// A user named in a message, with the text the platform showed for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    pub user: UserId,
    pub display_name: String,
}

/// A message someone sent in a chat the bot is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub chat: ChatId,
    pub chat_kind: ChatKind,
    pub sender: Sender,
    pub text: String,
    pub mentions: Vec<Mention>,
    /// The message this one replies to, when the platform says so.
    pub reply_to: Option<MessageId>,
    /// The platform's id for this message: the runtime drops a second event with the same id.
    pub id: MessageId,
    /// When the platform says the message was sent (not when the bot saw it): a check-in sent
    /// at 23:50 and delivered after midnight still counts for the day it was sent.
    pub timestamp: DateTime<Utc>,
    /// The platform has no slash-command convention (a WeChat Official Account): a message whose
    /// first word is a command's name is that command (`签到` works like `/签到`).
    pub bare_commands: bool,
}

/// Why an adapter could not turn some input into an [`Incoming`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The bytes were not valid UTF-8.
    InvalidEncoding,
    /// The message exceeded the adapter's size limit, in bytes.
    TooLong { limit_bytes: usize },
    /// Not text (an image, a voice message without speech recognition, a location, …), sent
    /// where the sender expects an answer (a direct chat with the bot).
    NotText,
}

/// What an adapter hands to the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Incoming),
    /// Input from a known sender in a known chat that could not become a message; the bot
    /// answers it with a short explanation instead of silently dropping it.
    /// `id` is the message's own, when the platform gave one: the answer quotes it, and a
    /// redelivery is dropped like any duplicate.
    Rejected {
        chat: ChatId,
        chat_kind: ChatKind,
        sender: Sender,
        reason: RejectReason,
        id: Option<MessageId>,
    },
    /// Someone reacted to a message with `key` (an emoji such as 👍).
    Reaction {
        chat: ChatId,
        user: UserId,
        target: MessageId,
        key: String,
        id: MessageId,
        timestamp: DateTime<Utc>,
    },
    /// Someone has read `chat` up to `at` (a read receipt): every earlier message is read.
    Read {
        chat: ChatId,
        user: UserId,
        at: DateTime<Utc>,
    },
}

impl Event {
    pub fn chat(&self) -> &ChatId {
        match self {
            Event::Message(m) => &m.chat,
            Event::Rejected { chat, .. } | Event::Reaction { chat, .. } | Event::Read { chat, .. } => chat,
        }
    }

    /// Who the event comes from.
    pub fn user(&self) -> &UserId {
        match self {
            Event::Message(m) => &m.sender.id,
            Event::Rejected { sender, .. } => &sender.id,
            Event::Reaction { user, .. } | Event::Read { user, .. } => user,
        }
    }

    /// The platform's id of this event, for the ones that have one (duplicates are dropped).
    pub fn id(&self) -> Option<&MessageId> {
        match self {
            Event::Message(m) => Some(&m.id),
            Event::Reaction { id, .. } => Some(id),
            Event::Rejected { id, .. } => id.as_ref(),
            Event::Read { .. } => None,
        }
    }
}

/// A message the bot sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub chat: ChatId,
    pub text: String,
    /// Users the text names; adapters that can notify them (an `@`) do so.
    #[serde(default)]
    pub mentions: Vec<Mention>,
    /// The message this one answers; adapters that can thread a reply do so.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// An image to attach (a file the bot rendered), for adapters that can send images.
    #[serde(default)]
    pub image: Option<PathBuf>,
    /// A key that is the same every time this very message is (re)sent, so that a platform
    /// with idempotent sends (Matrix transaction ids) delivers it once even when the bot
    /// crashed between sending it and recording that it was sent.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl Outgoing {
    pub fn text(chat: ChatId, text: impl Into<String>) -> Self {
        Self { chat, text: text.into(), mentions: Vec::new(), reply_to: None, image: None, idempotency_key: None }
    }
}
