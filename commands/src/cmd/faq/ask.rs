//! Answering a question: the matched question and its answer; in the grey zone, "did you mean"
//! with the answer; when nothing matches well, says so, offers the closest questions and points
//! to the secretary.

use crate::domain::Role;
use crate::faq::{FaqEntry, FaqIndex, FaqMatch, Verdict};
use crate::framework::{CommandError, Ctx, Reply};
use crate::i18n::Catalog;

/// Answers `question` in the member's branch; a question the library cannot answer is counted
/// in the unanswered log (the question only, never who asked).
pub fn run(ctx: &Ctx<'_>, question: &str) -> Result<Reply, CommandError> {
    Ok(run_with_verdict(ctx, question)?.0)
}

/// [`run`], with how sure the library was (the bot adds a hint to a direct message it could not
/// answer outright).
pub fn run_with_verdict(ctx: &Ctx<'_>, question: &str) -> Result<(Reply, Verdict), CommandError> {
    let found = ctx.faq.search(question);
    if found.verdict == Verdict::Unknown {
        if let Err(e) = ctx.store.record_unanswered(question, ctx.sent_at) {
            tracing::warn!(error = %e, "recording an unanswered question failed");
        }
    }
    // A sure answer names nobody; only the other replies point to the secretary.
    let secretaries = match found.verdict {
        Verdict::Answer => Vec::new(),
        Verdict::Suggest | Verdict::Unknown => ctx.store.names_with_role(&ctx.branch.id, Role::Secretary)?,
    };
    Ok((Reply::text(render(&found, ctx.catalog, &secretaries)), found.verdict))
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

/// The bot's full reply to a question: the answer, "did you mean" with the answer, or "I don't
/// know" with the closest questions and the secretary.
fn answer(faq: &FaqIndex, catalog: &Catalog, question: &str, secretaries: &[String]) -> String {
    render(&faq.search(question), catalog, secretaries)
}

fn render(found: &FaqMatch<'_>, catalog: &Catalog, secretaries: &[String]) -> String {
    let ask_secretary = |text: &mut String| {
        if secretaries.is_empty() {
            catalog.t_into(text, "faq.ask_secretary_generic", &[]);
        } else {
            catalog.t_into(text, "faq.ask_secretary", &[("secretary", &catalog.join(secretaries))]);
        }
    };
    // Each reply is built in one buffer, sized for what goes into it.
    let answer = |key: &str, entry: &FaqEntry| {
        let mut text = String::with_capacity(entry.question.len() + entry.answer.len() + entry.source.len() + 256);
        catalog.t_into(&mut text, key, &[("question", &entry.question), ("answer", &entry.answer.trim())]);
        if !entry.source.is_empty() {
            text.push('\n');
            catalog.t_into(&mut text, "faq.source", &[("source", &entry.source)]);
        }
        text
    };
    match (found.verdict, found.best) {
        (Verdict::Answer, Some((entry, _))) => answer("faq.answer", entry),
        (Verdict::Suggest, Some((entry, _))) => {
            let mut text = answer("faq.did_you_mean", entry);
            text.push('\n');
            catalog.t_into(&mut text, "faq.if_not", &[]);
            ask_secretary(&mut text);
            text
        }
        _ => {
            let list_len: usize = found.closest.iter().map(|(e, _)| e.question.len() + 16).sum();
            let mut text = String::with_capacity(256 + list_len);
            catalog.t_into(&mut text, "faq.unknown", &[]);
            if !found.closest.is_empty() {
                let mut list = String::with_capacity(list_len);
                for (i, (e, _)) in found.closest.iter().enumerate() {
                    if i > 0 {
                        list.push('\n');
                    }
                    catalog.t_into(&mut list, "faq.closest_line", &[("question", &e.question)]);
                }
                text.push('\n');
                catalog.t_into(&mut text, "faq.closest", &[("list", &list)]);
            }
            text.push('\n');
            ask_secretary(&mut text);
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn answers_with_the_matched_question_and_its_source() {
        let t = BotTester::new();
        let reply = t.say("alice", "/问 预备期到底多长啊");
        assert!(reply.starts_with("问：预备党员的预备期是多长时间？\n答："), "{reply}");
        assert!(reply.contains("一年") && reply.contains("（出处：《中国共产党章程》"), "{reply}");
        // Glued to the command name, and the English alias.
        assert!(t.say("alice", "/问党费多久交一次").starts_with("问：党费多长时间交一次？"));
        assert!(t.say("alice", "/faq 入党誓词全文").contains("我志愿加入中国共产党"));
    }

    #[test]
    fn says_it_does_not_know_and_offers_the_closest_questions() {
        let t = BotTester::new();
        let reply = t.say("alice", "/问 食堂几点开门");
        let lines: Vec<&str> = reply.lines().collect();
        assert_eq!(lines[0], "抱歉，这个问题我没有找到可靠的答案，不想给你错误的信息。");
        assert_eq!(lines.last().copied(), Some("也可以直接请教支部书记secretary。"));
        assert_eq!(t.say("alice", "/问"), "用法：/问 <问题>");
    }

    #[test]
    fn the_grey_zone_answers_as_a_question() {
        let t = BotTester::new();
        let reply = t.say("alice", "/问 入党整个过程要几年");
        assert!(reply.starts_with("你是不是想问：从递交入党申请书到入党一般要多长时间？\n如果是："), "{reply}");
        assert!(reply.contains("如果不是，请换个说法再问一次。也可以直接请教支部书记"), "{reply}");
        // Not logged as unanswered: it was answered, tentatively.
        assert!(t.bot.store().unanswered().unwrap().is_empty());
    }

    #[test]
    fn empty_and_blank_questions_get_the_usage_line() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", "/问    "), "用法：/问 <问题>");
        assert_eq!(t.dm("alice", "   "), "");
    }

    #[test]
    fn a_huge_question_gets_an_answer_not_a_hang() {
        let t = BotTester::new();
        let reply = t.say("alice", &format!("/问 预备期多久{}", "啊".repeat(1_000_000)));
        assert!(reply.starts_with("问：预备党员的预备期是多长时间？"), "{}", &reply[..100.min(reply.len())]);
    }

    #[test]
    fn plain_text_in_a_direct_chat_is_a_question() {
        let t = BotTester::new();
        assert!(t.dm("alice", "入党介绍人要几个").starts_with("问：入党需要几名入党介绍人？"));
        assert!(t.dm("alice", "今天吃什么").ends_with("想办什么？发送 /帮助 查看你可以使用的命令。"));
        // Plain talk in the group is not for the bot.
        assert_eq!(t.say("alice", "入党介绍人要几个"), "");
    }
}
