//! What the domain needs to know from the config: language, timezone, limits, branches.
//! The binary reads the TOML file; this is the validated result.

use chrono_tz::Tz;
use zhibu_chat::{ChatId, UserId};

use crate::domain::{BranchId, Role};
use crate::i18n::Lang;

/// One branch and the chats it lives in.
#[derive(Debug, Clone)]
pub struct BranchSettings {
    pub id: BranchId,
    /// Shown in stats titles (`计算机学院第一党支部`).
    pub name: String,
    /// The branch's group chats.
    pub groups: Vec<ChatId>,
    /// Whoever writes in one of the groups becomes a member on their first message.
    pub auto_enroll: bool,
    /// The role a newly enrolled member gets.
    pub default_role: Role,
    /// Users who are the branch secretary (书记); made so at start.
    pub secretaries: Vec<UserId>,
    /// Users on the branch committee (支委); made so at start.
    pub committee: Vec<UserId>,
}

/// The domain's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub language: Lang,
    /// The branches' local time: what "today" and "this week" mean.
    pub timezone: Tz,
    /// Longest report accepted, in characters.
    pub report_max_chars: usize,
    /// Lowest FAQ score the bot answers with; below it, it says it does not know.
    pub faq_threshold: f64,
    pub branches: Vec<BranchSettings>,
}

/// Defaults, also written in `zhibu.example.toml`.
pub const DEFAULT_REPORT_MAX_CHARS: usize = 20_000;
pub const DEFAULT_FAQ_THRESHOLD: f64 = 0.5;
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Shanghai;

impl Settings {
    /// The demo setup `zhibu run` uses without a config: one branch in the console group, with
    /// the speaker `secretary` as its secretary and everyone else enrolled as a full member.
    pub fn demo() -> Self {
        let id = |s: &str| UserId::parse(s).unwrap_or_else(|_| unreachable!("valid demo id"));
        Self {
            language: Lang::ZhCn,
            timezone: DEFAULT_TIMEZONE,
            report_max_chars: DEFAULT_REPORT_MAX_CHARS,
            faq_threshold: DEFAULT_FAQ_THRESHOLD,
            branches: vec![BranchSettings {
                id: BranchId::new("demo").unwrap_or_else(|_| unreachable!("valid demo branch")),
                name: "演示支部".into(),
                groups: vec![ChatId::parse("console:group").unwrap_or_else(|_| unreachable!("valid demo chat"))],
                auto_enroll: true,
                default_role: Role::Member,
                secretaries: vec![id("console:secretary")],
                committee: Vec::new(),
            }],
        }
    }

    pub fn branch(&self, id: &BranchId) -> Option<&BranchSettings> {
        self.branches.iter().find(|b| &b.id == id)
    }

    pub fn branch_of_group(&self, chat: &ChatId) -> Option<&BranchSettings> {
        self.branches.iter().find(|b| b.groups.contains(chat))
    }
}
