//! Editing the FAQ library in chat, for the committee, in a direct chat only:
//!
//! ```text
//! /faq 添加                      /faq 修改 probation-length      /faq 删除 probation-length
//! 问题：预备党员能转学吗？          答案：新的答案……                  /faq 同义词
//! 其他问法：预备期能转学吗；……                                       /faq 同义词 添加 转正 转为正式党员
//! 关键词：转学；组织关系                                             /faq 同义词 删除 3
//! 答案：可以……                                                      /faq 历史 probation-length
//! 来源：《……》                                                      /faq 未答    /faq 未答 清空
//! ```
//!
//! A change is first shown as a draft; `/faq 确认` applies it (recorded with its author and time),
//! `/faq 取消` drops it. A draft is refused if someone else changed the same entry meanwhile.

use chrono::Duration;

use crate::domain::Capability;
use crate::faq::FaqEntry;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Run, Where};
use crate::store::{FaqAuthor, FaqDraft, FaqEdit, FaqHistoryRecord};

/// How long a draft waits for its confirmation.
const DRAFT_LIFETIME_MINUTES: i64 = 30;
/// How many changes `/faq 历史` shows (the latest).
const HISTORY_SHOWN: usize = 10;
/// How many questions `/faq 未答` shows (the most asked).
const UNANSWERED_SHOWN: usize = 20;

/// The editing subcommands, each named by the first word after `/faq` (`/问 删除党籍是什么意思`
/// stays a question): committee only, in a direct chat only.
pub(super) static SUBCOMMANDS: [CommandSpec; 8] = [
    edit_spec("faq_add", &["添加", "新增", "add"], Args::Required, add),
    edit_spec("faq_edit", &["修改", "编辑", "edit"], Args::Required, edit),
    edit_spec("faq_delete", &["删除", "delete"], Args::Required, delete),
    edit_spec("faq_synonyms", &["同义词", "synonyms"], Args::Optional, synonyms),
    edit_spec("faq_history", &["历史", "history"], Args::Required, |ctx, args| history(ctx, split_id(args).0)),
    edit_spec("faq_unanswered", &["未答", "unanswered"], Args::Optional, unanswered),
    edit_spec("faq_confirm", &["确认", "confirm"], Args::None, |ctx, _| confirm(ctx)),
    edit_spec("faq_cancel", &["取消", "cancel"], Args::None, |ctx, _| cancel(ctx)),
];

