//! `/思想汇报 <内容>` (`/report`) and `/学习心得 <内容>` (`/note`): store a report. In a group the
//! text is never repeated back: the bot acknowledges briefly and asks for direct messages next
//! time.

use zhibu_chat::ChatKind;

use crate::domain::{Capability, ReportKind};
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};

pub struct SubmitReport {
    kind: ReportKind,
    spec: &'static CommandSpec,
}

static THOUGHT_SPEC: CommandSpec = CommandSpec {
    key: "thought_report",
    names: &["思想汇报", "report", "thought"],
    args: Args::Required,
    capability: Capability::SubmitReports,
    chats: Where::Anywhere,
};

static STUDY_NOTE_SPEC: CommandSpec = CommandSpec {
    key: "study_note",
    names: &["学习心得", "心得", "note"],
    args: Args::Required,
    capability: Capability::SubmitReports,
    chats: Where::Anywhere,
};

impl SubmitReport {
    pub const THOUGHT: SubmitReport = SubmitReport { kind: ReportKind::Thought, spec: &THOUGHT_SPEC };
    pub const STUDY_NOTE: SubmitReport = SubmitReport { kind: ReportKind::StudyNote, spec: &STUDY_NOTE_SPEC };
}

/// The catalog key naming a report kind.
pub fn kind_key(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Thought => "report.thought",
        ReportKind::StudyNote => "report.study_note",
    }
}

impl Command for SubmitReport {
    fn spec(&self) -> &'static CommandSpec {
        self.spec
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let text = args.trim();
        let max = ctx.settings.report_max_chars;
        let len = text.chars().count();
        if len > max {
            return Err(CommandError::TooLong { len, max });
        }
        let report = ctx.store.add_report(&ctx.branch.id, &ctx.member.user, self.kind, ctx.sent_at, text)?;
        let kind = ctx.catalog.get(kind_key(self.kind));
        let reply = match ctx.chat_kind {
            ChatKind::Direct => ctx.t("report.saved_direct", &[("kind", &kind), ("id", &report.id), ("chars", &len)]),
            ChatKind::Group => {
                ctx.t("report.saved_group", &[("name", &ctx.member.name), ("kind", &kind), ("id", &report.id)])
            }
        };
        Ok(Reply::text(reply))
    }
}
