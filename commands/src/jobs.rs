//! What each scheduled job says and which domain state it changes: a [`Plan`], computed but not
//! sent. The scheduler (in the binary) commits the plan atomically with the run's claim and then
//! sends it; nothing here talks to an adapter.

use chrono::{DateTime, Duration, Utc};
use zhibu_chat::{ChatId, Mention, Outgoing, UserId};

use crate::domain::{local_date, BranchId, Member, ReportKind, Role, Week};
use crate::quiz::letter;
use crate::settings::{BranchSettings, Cadence};
use crate::stats::weekly_stats;
use crate::store::{Effect, OpenQuiz, StoreError};
use crate::Bot;

/// The kinds of scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// 每日学习: the next study item to each branch group.
    StudyPush,
    /// 每日一题: the next quiz question to each group, closed `close_after` later.
    Quiz { close_after: Duration },
    /// Tells members whose thought report for the period is missing.
    ReportReminder,
    /// Last week's stats to the secretary and committee, by direct message.
    WeeklyDigest,
}

impl std::fmt::Display for JobKind {
    /// The name used in the config's `kind`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobKind::StudyPush => f.write_str("study"),
            JobKind::Quiz { close_after } => write!(f, "quiz (answer after {}m)", close_after.num_minutes()),
            JobKind::ReportReminder => f.write_str("report_reminder"),
            JobKind::WeeklyDigest => f.write_str("digest"),
        }
    }
}

/// Where a user can be written to privately, as the adapters know it.
pub trait Directory {
    fn direct_chat(&self, user: &UserId) -> Option<ChatId>;
}

/// What a run will send and the state it changes, committed together.
#[derive(Debug, Default)]
pub struct Plan {
    pub messages: Vec<Outgoing>,
    pub effects: Vec<Effect>,
}

/// A fire that is not on a cron schedule: a quiz closing, a secretary's reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOff {
    /// Unique run name (`quiz-close/demo/oath-flag`, `reminder/3`).
    pub name: String,
    pub due: DateTime<Utc>,
    kind: OneOffKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OneOffKind {
    QuizClose(BranchId),
    Reminder(u64),
}

impl Bot {
    fn branches_named<'a>(&'a self, ids: &'a [BranchId]) -> impl Iterator<Item = &'a BranchSettings> {
        self.settings().branches.iter().filter(move |b| ids.is_empty() || ids.contains(&b.id))
    }

