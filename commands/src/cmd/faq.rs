//! `/问 <问题>` (`/faq`): answers from the FAQ library with the matched question shown; when
//! nothing matches well, says so, offers the closest questions and points to the secretary.

use crate::domain::{Capability, Role};
use crate::faq::{FaqIndex, Verdict};
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::i18n::Catalog;

pub struct FaqCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "faq",
    names: &["问", "问答", "faq", "ask"],
    args: Args::Required,
    capability: Capability::Basic,
    chats: Where::Anywhere,
};

impl Command for FaqCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let secretaries: Vec<String> = ctx
            .store
            .members(&ctx.branch.id)?
            .into_iter()
            .filter(|m| m.role == Role::Secretary)
            .map(|m| m.name)
            .collect();
        Ok(Reply::text(answer(ctx.faq, ctx.catalog, args, &secretaries)))
    }
}

/// What the bot replies to `question` in the first branch (for `zhibu faq ask`).
pub fn reply(bot: &crate::Bot, question: &str) -> String {
    let secretaries: Vec<String> = bot
        .settings()
        .branches
        .first()
        .and_then(|b| bot.store().members(&b.id).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.role == Role::Secretary)
        .map(|m| m.name)
        .collect();
    bot.with_faq(|faq| answer(faq, bot.catalog(), question, &secretaries))
}

/// The bot's full reply to a question: the answer, or "I don't know" with the closest questions.
pub fn answer(faq: &FaqIndex, catalog: &Catalog, question: &str, secretaries: &[String]) -> String {
    let found = faq.search(question);
    match (found.verdict, found.best) {
        (Verdict::Answer, Some((entry, _))) => {
            let mut text = catalog.t("faq.answer", &[("question", &entry.question), ("answer", &entry.answer.trim())]);
            if !entry.source.is_empty() {
                text.push('\n');
                text.push_str(&catalog.t("faq.source", &[("source", &entry.source)]));
            }
            text
        }
        _ => {
            let mut lines = vec![catalog.t("faq.unknown", &[])];
            if !found.closest.is_empty() {
                let list: Vec<String> =
                    found.closest.iter().map(|(e, _)| catalog.t("faq.closest_line", &[("question", &e.question)])).collect();
                lines.push(catalog.t("faq.closest", &[("list", &list.join("\n"))]));
            }
            lines.push(if secretaries.is_empty() {
                catalog.t("faq.ask_secretary_generic", &[])
            } else {
                catalog.t("faq.ask_secretary", &[("secretary", &catalog.join(secretaries))])
            });
            lines.join("\n")
        }
    }
}
