//! `/查看汇报 <编号>` (`/viewreport`): one report in full, in a direct chat only. The author may
//! read their own; the committee may read any in their branch. Anyone else is told the report
//! does not exist (not that it exists and is hidden).

use super::submit_report::kind_key;
use crate::domain::{allows, Capability};
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static SPEC: CommandSpec = CommandSpec {
    key: "view_report",
    names: &["查看汇报", "viewreport", "view-report"],
    args: Args::Required,
    capability: Capability::SubmitReports,
    chats: Where::DirectOnly,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let arg = args.trim();
    let id: u64 = arg.trim_start_matches(['#', '＃']).parse().map_err(|_| CommandError::Usage)?;
    let report =
        ctx.store.report(id)?.filter(|r| r.branch == ctx.branch.id && (r.author == ctx.member.user || allows(ctx.member.role, Capability::ReviewReports)));
    let Some(report) = report else {
        return Err(CommandError::ReportNotFound(format!("#{id}")));
    };
    let author = ctx.store.member(&report.branch, &report.author)?.map(|m| m.name).unwrap_or_else(|| report.author.local().to_owned());
    let text = ctx.t(
        "report.view",
        &[
            ("id", &report.id),
            ("kind", &ctx.catalog.get(kind_key(report.kind))),
            ("author", &author),
            ("time", &ctx.local_time(report.at)),
            ("text", &report.text),
        ],
    );
    Ok(Reply::text(text))
}

#[cfg(test)]
mod tests {
    use crate::domain::Role;
    use crate::testing::BotTester;

    #[test]
    fn author_and_committee_may_read_in_a_direct_chat_only() {
        let t = BotTester::new();
        t.dm("alice", "/思想汇报 第一段\n第二段");
        let full = "汇报 #1 · 思想汇报\n作者：alice\n提交时间：2026-11-25 10:00\n\n第一段\n第二段";
        assert_eq!(t.dm("alice", "/查看汇报 1"), full);
        assert_eq!(t.dm("secretary", "/查看汇报 #1"), full);
        assert_eq!(t.say("secretary", "/查看汇报 1"), "/查看汇报 涉及个人材料，请私聊我使用。");
        // Another member is told there is no such report, not that it is hidden.
        assert_eq!(t.dm("bob", "/查看汇报 1"), "没有找到你可以查看的汇报 #1。");
        t.set_role("dave", Role::Committee);
        assert_eq!(t.dm("dave", "/viewreport 1"), full);
        assert_eq!(t.dm("dave", "/viewreport 99"), "没有找到你可以查看的汇报 #99。");
        assert_eq!(t.dm("dave", "/viewreport abc"), "用法：/查看汇报 <编号>");
    }
}