const fn edit_spec(key: &'static str, names: &'static [&'static str], args: Args, run: Run) -> CommandSpec {
    CommandSpec { key, names, args, capability: Capability::ManageFaq, chats: Where::DirectOnly, run, subcommands: &[] }
}

fn add(ctx: &Ctx<'_>, text: &str) -> Result<Reply, CommandError> {
    let fields = parse_fields(text)?;
    let mut entry = FaqEntry {
        id: String::new(),
        topic: String::new(),
        question: String::new(),
        alternatives: Vec::new(),
        keywords: Vec::new(),
        answer: String::new(),
        source: String::new(),
    };
    fields.apply_to(&mut entry);
    if entry.id.is_empty() {
        entry.id = next_custom_id(ctx)?;
    } else if ctx.store.faq_entry(&entry.id)?.is_some() {
        return Err(CommandError::FaqEntryExists(entry.id));
    }
    draft(ctx, FaqEdit::Put { entry, base: None })
}

fn edit(ctx: &Ctx<'_>, text: &str) -> Result<Reply, CommandError> {
    let (id, rest) = split_id(text);
    let base = existing(ctx, id)?;
    let fields = parse_fields(rest)?;
    if fields.is_empty() {
        return Err(CommandError::Usage);
    }
    let mut entry = base.clone();
    fields.apply_to(&mut entry);
    entry.id = base.id.clone();
    draft(ctx, FaqEdit::Put { entry, base: Some(base) })
}

fn delete(ctx: &Ctx<'_>, text: &str) -> Result<Reply, CommandError> {
    let base = existing(ctx, split_id(text).0)?;
    draft(ctx, FaqEdit::Delete { base })
}

fn cancel(ctx: &Ctx<'_>) -> Result<Reply, CommandError> {
    let taken = ctx.store.take_faq_draft(&ctx.member.user.to_string())?;
    match taken.value {
        Some(_) => Ok(Reply::text(ctx.t("faq_edit.cancelled", &[])).confirming(taken.ticket)),
        None => Err(CommandError::FaqNoDraft),
    }
}

fn split_id(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

fn existing(ctx: &Ctx<'_>, id: &str) -> Result<FaqEntry, CommandError> {
    if id.is_empty() {
        return Err(CommandError::Usage);
    }
    ctx.store.faq_entry(id)?.ok_or_else(|| CommandError::FaqEntryNotFound(id.to_owned()))
}

/// `custom-<n>`, one past the highest `custom-` id in the library.
fn next_custom_id(ctx: &Ctx<'_>) -> Result<String, CommandError> {
    let highest = ctx.store.faq_entries()?.iter().filter_map(|e| e.id.strip_prefix("custom-")?.parse::<u32>().ok()).max().unwrap_or(0);
    Ok(format!("custom-{}", highest + 1))
}

/// Checks an edit and keeps it as the member's draft; the reply shows what confirming will do.
fn draft(ctx: &Ctx<'_>, edit: FaqEdit) -> Result<Reply, CommandError> {
    if let FaqEdit::Put { entry, .. } = &edit {
        let problems = entry.problems();
        if !problems.is_empty() {
            return Err(CommandError::FaqBadEntry(problems));
        }
    }
    let preview = match &edit {
        FaqEdit::Put { entry, base: None } => ctx.t("faq_edit.draft_add", &[("entry", &show_entry(ctx, entry))]),
        FaqEdit::Put { entry, base: Some(_) } => ctx.t("faq_edit.draft_edit", &[("entry", &show_entry(ctx, entry))]),
        FaqEdit::Delete { base } => ctx.t("faq_edit.draft_delete", &[("id", &base.id), ("question", &base.question)]),
        FaqEdit::Synonyms { groups, .. } => ctx.t("faq_edit.draft_synonyms", &[("groups", &show_groups(groups))]),
    };
    let ticket = ctx.store.put_faq_draft(&ctx.member.user.to_string(), &FaqDraft { edit, drafted_at: ctx.clock.now() })?;
    Ok(Reply::text(format!("{preview}\n{}", ctx.t("faq_edit.confirm_hint", &[("minutes", &DRAFT_LIFETIME_MINUTES)]))).confirming(ticket))
}

fn confirm(ctx: &Ctx<'_>) -> Result<Reply, CommandError> {
    let Some(draft) = ctx.store.take_faq_draft(&ctx.member.user.to_string())?.value else {
        return Err(CommandError::FaqNoDraft);
    };
    let now = ctx.clock.now();
    if now - draft.drafted_at > Duration::minutes(DRAFT_LIFETIME_MINUTES) {
        return Err(CommandError::FaqNoDraft);
    }
    let author = FaqAuthor { id: ctx.member.user.to_string(), name: ctx.member.name.clone() };
    let Some(ticket) = ctx.store.apply_faq_edit(&draft.edit, &author, now)? else {
        return Err(CommandError::FaqConflict);
    };
    tracing::info!(subject = %draft.edit.subject(), author = %author.id, "FAQ library changed in chat");
    Ok(Reply::text(match &draft.edit {
        FaqEdit::Put { entry, base: None } => ctx.t("faq_edit.added", &[("id", &entry.id)]),
        FaqEdit::Put { entry, base: Some(_) } => ctx.t("faq_edit.changed", &[("id", &entry.id)]),
        FaqEdit::Delete { base } => ctx.t("faq_edit.deleted", &[("id", &base.id)]),
        FaqEdit::Synonyms { .. } => ctx.t("faq_edit.synonyms_changed", &[]),
    })
    .confirming(ticket))
}

fn synonyms(ctx: &Ctx<'_>, text: &str) -> Result<Reply, CommandError> {
    let base = ctx.store.faq_rules()?.synonyms;
    let (verb, rest) = split_id(text);
    let mut groups = base.clone();
    match verb {
        "" => return Ok(Reply::text(ctx.t("faq_edit.synonyms", &[("groups", &show_groups(&base))]))),
        "添加" | "add" => {
            let terms: Vec<String> = split_list(rest);
            if terms.len() < 2 {
                return Err(CommandError::Usage);
            }
            // A term already in a group joins the new terms to that group.
            match groups.iter_mut().find(|g| g.iter().any(|t| terms.contains(t))) {
                Some(group) => group.extend(terms.into_iter().filter(|t| !group.contains(t)).collect::<Vec<_>>()),
                None => groups.push(terms),
            }
        }
        "删除" | "delete" => {
            let n: usize = rest.trim().parse().map_err(|_| CommandError::Usage)?;
            if n == 0 || n > groups.len() {
                return Err(CommandError::FaqEntryNotFound(rest.trim().to_owned()));
            }
            groups.remove(n - 1);
        }
        _ => return Err(CommandError::Usage),
    }
    draft(ctx, FaqEdit::Synonyms { groups, base })
}

fn history(ctx: &Ctx<'_>, id: &str) -> Result<Reply, CommandError> {
    let subject = match id {
        "" => return Err(CommandError::Usage),
        "同义词" | "synonyms" => "synonyms".to_owned(),
        id => format!("entry:{id}"),
    };
    let records = ctx.store.faq_history(&subject)?;
    if records.is_empty() {
        return Err(CommandError::FaqEntryNotFound(id.to_owned()));
    }
    let skipped = records.len().saturating_sub(HISTORY_SHOWN);
    let mut lines = vec![ctx.t("faq_edit.history_title", &[("id", &id), ("count", &records.len())])];
    lines.extend(records.iter().skip(skipped).map(|r| history_line(ctx, r)));
    Ok(Reply::text(lines.join("\n")))
}

fn history_line(ctx: &Ctx<'_>, record: &FaqHistoryRecord) -> String {
    let what = match &record.edit {
        FaqEdit::Put { base: None, .. } => ctx.t("faq_edit.history_added", &[]),
        FaqEdit::Put { entry, base: Some(base) } => ctx.t("faq_edit.history_changed", &[("fields", &changed_fields(ctx, base, entry).join("、"))]),
        FaqEdit::Delete { .. } => ctx.t("faq_edit.history_deleted", &[]),
        FaqEdit::Synonyms { groups, base } => ctx.t("faq_edit.history_synonyms", &[("before", &base.len()), ("after", &groups.len())]),
    };
    ctx.t("faq_edit.history_line", &[("time", &ctx.local_time(record.at)), ("author", &record.author.name), ("what", &what)])
}

fn changed_fields(ctx: &Ctx<'_>, a: &FaqEntry, b: &FaqEntry) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |changed: bool, key: &str| {
        if changed {
            out.push(ctx.t(key, &[]));
        }
    };
    field(a.question != b.question, "faq_edit.field_question");
    field(a.alternatives != b.alternatives, "faq_edit.field_alternatives");
    field(a.keywords != b.keywords, "faq_edit.field_keywords");
    field(a.answer != b.answer, "faq_edit.field_answer");
    field(a.source != b.source, "faq_edit.field_source");
    field(a.topic != b.topic, "faq_edit.field_topic");
    out
}

fn unanswered(ctx: &Ctx<'_>, text: &str) -> Result<Reply, CommandError> {
    match text {
        "" => {}
        "清空" | "clear" => {
            let cleared = ctx.store.clear_unanswered()?;
            return Ok(Reply::text(ctx.t("faq_edit.unanswered_cleared", &[("count", &cleared.value)])).confirming(cleared.ticket));
        }
        _ => return Err(CommandError::Usage),
    }
    let all = ctx.store.unanswered()?;
    if all.is_empty() {
        return Ok(Reply::text(ctx.t("faq_edit.unanswered_none", &[])));
    }
    let mut lines = vec![ctx.t("faq_edit.unanswered_title", &[("count", &all.len())])];
    for (i, u) in all.iter().take(UNANSWERED_SHOWN).enumerate() {
        lines.push(ctx.t("faq_edit.unanswered_line", &[("n", &(i + 1)), ("question", &u.question), ("count", &u.count), ("last", &ctx.local_time(u.last))]));
    }
    Ok(Reply::text(lines.join("\n")))
}

fn show_entry(ctx: &Ctx<'_>, e: &FaqEntry) -> String {
    let mut lines = vec![ctx.t("faq_edit.show_id", &[("id", &e.id)]), ctx.t("faq_edit.show_question", &[("value", &e.question)])];
    if !e.alternatives.is_empty() {
        lines.push(ctx.t("faq_edit.show_alternatives", &[("value", &e.alternatives.join("；"))]));
    }
    if !e.keywords.is_empty() {
        lines.push(ctx.t("faq_edit.show_keywords", &[("value", &e.keywords.join("；"))]));
    }
    lines.push(ctx.t("faq_edit.show_answer", &[("value", &e.answer)]));
    if !e.source.is_empty() {
        lines.push(ctx.t("faq_edit.show_source", &[("value", &e.source)]));
    }
    if !e.topic.is_empty() {
        lines.push(ctx.t("faq_edit.show_topic", &[("value", &e.topic)]));
    }
    lines.join("\n")
}

fn show_groups(groups: &[Vec<String>]) -> String {
    groups.iter().enumerate().map(|(i, g)| format!("{}. {}", i + 1, g.join(" = "))).collect::<Vec<_>>().join("\n")
}

/// Items separated by `；;|、，,` or spaces.
fn split_list(text: &str) -> Vec<String> {
    text.split(['；', ';', '|', '、', '，', ',', '\n'])
        .flat_map(|part| {
            // Spaces separate too, except inside an English phrase (`thought report`).
            if !part.is_ascii() {
                part.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
            } else {
                vec![part.trim().to_owned()]
            }
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The fields of an entry given in a message, one `名称：内容` per line; a line without a field
/// name continues the field before it (a long answer over several lines).
#[derive(Debug, Default)]
struct Fields {
    id: Option<String>,
    question: Option<String>,
    alternatives: Option<Vec<String>>,
    keywords: Option<Vec<String>>,
    answer: Option<String>,
    source: Option<String>,
    topic: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Question,
    Alternatives,
    Keywords,
    Answer,
    Source,
    Topic,
}

fn field_name(name: &str) -> Option<Field> {
    Some(match name.trim().to_lowercase().as_str() {
        "id" | "编号" => Field::Id,
        "问" | "问题" | "question" | "q" => Field::Question,
        "其他问法" | "问法" | "别名" | "alternatives" => Field::Alternatives,
        "关键词" | "keywords" => Field::Keywords,
        "答" | "答案" | "answer" | "a" => Field::Answer,
        "来源" | "出处" | "source" => Field::Source,
        "分类" | "主题" | "topic" => Field::Topic,
        _ => return None,
    })
}

fn parse_fields(text: &str) -> Result<Fields, CommandError> {
    let mut raw: Vec<(Field, String)> = Vec::new();
    for line in text.lines() {
        let split = line.find(['：', ':']).and_then(|at| {
            let sep = line[at..].chars().next().map_or(1, char::len_utf8);
            field_name(&line[..at]).map(|f| (f, line[at + sep..].trim().to_owned()))
        });
        match (split, raw.last_mut()) {
            (Some((field, value)), _) => raw.push((field, value)),
            (None, Some((_, value))) => {
                value.push('\n');
                value.push_str(line.trim_end());
            }
            (None, None) if line.trim().is_empty() => {}
            (None, None) => return Err(CommandError::FaqBadEntry(vec![line.trim().to_owned()])),
        }
    }
    let mut fields = Fields::default();
    for (field, value) in raw {
        let value = value.trim().to_owned();
        match field {
            Field::Id => fields.id = Some(value),
            Field::Question => fields.question = Some(value),
            Field::Alternatives => fields.alternatives = Some(split_list(&value)),
            Field::Keywords => fields.keywords = Some(split_list(&value)),
            Field::Answer => fields.answer = Some(value),
            Field::Source => fields.source = Some(value),
            Field::Topic => fields.topic = Some(value),
        }
    }
    Ok(fields)
}

impl Fields {
    fn is_empty(&self) -> bool {
        self.question.is_none()
            && self.alternatives.is_none()
            && self.keywords.is_none()
            && self.answer.is_none()
            && self.source.is_none()
            && self.topic.is_none()
    }

    fn apply_to(self, entry: &mut FaqEntry) {
        let set = |slot: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut entry.id, self.id);
        set(&mut entry.question, self.question);
        set(&mut entry.answer, self.answer);
        set(&mut entry.source, self.source);
        set(&mut entry.topic, self.topic);
        if let Some(v) = self.alternatives {
            entry.alternatives = v;
        }
        if let Some(v) = self.keywords {
            entry.keywords = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::testing::BotTester;

    fn committee() -> BotTester {
        let t = BotTester::new();
        t.set_role("wang", Role::Committee);
        t
    }

    #[test]
    fn subcommands_are_whole_first_words() {
        let t = BotTester::new();
        let found = |text: &str| match t.bot.registry().lookup(&crate::framework::parse_command(text).unwrap()) {
            crate::framework::Lookup::Found(found) => (found.spec.key, found.args),
            _ => panic!("{text}"),
        };
        assert_eq!(found("/faq 删除 x"), ("faq_delete", "x".to_owned()));
        assert_eq!(found("/问 删除党籍是什么意思"), ("faq", "删除党籍是什么意思".to_owned()));
        assert_eq!(found("/问 预备期多久"), ("faq", "预备期多久".to_owned()));
        assert_eq!(found("/faq 确认"), ("faq_confirm", String::new()));
        assert_eq!(found("/问添加\n问题：x"), ("faq_add", "问题：x".to_owned()), "glued to the command's name");
    }

    #[test]
    fn the_committee_adds_an_entry_that_is_answered_at_once() {
        let t = committee();
        let draft = t.dm("wang", "/faq 添加\n问题：支部活动室在哪里？\n其他问法：活动室在哪；党员之家在哪\n关键词：活动室\n答案：在学院楼 302，\n工作日 8:00-17:00 开放。\n来源：支部通知");
        assert!(draft.contains("custom-1") && draft.contains("/faq 确认"), "{draft}");
        // Not yet: a draft answers nothing.
        assert!(!t.dm("alice", "活动室在哪").contains("学院楼 302"));
        assert_eq!(t.dm("wang", "/faq 确认"), "已添加条目 custom-1，现在就能回答了。");
        let answer = t.say("alice", "/问 支部活动室在哪");
        assert!(answer.contains("在学院楼 302，\n工作日 8:00-17:00 开放。"), "{answer}");
        // Changed, then deleted; each step in the history with its author.
        t.dm("wang", "/faq 修改 custom-1\n答案：在学院楼 305。");
        t.dm("wang", "/faq 确认");
        assert!(t.say("alice", "/问 支部活动室在哪").contains("305"));
        t.dm("wang", "/faq 删除 custom-1");
        assert!(t.dm("wang", "/faq 确认").contains("已删除"));
        assert!(!t.say("alice", "/问 支部活动室在哪").contains("305"));
        let history = t.dm("wang", "/faq 历史 custom-1");
        let lines: Vec<&str> = history.lines().collect();
        assert_eq!(lines.len(), 4, "{history}");
        assert!(lines[1].contains("wang") && lines[1].contains("添加"), "{history}");
        assert!(lines[2].contains("修改") && lines[2].contains("答案"), "{history}");
        assert!(lines[3].contains("删除"), "{history}");
    }

    #[test]
    fn editing_is_for_the_committee_in_a_direct_chat() {
        let t = committee();
        assert!(t.dm("alice", "/faq 删除 probation-length").starts_with("只有"), "members may not edit");
        assert!(t.say("wang", "/faq 未答").contains("私聊"), "not in the group");
        assert_eq!(t.dm("wang", "/faq 确认"), t.bot.catalog().t("faq_edit.no_draft", &[]));
        assert!(t.dm("wang", "/faq 删除 no-such-entry").contains("no-such-entry"));
        // A broken entry is refused with its problems, nothing drafted.
        let refused = t.dm("wang", "/faq 添加\n问题：只有问题");
        assert!(refused.contains("empty answer") || refused.contains("答案"), "{refused}");
        assert_eq!(t.dm("wang", "/faq 确认"), t.bot.catalog().t("faq_edit.no_draft", &[]));
        // Cancel drops a draft.
        t.dm("wang", "/faq 删除 probation-length");
        assert_eq!(t.dm("wang", "/faq 取消"), t.bot.catalog().t("faq_edit.cancelled", &[]));
        assert!(t.say("alice", "/问 预备期多久").contains("一年"));
        // Without the slash, a direct message is a question, never an edit.
        t.dm("wang", "/faq 删除 probation-length");
        assert!(!t.dm("wang", "确认").contains("已删除"));
        assert_eq!(t.dm("wang", "/faq 取消"), t.bot.catalog().t("faq_edit.cancelled", &[]), "the draft was still waiting");
        assert!(t.say("alice", "/问 预备期多久").contains("一年"));
    }

    #[test]
    fn a_draft_made_stale_by_another_edit_is_refused() {
        let t = committee();
        t.set_role("li", Role::Secretary);
        t.dm("wang", "/faq 修改 probation-length\n答案：王的版本");
        t.dm("li", "/faq 修改 probation-length\n答案：李的版本");
        assert!(t.dm("li", "/faq 确认").contains("已修改"));
        assert_eq!(t.dm("wang", "/faq 确认"), t.bot.catalog().t("faq_edit.conflict", &[]));
        assert!(t.say("alice", "/问 预备期多久").contains("李的版本"));
    }

    #[test]
    fn synonyms_are_added_and_used() {
        let t = committee();
        assert!(!t.say("alice", "/问 观察阶段多久").contains("一年"));
        let draft = t.dm("wang", "/faq 同义词 添加 预备期 观察阶段");
        assert!(draft.contains("预备期 = 考察期 = probation = 观察阶段"), "{draft}");
        t.dm("wang", "/faq 确认");
        assert!(t.say("alice", "/问 观察阶段多久").contains("一年"));
        assert!(t.dm("wang", "/faq 同义词").contains("观察阶段"));
        assert!(t.dm("wang", "/faq 历史 同义词").contains("wang"));
    }

    #[test]
    fn unanswered_questions_are_listed_without_who_asked() {
        let t = committee();
        t.say("alice", "/问 食堂几点开门");
        t.dm("bob", "食堂几点开门");
        t.say("alice", "/问 预备期多久");
        let list = t.dm("wang", "/faq 未答");
        assert!(list.contains("食堂几点开门") && list.contains("2 次"), "{list}");
        assert!(!list.contains("alice") && !list.contains("bob") && !list.contains("预备期"), "{list}");
        assert!(t.dm("wang", "/faq 未答 清空").contains('1'));
        assert_eq!(t.dm("wang", "/faq 未答"), t.bot.catalog().t("faq_edit.unanswered_none", &[]));
    }

    #[test]
    fn concurrent_edits_and_questions_never_see_half_an_entry() {
        let t = committee();
        t.set_role("li", Role::Secretary);
        let answers = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            // Two committee members edit the same entry and add new ones while members ask.
            for (editor, other) in [("wang", "a"), ("li", "b")] {
                let t = &t;
                s.spawn(move || {
                    for round in 0..15 {
                        t.dm(editor, &format!("/faq 修改 probation-length\n答案：{editor}的第{round}版，预备期为一年。"));
                        t.dm(editor, "/faq 确认");
                        t.dm(editor, &format!("/faq 添加\nid：extra-{other}-{round}\n问题：第{round}号附加问题{other}？\n答案：附加答案{other}{round}"));
                        t.dm(editor, "/faq 确认");
                    }
                });
            }
            for asker in ["alice", "bob"] {
                let (t, answers) = (&t, &answers);
                s.spawn(move || {
                    for _ in 0..60 {
                        let reply = t.say(asker, "/问 预备期多久");
                        answers.lock().unwrap().push(reply);
                    }
                });
            }
        });
        // Every answer is one whole version of the entry: the shipped one or an editor's.
        for reply in answers.into_inner().unwrap() {
            let answer = reply.lines().find(|l| l.starts_with("答：")).unwrap_or_else(|| panic!("{reply}"));
            assert!(answer.contains("预备期为一年") || answer.contains("预备党员的预备期为一年"), "{reply}");
        }
        // Each confirmed change is in the history; the ones refused as stale are not.
        let history = t.bot.store().faq_history("entry:probation-length").unwrap();
        let last = t.bot.store().faq_entry("probation-length").unwrap().unwrap();
        assert!(history.len() >= 2, "{}", history.len());
        let FaqEdit::Put { entry, .. } = &history.last().unwrap().edit else { panic!() };
        assert_eq!(entry, &last);
        assert_eq!(t.bot.store().faq_entries().unwrap().iter().filter(|e| e.id.starts_with("extra-")).count(), 30);
        assert!(t.say("alice", "/问 第14号附加问题b").contains("附加答案b14"));
    }
}
