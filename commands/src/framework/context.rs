//! What a command gets to work with, and what it gives back.

use chrono::{DateTime, Utc};
use zhibu_chat::{ChatKind, Mention};

use crate::domain::{Clock, Member, Week};
use crate::faq::FaqIndex;
use crate::framework::registry::Registry;
use crate::i18n::Catalog;
use crate::settings::{BranchSettings, Settings};
use crate::store::{Store, Ticket};

/// Everything a command may look at: who asks, where, when, and the bot's shared state.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    pub branch: &'a BranchSettings,
    pub faq: &'a FaqIndex,
    pub study: &'a crate::study::StudyLibrary,
    pub quiz: &'a crate::quiz::QuizBank,
    pub registry: &'a Registry,
    pub clock: &'a dyn Clock,
    /// The member who sent the command.
    pub member: Member,
    pub chat_kind: ChatKind,
    /// The chat the command came from.
    pub chat: zhibu_chat::ChatId,
    /// When the message was sent (by the platform's account), clamped to not be in the future.
    pub sent_at: DateTime<Utc>,
    /// Users mentioned in the message.
    pub mentions: &'a [Mention],
}

impl Ctx<'_> {
    /// Shorthand for the catalog.
    pub fn t(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        self.catalog.t(key, args)
    }

    /// The day the message was sent, in the branch's timezone.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::domain::local_date(self.sent_at, self.settings.timezone)
    }

    pub fn this_week(&self) -> Week {
        Week::containing(self.today())
    }

    /// Formats an instant as local `YYYY-MM-DD HH:MM`.
    pub fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.settings.timezone).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// A command's answer: text for the chat the command came from, who it names, and the write it
/// confirms (it is sent once that write is durable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub mentions: Vec<Mention>,
    pub confirms: Option<Ticket>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), mentions: Vec::new(), confirms: None }
    }

    /// The reply tells of the write `ticket` stands for: it waits until that write is durable.
    pub fn confirming(self, ticket: Ticket) -> Self {
        Self { confirms: Some(self.confirms.map_or(ticket, |t| t.and(ticket))), ..self }
    }
}
