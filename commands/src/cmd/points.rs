//! `/积分` (`/points`): the member's points today, this week and in total, and the branch's top 10.

use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static SPEC: CommandSpec =
    CommandSpec { key: "points", names: &["积分", "points"], args: Args::None, capability: Capability::Basic, chats: Where::Anywhere, run, subcommands: &[] };

const TOP: usize = 10;

fn run(ctx: &Ctx<'_>, _args: &str) -> Result<Reply, CommandError> {
    let days = ctx.store.points_by_day(&ctx.branch.id, &ctx.member.user)?;
    let today = ctx.today();
    let week = ctx.this_week();
    let sum = |f: &dyn Fn(chrono::NaiveDate) -> bool| -> u32 { days.iter().filter(|(d, _)| f(*d)).map(|(_, p)| p).sum() };
    let (day, this_week, total) = (sum(&|d| d == today), sum(&|d| d >= week.monday() && d <= week.sunday()), sum(&|_| true));
    let mut lines = vec![ctx.t("points.mine", &[("today", &day), ("week", &this_week), ("total", &total)])];
    let members = ctx.store.members(&ctx.branch.id)?;
    let mut totals: Vec<(String, u32)> = ctx
        .store
        .points_totals(&ctx.branch.id)?
        .into_iter()
        .filter(|(_, p)| *p > 0)
        .map(|(user, p)| (members.iter().find(|m| m.user == user).map(|m| m.name.clone()).unwrap_or_else(|| user.local().to_owned()), p))
        .collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if !totals.is_empty() {
        lines.push(ctx.t("points.board", &[]));
        for (rank, (name, points)) in totals.iter().take(TOP).enumerate() {
            lines.push(ctx.t("points.line", &[("rank", &(rank + 1)), ("name", name), ("points", points)]));
        }
    }
    Ok(Reply::text(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::testing::BotTester;

    #[test]
    fn points_today_this_week_total_and_the_board() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", "/积分"), "你的积分：今日 0，本周 0，累计 0。");
        t.say("alice", "/签到");
        t.say("alice", "/学了");
        t.say("bob", "/签到");
        t.advance(Duration::days(7));
        t.say("alice", "/签到");
        assert_eq!(t.say("alice", "/points"), "你的积分：今日 1，本周 1，累计 4。\n支部积分榜：\n1. alice 4\n2. bob 1");
    }
}
