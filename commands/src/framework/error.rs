//! Everything a command can refuse with, as values; [`CommandError::render`] is the one place
//! that turns them into the catalog's words. Internal errors are logged, and the member gets a
//! short apology, never a stack trace.

use crate::domain::{roles_with, Capability};
use crate::framework::registry::{Found, Where};
use crate::i18n::Catalog;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("bad arguments")]
    Usage,
    #[error("not allowed")]
    NotAllowed(Capability),
    #[error("wrong kind of chat")]
    WrongChat(Where),
    #[error("too long: {len} > {max}")]
    TooLong { len: usize, max: usize },
    #[error("no member {0}")]
    MemberNotFound(String),
    #[error("several members named {name}")]
    MemberAmbiguous { name: String, candidates: Vec<String> },
    #[error("unknown role {0}")]
    UnknownRole(String),
    #[error("bad week {0}")]
    BadWeek(String),
    #[error("no report {0}")]
    ReportNotFound(String),
    #[error("would leave the branch without a secretary")]
    LastSecretary,
    #[error("no FAQ entry {0}")]
    FaqEntryNotFound(String),
    #[error("FAQ entry {0} exists")]
    FaqEntryExists(String),
    #[error("unusable FAQ entry: {0:?}")]
    FaqBadEntry(Vec<String>),
    #[error("no FAQ draft to confirm")]
    FaqNoDraft,
    #[error("the FAQ entry changed since the draft")]
    FaqConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommandError {
    /// The reply a member sees for this error from the command `found`.
    pub fn render(&self, catalog: &Catalog, found: &Found) -> String {
        let command = found.display_name(catalog.lang());
        match self {
            CommandError::Usage => {
                let usage = catalog.get(&found.spec.catalog_key("usage")).to_owned();
                catalog.t("parse.usage", &[("usage", &usage)])
            }
            CommandError::NotAllowed(cap) => {
                let roles: Vec<String> = roles_with(*cap).into_iter().map(|r| catalog.role(r).to_owned()).collect();
                catalog.t("error.not_allowed", &[("roles", &catalog.join(&roles)), ("command", &command)])
            }
            CommandError::WrongChat(Where::GroupOnly) => catalog.t("error.group_only", &[("command", &command)]),
            CommandError::WrongChat(_) => catalog.t("error.direct_only", &[("command", &command)]),
            CommandError::TooLong { len, max } => catalog.t("error.too_long", &[("len", len), ("max", max)]),
            CommandError::MemberNotFound(name) => catalog.t("error.member_not_found", &[("name", name)]),
            CommandError::MemberAmbiguous { name, candidates } => {
                catalog.t("error.member_ambiguous", &[("name", name), ("candidates", &catalog.join(candidates))])
            }
            CommandError::UnknownRole(role) => catalog.t("error.unknown_role", &[("role", role), ("roles", &catalog.get("role.names"))]),
            CommandError::BadWeek(week) => catalog.t("error.bad_week", &[("week", week)]),
            CommandError::ReportNotFound(id) => catalog.t("error.report_not_found", &[("id", id)]),
            CommandError::LastSecretary => catalog.t("error.last_secretary", &[]),
            CommandError::FaqEntryNotFound(id) => catalog.t("faq_edit.not_found", &[("id", id)]),
            CommandError::FaqEntryExists(id) => catalog.t("faq_edit.exists", &[("id", id)]),
            CommandError::FaqBadEntry(problems) => catalog.t("faq_edit.bad_entry", &[("problems", &problems.join("\n"))]),
            CommandError::FaqNoDraft => catalog.t("faq_edit.no_draft", &[]),
            CommandError::FaqConflict => catalog.t("faq_edit.conflict", &[]),
            CommandError::Store(e) => {
                tracing::error!(error = %e, %command, "command failed");
                catalog.t("bot.internal_error", &[])
            }
        }
    }
}
