//! `/答 <选项>` (`/answer`): answers the branch's open quiz question, once. The result comes when
//! the quiz closes.

use crate::domain::Capability;
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::quiz::letter_index;
use crate::store::QuizAnswer;

pub struct AnswerCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "answer",
    names: &["答", "answer", "答题"],
    args: Args::Required,
    capability: Capability::CheckIn,
    chats: Where::Anywhere,
};

impl Command for AnswerCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let Some(open) = ctx.store.open_quiz(&ctx.branch.id)?.filter(|q| q.closes_at > ctx.sent_at) else {
            return Ok(Reply::text(ctx.t("quiz.none_open", &[])));
        };
        let Some(question) = ctx.quiz.get(&open.question) else {
            return Ok(Reply::text(ctx.t("quiz.none_open", &[])));
        };
        let choice = letter_index(args).filter(|i| *i < question.options.len()).ok_or(CommandError::Usage)?;
        let answer = QuizAnswer { user: ctx.member.user.clone(), choice, at: ctx.sent_at };
        let close = ctx.local_time(open.closes_at);
        match ctx.store.record_quiz_answer(&ctx.branch.id, &open.question, &answer)? {
            None => Ok(Reply::text(ctx.t("quiz.recorded", &[("choice", &crate::quiz::letter(choice)), ("close", &close)]))),
            Some(first) => Ok(Reply::text(ctx.t("quiz.already", &[("choice", &crate::quiz::letter(first.choice)), ("close", &close)]))),
        }
    }
}
