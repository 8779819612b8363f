//! `/答 <选项>` (`/answer`): answers the branch's open quiz question, once. The result comes when
//! the quiz closes.

use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::quiz::letter_index;
use crate::store::{Insert, QuizAnswer};

pub static SPEC: CommandSpec = CommandSpec {
    key: "answer",
    names: &["答", "answer", "答题"],
    args: Args::Required,
    capability: Capability::CheckIn,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
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
        Insert::Written(ticket) => Ok(Reply::text(ctx.t("quiz.recorded", &[("choice", &crate::quiz::letter(choice)), ("close", &close)])).confirming(ticket)),
        Insert::Existing(first) => Ok(Reply::text(ctx.t("quiz.already", &[("choice", &crate::quiz::letter(first.choice)), ("close", &close)]))),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::store::OpenQuiz;
    use crate::testing::BotTester;

    #[test]
    fn one_answer_per_member_while_the_quiz_is_open() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", "/答 A"), "现在没有进行中的题目。");
        let Some(q) = t.bot.quiz().questions().first().cloned() else { return };
        let branch = t.bot.settings().branches[0].clone();
        let now = t.bot.clock().now();
        let open =
            OpenQuiz { branch: branch.id.clone(), question: q.id.clone(), posted_at: now, closes_at: now + Duration::hours(2), chats: branch.groups.clone() };
        let effects = t.bot.store().quiz_open_effects(&open, now.date_naive()).unwrap();
        t.bot.store().commit_run("quiz", now, vec![], &effects).unwrap();
        assert_eq!(t.say("alice", "/答 b"), "已记录你的答案 B，2026-11-25 12:00 公布答案。");
        assert_eq!(t.say("alice", "/答 C"), "你已经答过这道题了（B），每题只能作答一次。2026-11-25 12:00 公布答案。");
        assert_eq!(t.say("bob", "/答 Z"), "用法：/答 <选项>");
        t.advance(Duration::hours(3));
        assert_eq!(t.say("bob", "/答 A"), "现在没有进行中的题目。");
    }
}
