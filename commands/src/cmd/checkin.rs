//! `/签到 [备注]` (`/checkin`, `/打卡`): one check-in per member per local day; the reply gives
//! this week's count and the current streak. A second check-in the same day changes nothing.

use chrono::{Days, NaiveDate};

use crate::domain::{Capability, CheckIn, Member};
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::store::{Insert, Store, StoreError};

const MAX_NOTE_CHARS: usize = 200;
/// A streak is counted back at most this far (point reads, one a day).
const MAX_STREAK_DAYS: u64 = 3660;

pub static SPEC: CommandSpec = CommandSpec {
    key: "checkin",
    names: &["签到", "打卡", "checkin", "check-in"],
    args: Args::Optional,
    capability: Capability::CheckIn,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let note = args.trim();
    let len = note.chars().count();
    if len > MAX_NOTE_CHARS {
        return Err(CommandError::TooLong { len, max: MAX_NOTE_CHARS });
    }
    let today = ctx.today();
    let checkin = CheckIn {
        branch: ctx.branch.id.clone(),
        user: ctx.member.user.clone(),
        date: today,
        at: ctx.sent_at,
        note: (!note.is_empty()).then(|| note.to_owned()),
    };
    let inserted = ctx.store.insert_checkin(&checkin)?;
    let week = days_this_week(ctx, &ctx.member)?;
    let streak = streak(ctx.store, &ctx.member, today)?;
    Ok(match inserted {
        Insert::Written(ticket) => {
            let p = ctx.settings.points.checkin;
            let points = ctx.store.award_points(&ctx.branch.id, &ctx.member.user, today, "checkin", p.value, p.daily_cap)?;
            Reply::text(ctx.t("checkin.ok", &[("week", &week), ("streak", &streak)])).confirming(ticket.and(points.ticket))
        }
        Insert::Existing(first) => {
            let time = first.at.with_timezone(&ctx.settings.timezone).format("%H:%M").to_string();
            Reply::text(ctx.t("checkin.already", &[("time", &time), ("week", &week), ("streak", &streak)]))
        }
    })
}

/// The member's days with a check-in this week: seven point reads, however many check-ins the
/// rest of the branch made.
fn days_this_week(ctx: &Ctx<'_>, member: &Member) -> Result<usize, StoreError> {
    let week = ctx.this_week();
    ctx.store.checkin_days(&member.branch, &member.user, week.monday(), week.sunday())
}

/// Consecutive days with a check-in, ending today.
fn streak(store: &Store, member: &Member, today: NaiveDate) -> Result<u64, StoreError> {
    let mut days = 0;
    while days < MAX_STREAK_DAYS {
        let Some(day) = today.checked_sub_days(Days::new(days)) else { break };
        if store.checkin(&member.branch, day, &member.user)?.is_none() {
            break;
        }
        days += 1;
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::testing::BotTester;

    #[test]
    fn checks_in_once_a_day_and_counts_the_week_and_streak() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", "/签到"), "签到成功！本周已签到 1 天，已连续签到 1 天。");
        assert_eq!(t.say("alice", "/checkin 再来一次"), "你今天已经签到过了（10:00），无需重复签到。本周已签到 1 天，已连续签到 1 天。");
        t.advance(Duration::days(1));
        assert_eq!(t.say("alice", "!打卡 图书馆"), "签到成功！本周已签到 2 天，已连续签到 2 天。");
        for _ in 0..3 {
            t.advance(Duration::days(1));
            t.say("alice", "/签到");
        }
        // Monday of the next week: the week count restarts, the streak goes on.
        t.advance(Duration::days(1));
        assert_eq!(t.say("alice", "/签到"), "签到成功！本周已签到 1 天，已连续签到 6 天。");
        // A day missed breaks the streak.
        t.advance(Duration::days(2));
        assert_eq!(t.say("alice", "/签到"), "签到成功！本周已签到 2 天，已连续签到 1 天。");
        assert_eq!(t.say("bob", "/签到"), "签到成功！本周已签到 1 天，已连续签到 1 天。");
    }

    #[test]
    fn days_follow_the_branch_timezone() {
        let t = BotTester::new();
        t.clock.set(crate::testing::at("2026-11-25T23:50:00+08:00"));
        assert!(t.say("alice", "/签到").starts_with("签到成功"));
        // 00:10 Beijing time is still the 25th in UTC, but a new day for the branch.
        t.advance(Duration::minutes(20));
        assert!(t.say("alice", "/签到").starts_with("签到成功"), "a new local day");
    }

    #[test]
    fn a_long_note_is_refused_and_nothing_is_recorded() {
        let t = BotTester::new();
        let note = "很".repeat(201);
        assert_eq!(t.say("alice", &format!("/签到 {note}")), "内容太长了：201 字，上限是 200 字。");
        assert!(t.say("alice", "/签到").starts_with("签到成功"));
    }
}
