//! `/查看汇报 <编号>` (`/viewreport`): one report in full, in a direct chat only. The author may
//! read their own; the committee may read any in their branch. Anyone else is told the report
//! does not exist (not that it exists and is hidden).

use super::submit_report::kind_key;
use crate::domain::{allows, Capability};
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};

pub struct ViewReport;

static SPEC: CommandSpec = CommandSpec {
    key: "view_report",
    names: &["查看汇报", "viewreport", "view-report"],
    args: Args::Required,
    capability: Capability::SubmitReports,
    chats: Where::DirectOnly,
};

impl Command for ViewReport {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let arg = args.trim();
        let id: u64 = arg.trim_start_matches(['#', '＃']).parse().map_err(|_| CommandError::Usage)?;
        let report = ctx.store.report(id)?.filter(|r| {
            r.branch == ctx.branch.id && (r.author == ctx.member.user || allows(ctx.member.role, Capability::ReviewReports))
        });
        let Some(report) = report else {
            return Err(CommandError::ReportNotFound(format!("#{id}")));
        };
        let author = ctx
            .store
            .member(&report.branch, &report.author)?
            .map(|m| m.name)
            .unwrap_or_else(|| report.author.local().to_owned());
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
}