    /// The plan of a cron job's fire at `fire` for `branches` (all when empty).
    pub fn plan_job(&self, kind: &JobKind, branches: &[BranchId], fire: DateTime<Utc>, dir: &dyn Directory) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        for branch in self.branches_named(branches) {
            match kind {
                JobKind::StudyPush => self.plan_study(branch, fire, &mut plan)?,
                JobKind::Quiz { close_after } => self.plan_quiz(branch, fire, *close_after, &mut plan)?,
                JobKind::ReportReminder => self.plan_report_reminder(branch, fire, dir, &mut plan)?,
                JobKind::WeeklyDigest => self.plan_digest(branch, fire, dir, &mut plan)?,
            }
        }
        Ok(plan)
    }

    fn plan_study(&self, branch: &BranchSettings, fire: DateTime<Utc>, plan: &mut Plan) -> Result<(), StoreError> {
        let date = local_date(fire, self.settings().timezone);
        let pushed = self.store().study_pushed(&branch.id)?;
        let Some(item) = self.study().next_for(date, &pushed) else { return Ok(()) };
        let text = self.catalog().t("study.push", &[("title", &item.title), ("excerpt", &item.excerpt())]);
        plan.messages.extend(branch.groups.iter().map(|chat| Outgoing::text(chat.clone(), text.clone())));
        plan.effects.extend(self.store().study_push_effects(&branch.id, &item.id, date)?);
        Ok(())
    }

    fn plan_quiz(&self, branch: &BranchSettings, fire: DateTime<Utc>, close_after: Duration, plan: &mut Plan) -> Result<(), StoreError> {
        let tz = self.settings().timezone;
        let asked = self.store().quiz_asked(&branch.id)?;
        let Some(question) = self.quiz().next_for(&asked) else { return Ok(()) };
        let open =
            OpenQuiz { branch: branch.id.clone(), question: question.id.clone(), posted_at: fire, closes_at: fire + close_after, chats: branch.groups.clone() };
        let options: Vec<String> =
            question.options.iter().enumerate().map(|(i, text)| self.catalog().t("quiz.option", &[("letter", &letter(i)), ("text", text)])).collect();
        let close = open.closes_at.with_timezone(&tz).format("%m-%d %H:%M").to_string();
        let text = self.catalog().t("quiz.post", &[("question", &question.question), ("options", &options.join("\n")), ("close", &close)]);
        plan.messages.extend(branch.groups.iter().map(|chat| Outgoing::text(chat.clone(), text.clone())));
        plan.effects.extend(self.store().quiz_open_effects(&open, local_date(fire, tz))?);
        Ok(())
    }

    fn plan_report_reminder(&self, branch: &BranchSettings, fire: DateTime<Utc>, dir: &dyn Directory, plan: &mut Plan) -> Result<(), StoreError> {
        let tz = self.settings().timezone;
        let today = local_date(fire, tz);
        let mut in_group: Vec<(Member, Cadence)> = Vec::new();
        for member in self.store().members(&branch.id)? {
            let Some(&(_, cadence)) = self.settings().report_cadence.iter().find(|(role, _)| *role == member.role) else { continue };
            let start = cadence.period_start(today);
            let (from, _) = Week::containing(start).bounds(tz);
            let submitted = self
                .store()
                .reports_by_author(&branch.id, &member.user)?
                .iter()
                .any(|r| r.kind == ReportKind::Thought && local_date(r.at, tz) >= start && r.at >= from);
            if submitted {
                continue;
            }
            match dir.direct_chat(&member.user) {
                Some(chat) => {
                    let period = self.period_name(cadence);
                    plan.messages.push(Outgoing::text(chat, self.catalog().t("reminder.report", &[("period", &period)])));
                }
                None => in_group.push((member, cadence)),
            }
        }
        if let Some((_, cadence)) = in_group.first() {
            let names: Vec<String> = in_group.iter().map(|(m, _)| format!("@{}", m.name)).collect();
            let mentions: Vec<Mention> = in_group.iter().map(|(m, _)| Mention { user: m.user.clone(), display_name: m.name.clone() }).collect();
            let text = self.catalog().t("reminder.report_group", &[("period", &self.period_name(*cadence)), ("names", &self.catalog().join(&names))]);
            for chat in &branch.groups {
                let mut message = Outgoing::text(chat.clone(), text.clone());
                message.mentions = mentions.clone();
                plan.messages.push(message);
            }
        }
        Ok(())
    }

    fn period_name(&self, cadence: Cadence) -> String {
        let key = match cadence {
            Cadence::Monthly => "reminder.period_month",
            Cadence::Quarterly => "reminder.period_quarter",
            Cadence::HalfYearly => "reminder.period_half",
            Cadence::Yearly => "reminder.period_year",
        };
        self.catalog().get(key).to_owned()
    }

    fn plan_digest(&self, branch: &BranchSettings, fire: DateTime<Utc>, dir: &dyn Directory, plan: &mut Plan) -> Result<(), StoreError> {
        let tz = self.settings().timezone;
        let today = local_date(fire, tz);
        let last_week = Week::containing(today).previous();
        let stats = weekly_stats(self.store(), branch, last_week, tz, today)?;
        let text = format!("{}\n{}", self.catalog().t("digest.title", &[]), stats.render_text(self.catalog()));
        for member in self.store().members(&branch.id)? {
            if !matches!(member.role, Role::Secretary | Role::Committee) {
                continue;
            }
            match dir.direct_chat(&member.user) {
                Some(chat) => plan.messages.push(Outgoing::text(chat, text.clone())),
                None => tracing::warn!(user = %member.user, "no direct chat for the weekly digest on this platform"),
            }
        }
        Ok(())
    }

    /// Quiz closes and reminders due at or before `now`.
    pub fn due_one_offs(&self, now: DateTime<Utc>) -> Result<Vec<OneOff>, StoreError> {
        Ok(self.one_offs()?.into_iter().filter(|o| o.due <= now).collect())
    }

    /// When the next one-off is due, if any is pending.
    pub fn next_one_off(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.one_offs()?.iter().map(|o| o.due).min())
    }

    fn one_offs(&self) -> Result<Vec<OneOff>, StoreError> {
        let mut out: Vec<OneOff> = self
            .store()
            .open_quizzes()?
            .into_iter()
            .map(|q| OneOff { name: format!("quiz-close/{}/{}", q.branch, q.question), due: q.closes_at, kind: OneOffKind::QuizClose(q.branch) })
            .collect();
        out.extend(self.store().reminders()?.into_iter().map(|r| OneOff { name: format!("reminder/{}", r.id), due: r.at, kind: OneOffKind::Reminder(r.id) }));
        out.sort_by_key(|o| o.due);
        Ok(out)
    }

    /// The plan of a one-off. With `announce` false (missed by too long), only its state changes
    /// are planned: the quiz closes and the reminder is dropped, silently.
    pub fn plan_one_off(&self, one: &OneOff, announce: bool) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        match &one.kind {
            OneOffKind::QuizClose(branch) => {
                let Some(open) = self.store().open_quiz(branch)? else { return Ok(plan) };
                plan.effects.push(self.store().quiz_close_effect(branch));
                let Some(question) = self.quiz().get(&open.question) else { return Ok(plan) };
                let Some(right) = question.answer_index() else { return Ok(plan) };
                let answers = self.store().quiz_answers(branch, &open.question)?;
                let correct: Vec<&UserId> = answers.iter().filter(|a| a.choice == right).map(|a| &a.user).collect();
                let date = local_date(open.closes_at, self.settings().timezone);
                let p = self.settings().points.quiz;
                for user in &correct {
                    let held = self.store().points_on(branch, user, date, "quiz")?;
                    let total = (held + p.value).min(p.daily_cap.max(held));
                    plan.effects.push(self.store().points_effect(branch, user, date, "quiz", total));
                }
                if announce {
                    let text = self.catalog().t(
                        "quiz.result",
                        &[
                            ("letter", &letter(right)),
                            ("text", &question.options[right]),
                            ("explanation", &question.explanation),
                            ("answered", &answers.len()),
                            ("correct", &correct.len()),
                        ],
                    );
                    plan.messages.extend(open.chats.iter().map(|chat| Outgoing::text(chat.clone(), text.clone())));
                }
            }
            OneOffKind::Reminder(id) => {
                let Some(reminder) = self.store().reminders()?.into_iter().find(|r| r.id == *id) else { return Ok(plan) };
                plan.effects.push(self.store().reminder_fired_effect(*id));
                if announce {
                    let text = self.catalog().t("remind.post", &[("text", &reminder.text)]);
                    plan.messages.extend(reminder.chats.iter().map(|chat| Outgoing::text(chat.clone(), text.clone())));
                }
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use zhibu_chat::{ChatId, UserId};

    use super::*;
    use crate::testing::BotTester;

    struct Dms(bool);
    impl Directory for Dms {
        fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
            self.0.then(|| ChatId::parse(&format!("console:dm/{}", user.local())).unwrap())
        }
    }

    #[test]
    fn report_reminders_go_privately_where_possible_else_one_group_message() {
        let t = BotTester::new();
        t.set_role("alice", Role::Probationary);
        t.set_role("bob", Role::Activist);
        t.say("carol", "hi"); // a full member: no cadence
        let now = t.bot.clock().now();
        let plan = t.bot.plan_job(&JobKind::ReportReminder, &[], now, &Dms(true)).unwrap();
        let to: Vec<&str> = plan.messages.iter().map(|m| m.chat.as_str()).collect();
        assert_eq!(to, ["console:dm/alice", "console:dm/bob"]);
        assert_eq!(plan.messages[0].text, "提醒：你本季度的思想汇报还没有提交。请私聊我发送 /思想汇报 加内容提交。");

        let plan = t.bot.plan_job(&JobKind::ReportReminder, &[], now, &Dms(false)).unwrap();
        assert_eq!(plan.messages.len(), 1);
        assert_eq!(plan.messages[0].text, "提醒：以下同志本季度的思想汇报还没有提交：@alice、@bob。请私聊我发送 /思想汇报 提交。");
        assert_eq!(plan.messages[0].mentions.len(), 2);

        t.dm("alice", "/思想汇报 本季度汇报");
        let plan = t.bot.plan_job(&JobKind::ReportReminder, &[], now + Duration::minutes(1), &Dms(true)).unwrap();
        let to: Vec<&str> = plan.messages.iter().map(|m| m.chat.as_str()).collect();
        assert_eq!(to, ["console:dm/bob"]);
    }

    #[test]
    fn closing_a_quiz_posts_the_result_and_awards_the_right_answers() {
        let t = BotTester::new();
        if t.bot.quiz().questions().is_empty() {
            return;
        }
        let now = t.bot.clock().now();
        let plan = t.bot.plan_job(&JobKind::Quiz { close_after: Duration::hours(2) }, &[], now, &Dms(true)).unwrap();
        assert!(plan.messages[0].text.starts_with("📝 每日一题："));
        t.bot.store().commit_run("quiz", now, plan.messages, &plan.effects).unwrap();
        let branch = t.bot.settings().branches[0].id.clone();
        let open = t.bot.store().open_quiz(&branch).unwrap().unwrap();
        let right = t.bot.quiz().get(&open.question).unwrap().answer_index().unwrap();
        let wrong = (right + 1) % 2;
        t.say("alice", &format!("/答 {}", crate::quiz::letter(right)));
        t.say("bob", &format!("/答 {}", crate::quiz::letter(wrong)));
        t.advance(Duration::hours(2));
        let due = t.bot.due_one_offs(t.bot.clock().now()).unwrap();
        assert_eq!(due.len(), 1);
        let plan = t.bot.plan_one_off(&due[0], true).unwrap();
        assert!(plan.messages[0].text.ends_with("本题共 2 人作答，1 人答对。"), "{}", plan.messages[0].text);
        t.bot.store().commit_run(&due[0].name, due[0].due, plan.messages, &plan.effects).unwrap();
        assert!(t.bot.due_one_offs(t.bot.clock().now()).unwrap().is_empty(), "closed");
        assert!(t.say("alice", "/积分").starts_with("你的积分：今日 2"));
        assert!(t.say("bob", "/积分").starts_with("你的积分：今日 0"));
    }
}
