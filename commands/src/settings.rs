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
    /// Platforms whose direct chats belong to this branch: an Official Account has no groups,
    /// so whoever writes to it is (with `auto_enroll`) enrolled here.
    pub direct_enroll: Vec<zhibu_chat::Platform>,
    /// The role a newly enrolled member gets.
    pub default_role: Role,
    /// Users who are the branch secretary (书记); made so at start.
    pub secretaries: Vec<UserId>,
    /// Users on the branch committee (支委); made so at start.
    pub committee: Vec<UserId>,
}

/// Points for one activity: how many per action, and at most how many a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityPoints {
    pub value: u32,
    pub daily_cap: u32,
}

/// Points (积分) per activity, the way members know them from 学习强国.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsSettings {
    /// Daily check-in.
    pub checkin: ActivityPoints,
    /// `/学了` on a study item.
    pub study: ActivityPoints,
    /// A correct quiz answer.
    pub quiz: ActivityPoints,
}

impl Default for PointsSettings {
    fn default() -> Self {
        Self {
            checkin: ActivityPoints { value: 1, daily_cap: 1 },
            study: ActivityPoints { value: 2, daily_cap: 6 },
            quiz: ActivityPoints { value: 2, daily_cap: 6 },
        }
    }
}

/// How often a role owes a thought report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
}

impl Cadence {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "monthly" | "每月" => Cadence::Monthly,
            "quarterly" | "每季度" => Cadence::Quarterly,
            "half-yearly" | "每半年" => Cadence::HalfYearly,
            "yearly" | "每年" => Cadence::Yearly,
            _ => return None,
        })
    }

    /// The first day of the period containing `date`.
    pub fn period_start(self, date: chrono::NaiveDate) -> chrono::NaiveDate {
        use chrono::Datelike;
        let months = match self {
            Cadence::Monthly => 1,
            Cadence::Quarterly => 3,
            Cadence::HalfYearly => 6,
            Cadence::Yearly => 12,
        };
        let month = (date.month0() / months) * months + 1;
        chrono::NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
    }
}

/// The domain's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub language: Lang,
    /// The branches' local time: what "today" and "this week" mean.
    pub timezone: Tz,
    /// Longest report accepted, in characters.
    pub report_max_chars: usize,
    /// FAQ scores the bot answers at, and suggests at ("did you mean …?"); below, it says it
    /// does not know.
    pub faq_thresholds: crate::faq::Thresholds,
    pub branches: Vec<BranchSettings>,
    pub points: PointsSettings,
    /// Which roles owe thought reports, and how often.
    pub report_cadence: Vec<(Role, Cadence)>,
}

/// By default probationary members and activists report quarterly.
pub fn default_report_cadence() -> Vec<(Role, Cadence)> {
    vec![(Role::Probationary, Cadence::Quarterly), (Role::Activist, Cadence::Quarterly)]
}

/// Defaults, also written in `zhibu.example.toml`.
pub const DEFAULT_REPORT_MAX_CHARS: usize = 20_000;
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
            faq_thresholds: crate::faq::Thresholds::DEFAULT,
            branches: vec![BranchSettings {
                id: BranchId::new("demo").unwrap_or_else(|_| unreachable!("valid demo branch")),
                name: "演示支部".into(),
                groups: vec![ChatId::parse("console:group").unwrap_or_else(|_| unreachable!("valid demo chat"))],
                auto_enroll: true,
                direct_enroll: Vec::new(),
                default_role: Role::Member,
                secretaries: vec![id("console:secretary")],
                committee: Vec::new(),
            }],
            points: PointsSettings::default(),
            report_cadence: default_report_cadence(),
        }
    }

    pub fn branch(&self, id: &BranchId) -> Option<&BranchSettings> {
        self.branches.iter().find(|b| &b.id == id)
    }

    pub fn branch_of_group(&self, chat: &ChatId) -> Option<&BranchSettings> {
        self.branches.iter().find(|b| b.groups.contains(chat))
    }
}
