//! The records the branch keeps. Each carries every part of its own store key, so an export
//! line is a whole record and an import can put it back where it was.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhibu_chat::UserId;

use crate::domain::role::Role;

/// A branch's short id from the config (`demo`, `cs-grad-1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BranchId(String);

/// A branch id with characters other than ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("branch id `{0}` must be 1-64 ASCII letters, digits, `-` or `_`")]
pub struct BadBranchId(pub String);

impl BranchId {
    pub fn new(id: &str) -> Result<Self, BadBranchId> {
        let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(BadBranchId(id.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BranchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BranchId {
    type Error = BadBranchId;
    fn try_from(s: String) -> Result<Self, BadBranchId> {
        Self::new(&s)
    }
}

impl From<BranchId> for String {
    fn from(id: BranchId) -> String {
        id.0
    }
}

/// A person in a branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub branch: BranchId,
    pub user: UserId,
    /// The name shown in lists; follows the platform's display name.
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// One member's check-in on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    pub branch: BranchId,
    pub user: UserId,
    /// The day in the branch's timezone.
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What kind of written submission a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// 思想汇报
    Thought,
    /// 学习心得
    StudyNote,
}

impl ReportKind {
    pub const ALL: [ReportKind; 2] = [ReportKind::Thought, ReportKind::StudyNote];

    pub fn key(self) -> &'static str {
        match self {
            ReportKind::Thought => "thought",
            ReportKind::StudyNote => "study_note",
        }
    }
}

/// A thought report or study note. Sensitive: shown only to its author and the committee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Store-wide number, shown as `#12`.
    pub id: u64,
    pub branch: BranchId,
    pub author: UserId,
    pub kind: ReportKind,
    pub at: DateTime<Utc>,
    pub text: String,
}

impl Report {
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }
}
