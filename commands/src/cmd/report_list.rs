//! `/汇报列表 [本周|上周|YYYY-Www]` (`/reports`), committee only: who submitted reports in the
//! week (with counts by kind) and who did not. Names and counts only, never report text.

use std::collections::BTreeMap;

use super::submit_report::kind_key;
use super::week_arg::week_from_arg;
use crate::domain::{allows, Capability, ReportKind};
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static SPEC: CommandSpec = CommandSpec {
    key: "report_list",
    names: &["汇报列表", "reports", "report-list"],
    args: Args::Optional,
    capability: Capability::ReviewReports,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let week = week_from_arg(ctx, args)?;
    let (from, until) = week.bounds(ctx.settings.timezone);
    let reports = ctx.store.reports_between(&ctx.branch.id, from, until)?;
    let members = ctx.store.members(&ctx.branch.id)?;
    let mut by_author: BTreeMap<&str, BTreeMap<ReportKind, usize>> = BTreeMap::new();
    for r in &reports {
        *by_author.entry(r.author.as_str()).or_default().entry(r.kind).or_default() += 1;
    }
    let mut lines = vec![ctx.t("report.list_title", &[("branch", &ctx.branch.name), ("week", &week), ("from", &week.monday()), ("to", &week.sunday())])];
    let submitted: Vec<_> = members.iter().filter(|m| by_author.contains_key(m.user.as_str())).collect();
    lines.push(ctx.t("report.list_submitted", &[("count", &submitted.len())]));
    for m in &submitted {
        let counts = &by_author[m.user.as_str()];
        let kinds: Vec<String> =
            counts.iter().map(|(kind, n)| ctx.t("report.list_count", &[("kind", &ctx.catalog.get(kind_key(*kind))), ("count", n)])).collect();
        lines.push(ctx.t("report.list_submitted_line", &[("name", &m.name), ("kinds", &ctx.catalog.join(&kinds))]));
    }
    let missing: Vec<String> =
        members.iter().filter(|m| allows(m.role, Capability::SubmitReports) && !by_author.contains_key(m.user.as_str())).map(|m| m.name.clone()).collect();
    let names = if missing.is_empty() { ctx.t("report.none", &[]) } else { ctx.catalog.join(&missing) };
    lines.push(ctx.t("report.list_missing", &[("count", &missing.len()), ("names", &names)]));
    Ok(Reply::text(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::testing::BotTester;

    #[test]
    fn lists_who_submitted_and_who_did_not() {
        let t = BotTester::new();
        t.say("bob", "/签到");
        t.dm("alice", "/思想汇报 一");
        t.dm("alice", "/学习心得 二");
        let list = t.say("secretary", "/汇报列表");
        assert_eq!(
            list,
            "演示支部 · 2026-W48（2026-11-23 至 2026-11-29）汇报提交情况\n已提交（1 人）：\n· alice：思想汇报 1 份、学习心得 1 份\n未提交（2 人）：bob、secretary"
        );
        t.advance(Duration::days(7));
        assert!(t.say("secretary", "/汇报列表 上周").contains("· alice：思想汇报 1 份"));
        assert!(t.say("secretary", "/汇报列表").contains("已提交（0 人）"));
        assert_eq!(t.say("alice", "/汇报列表"), "只有书记、支委可以使用 /汇报列表。");
        assert_eq!(t.say("secretary", "/汇报列表 下个月"), "“下个月”不是有效的周，请写 本周、上周，或 2026-W48 这样的周编号。");
    }
}
