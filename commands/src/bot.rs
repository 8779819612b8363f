//! The bot: turns one chat [`Event`] into the replies to send, with the write they confirm. It
//! finds the branch a chat belongs to, enrolls new members, parses the command, runs the
//! declared checks and the command, and renders errors through the catalog. It never calls an
//! adapter, never waits for the disk and needs no async runtime.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use zhibu_chat::{sanitize_text, ChatKind, Event, Incoming, Outgoing, RejectReason, Sender};

use crate::cmd;
use crate::domain::{Clock, Member, Role};
use crate::faq::{FaqIndex, FaqLibraryError, Thresholds, Verdict};
use crate::framework::{parse_command, Ctx, Found, Lookup, Registry, Reply};
use crate::i18n::{Catalog, CatalogError};
use crate::quiz::QuizBank;
use crate::settings::{BranchSettings, Settings};
use crate::shipped;
use crate::store::{Store, StoreError, Ticket};
use crate::study::StudyLibrary;

/// A message timestamp further in the future than this is not believed; "now" is used.
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("the shipped FAQ library is broken: {0}")]
    Library(#[from] FaqLibraryError),
    #[error("shipped content is broken: {0}")]
    Content(String),
}

/// What the FAQ says to one question, for `zhibu faq ask`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FaqAnswer {
    pub q: String,
    /// The answer text (also in the grey zone, where the bot offers it as "did you mean …?"),
    /// or `None` when the bot would say it does not know.
    pub answer: Option<String>,
    /// The best entry's id (also when not confident).
    pub id: Option<String>,
    pub score: f64,
    /// The best entry's question.
    pub question: Option<String>,
    /// `answer`, `suggest` (the grey zone: answered as "did you mean …?") or `unknown`.
    pub status: &'static str,
}

/// What the bot says to one event, and the write its words confirm: the replies go out once
/// `confirms` is durable (at once when it is `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub replies: Vec<Outgoing>,
    pub confirms: Option<Ticket>,
}

impl Answer {
    fn from_reply(reply: Option<(Outgoing, Option<Ticket>)>) -> Self {
        match reply {
            Some((reply, confirms)) => Answer { replies: vec![reply], confirms },
            None => Answer::default(),
        }
    }

    /// The replies' texts (for tests and tools).
    pub fn texts(&self) -> Vec<&str> {
        self.replies.iter().map(|r| r.text.as_str()).collect()
    }
}

pub struct Bot {
    store: Store,
    settings: Settings,
    catalog: Catalog,
    registry: Registry,
    faq: RwLock<FaqIndex>,
    /// The store's FAQ version the index was built from (see [`Store::faq_version`]).
    faq_built: std::sync::atomic::AtomicU64,
    study: StudyLibrary,
    quiz: QuizBank,
    clock: Arc<dyn Clock>,
}

impl Bot {
    /// Sets the bot up on a store: loads the shipped FAQ into a fresh store, makes the
    /// configured secretaries and committee members so, and builds the FAQ index.
    pub fn new(store: Store, settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, BotError> {
        let catalog = Catalog::load(settings.language)?;
        shipped::seed_faq(&store, clock.now())?;
        for branch in &settings.branches {
            seed_officers(&store, branch, clock.now())?;
        }
        store.flush()?;
        let faq_built = std::sync::atomic::AtomicU64::new(store.faq_version());
        let faq = RwLock::new(build_index(&store, settings.faq_thresholds)?);
        let study = StudyLibrary::shipped().map_err(BotError::Content)?;
        let quiz = QuizBank::shipped().map_err(BotError::Content)?;
        Ok(Self { store, settings, catalog, registry: Registry::new(cmd::ALL), faq, faq_built, study, quiz, clock })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn study(&self) -> &StudyLibrary {
        &self.study
    }

    pub fn quiz(&self) -> &QuizBank {
        &self.quiz
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Rebuilds the FAQ index from the store (after an import or edit).
    pub fn reload_faq(&self) -> Result<(), StoreError> {
        let version = self.store.faq_version();
        let index = build_index(&self.store, self.settings.faq_thresholds)?;
        let mut faq = self.faq.write().unwrap_or_else(|p| p.into_inner());
        *faq = index;
        self.faq_built.store(version, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// The FAQ index, rebuilt first if the library changed since it was built: an edit confirmed
    /// in one chat is answered in every chat from the next question on. Queries on other threads
    /// keep the old index until the new one is in place.
    fn faq_index(&self) -> std::sync::RwLockReadGuard<'_, FaqIndex> {
        if self.faq_built.load(std::sync::atomic::Ordering::Acquire) != self.store.faq_version() {
            if let Err(e) = self.reload_faq() {
                tracing::error!(error = %e, "rebuilding the FAQ index failed; answering from the previous one");
            }
        }
        self.faq.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the current FAQ index.
    pub fn with_faq<T>(&self, f: impl FnOnce(&FaqIndex) -> T) -> T {
        f(&self.faq_index())
    }

    /// Looks a question up in the FAQ, as `zhibu faq ask` reports it.
    pub fn ask(&self, question: &str) -> FaqAnswer {
        let faq = self.faq_index();
        let found = faq.search(question);
        let answered = found.verdict != Verdict::Unknown;
        FaqAnswer {
            q: question.to_owned(),
            answer: found.best.filter(|_| answered).map(|(e, _)| e.answer.trim().to_owned()),
            id: found.best.map(|(e, _)| e.id.clone()),
            score: found.best.map(|(_, s)| (s * 1000.0).round() / 1000.0).unwrap_or(0.0),
            question: found.best.map(|(e, _)| e.question.clone()),
            status: found.verdict.as_str(),
        }
    }

    /// Everything the bot says in answer to one event (often nothing), and the write it
    /// confirms.
    pub fn handle(&self, event: &Event) -> Answer {
        match event {
            // A branch group is a group however few members the platform counts in it, so a
            // report sent there is never treated as private.
            Event::Message(message) if message.chat_kind == ChatKind::Direct && self.settings.branch_of_group(&message.chat).is_some() => {
                let message = Incoming { chat_kind: ChatKind::Group, ..message.clone() };
                Answer::from_reply(self.handle_message(&message))
            }
            Event::Message(message) => Answer::from_reply(self.handle_message(message)),
            Event::Rejected { chat, reason, id, .. } => {
                let text = match reason {
                    RejectReason::InvalidEncoding => self.catalog.t("bot.rejected_encoding", &[]),
                    RejectReason::TooLong { limit_bytes } => self.catalog.t("bot.rejected_too_long", &[("limit", limit_bytes)]),
                    RejectReason::NotText => self.catalog.t("bot.rejected_not_text", &[]),
                };
                Answer { replies: vec![Outgoing { reply_to: id.clone(), ..Outgoing::text(chat.clone(), text) }], confirms: None }
            }
            Event::Reaction { user, target, key, timestamp, .. } => {
                if is_acknowledgement(key) {
                    if let Err(e) = self.store.acknowledge_push(target, user, *timestamp) {
                        tracing::error!(error = %e, "recording an acknowledgement failed");
                    }
                }
                Answer::default()
            }
            Event::Read { chat, user, at } => {
                if let Err(e) = self.store.read_up_to(chat, user, *at) {
                    tracing::error!(error = %e, "recording a read receipt failed");
                }
                Answer::default()
            }
        }
    }

    /// Whether `event` asks the bot for an answer: a command, a question in a direct chat, a
    /// message the adapter refused. Group talk, reactions and read receipts do not. The runtime
    /// counts only these against a member's rate limit.
    pub fn is_addressed(&self, event: &Event) -> bool {
        match event {
            Event::Message(message) => {
                let text = sanitize_text(&message.text);
                let command = parse_command(&text).is_some() || (message.bare_commands && self.keyword_command(&text).is_some());
                command || (message.chat_kind == ChatKind::Direct && !text.trim().is_empty())
            }
            Event::Rejected { .. } => true,
            Event::Reaction { .. } | Event::Read { .. } => false,
        }
    }

    /// The one notice a member gets when they send faster than the rate limit allows.
    pub fn slow_down_notice(&self, event: &Event) -> Outgoing {
        self.notice(event, "bot.slow_down")
    }

    /// The one notice a chat gets when more waits for the bot there than it keeps.
    pub fn busy_notice(&self, event: &Event) -> Outgoing {
        self.notice(event, "bot.busy")
    }

    fn notice(&self, event: &Event, key: &str) -> Outgoing {
        Outgoing { reply_to: event.id().cloned(), ..Outgoing::text(event.chat().clone(), self.catalog.t(key, &[])) }
    }

    fn handle_message(&self, message: &Incoming) -> Option<(Outgoing, Option<Ticket>)> {
        let text = sanitize_text(&message.text);
        let command = parse_command(&text).or_else(|| if message.bare_commands { self.keyword_command(&text) } else { None });
        let is_direct = message.chat_kind == ChatKind::Direct;
        // Plain talk in a group is not for the bot.
        if command.is_none() && (!is_direct || text.trim().is_empty()) {
            if !is_direct {
                // Still enroll the speaker: "any name becomes a member on first message".
                if let Some(branch) = self.settings.branch_of_group(&message.chat) {
                    if let Err(e) = self.member_for(branch, &message.sender) {
                        tracing::error!(error = %e, "enrolling a member failed");
                    }
                }
            }
            return None;
        }
        let reply = match self.branch_for(message) {
            Ok(Some(branch)) => self.reply_in_branch(branch, message, command.as_ref(), &text),
            Ok(None) if is_direct => Reply::text(self.catalog.t("bot.not_member", &[])),
            // A command in a group no branch claims: say how to link it rather than stay silent.
            Ok(None) => Reply::text(self.catalog.t("bot.group_not_linked", &[("chat", &message.chat)])),
            Err(e) => {
                tracing::error!(error = %e, "finding the branch failed");
                Reply::text(self.catalog.t("bot.internal_error", &[]))
            }
        };
        let outgoing = Outgoing {
            chat: message.chat.clone(),
            text: reply.text,
            mentions: reply.mentions,
            reply_to: Some(message.id.clone()),
            image: None,
            idempotency_key: None,
        };
        Some((outgoing, reply.confirms))
    }

    fn reply_in_branch(&self, branch: &BranchSettings, message: &Incoming, command: Option<&crate::framework::ParsedCommand<'_>>, text: &str) -> Reply {
        let member = match self.member_for(branch, &message.sender) {
            Ok(member) => member,
            Err(e) => {
                tracing::error!(error = %e, "loading the member failed");
                return Reply::text(self.catalog.t("bot.internal_error", &[]));
            }
        };
        let faq = self.faq_index();
        let ctx = Ctx {
            store: &self.store,
            catalog: &self.catalog,
            settings: &self.settings,
            branch,
            faq: &faq,
            study: &self.study,
            quiz: &self.quiz,
            registry: &self.registry,
            clock: self.clock.as_ref(),
            member,
            chat_kind: message.chat_kind,
            chat: message.chat.clone(),
            sent_at: self.believable(message.timestamp),
            mentions: &message.mentions,
        };
        let Some(command) = command else {
            // A direct message that is not a command is a question for the FAQ.
            return self.direct_question(&ctx, text);
        };
        match self.registry.lookup(command) {
            Lookup::Empty => Reply::text(self.catalog.t("parse.empty_command", &[])),
            Lookup::Unknown { name, suggestion: Some(suggestion) } => {
                Reply::text(self.catalog.t("parse.did_you_mean", &[("name", &name), ("suggestion", &suggestion)]))
            }
            Lookup::Unknown { name, suggestion: None } => Reply::text(self.catalog.t("parse.unknown", &[("name", &name)])),
            Lookup::Found(found) => match self.registry.run(&found, &ctx) {
                Ok(reply) => reply,
                Err(e) => Reply::text(e.render(&self.catalog, &found)),
            },
        }
    }

    /// On a platform without slash commands, a message whose first word is exactly a command's
    /// name is that command (`签到`, `积分 本周`); anything else stays a question for the FAQ. No
    /// glued names and no typo guesses here: `学习强国怎么用` must reach the FAQ, not `/学习`.
    fn keyword_command<'t>(&self, text: &'t str) -> Option<crate::framework::ParsedCommand<'t>> {
        crate::framework::parse_keyword(text).filter(|k| self.registry.by_name(k.name).is_some())
    }

    fn direct_question(&self, ctx: &Ctx<'_>, text: &str) -> Reply {
        let Some(faq) = self.registry.by_name("faq") else {
            return Reply::text(self.catalog.t("bot.direct_hint", &[]));
        };
        // Always a question: `确认` or `删除 …` typed without the slash is asked, never run as an
        // FAQ edit.
        let (mut reply, verdict) = match cmd::faq_question(ctx, text) {
            Ok(answered) => answered,
            Err(e) => (Reply::text(e.render(&self.catalog, &Found { spec: faq, parent: None, args: String::new() })), Verdict::Unknown),
        };
        if verdict != Verdict::Answer {
            reply.text.push('\n');
            reply.text.push_str(&self.catalog.t("bot.direct_hint", &[]));
        }
        reply
    }

    /// The message's own time, unless it claims to come from the future.
    fn believable(&self, sent: DateTime<Utc>) -> DateTime<Utc> {
        let now = self.clock.now();
        if sent > now + MAX_CLOCK_SKEW {
            now
        } else {
            sent
        }
    }

    /// The branch a message belongs to: its group's branch; for a direct chat, the branch the
    /// sender is a member of, or the one branch on the sender's platform that enrolls anyone.
    fn branch_for(&self, message: &Incoming) -> Result<Option<&BranchSettings>, StoreError> {
        if message.chat_kind == ChatKind::Group {
            return Ok(self.settings.branch_of_group(&message.chat));
        }
        let user = &message.sender.id;
        for id in self.store.branches_of(user)? {
            if let Some(branch) = self.settings.branch(&id) {
                return Ok(Some(branch));
            }
        }
        let platform = user.platform();
        let open: Vec<&BranchSettings> = self
            .settings
            .branches
            .iter()
            .filter(|b| b.auto_enroll && (b.direct_enroll.contains(&platform) || b.groups.iter().any(|g| g.platform() == platform)))
            .collect();
        Ok(if open.len() == 1 { Some(open[0]) } else { None })
    }

    /// The sender as a member of `branch`: enrolled on first contact when the branch enrolls
    /// anyone, kept up to date with their display name. Neither write waits for the disk: the
    /// member was not told anything, and their next message would write it again.
    fn member_for(&self, branch: &BranchSettings, sender: &Sender) -> Result<Member, StoreError> {
        let name = clean_name(&sender.display_name, sender);
        match self.store.member(&branch.id, &sender.id)? {
            Some(member) if member.name == *name => Ok(member),
            Some(member) => self.store.note_member(&Member { name: name.into_owned(), ..member }),
            None => {
                let member = Member {
                    branch: branch.id.clone(),
                    user: sender.id.clone(),
                    name: name.into_owned(),
                    role: configured_role(branch, sender).unwrap_or(branch.default_role),
                    joined_at: self.clock.now(),
                };
                if branch.auto_enroll || configured_role(branch, sender).is_some() {
                    self.store.note_member(&member)
                } else {
                    // Not enrolled: may ask questions and read help, nothing that is recorded.
                    Ok(Member { role: Role::Masses, ..member })
                }
            }
        }
    }
}

fn configured_role(branch: &BranchSettings, sender: &Sender) -> Option<Role> {
    if branch.secretaries.contains(&sender.id) {
        Some(Role::Secretary)
    } else if branch.committee.contains(&sender.id) {
        Some(Role::Committee)
    } else {
        None
    }
}

/// A display name fit for lists: sanitized, one line, at most 32 characters; the platform's
/// user id when the platform gives no usable name. Borrowed when the name is fit already, as
/// it is on almost every message.
fn clean_name<'a>(display: &'a str, sender: &Sender) -> Cow<'a, str> {
    if is_clean_name(display) {
        return Cow::Borrowed(display);
    }
    let name: String = sanitize_text(display).split_whitespace().collect::<Vec<_>>().join(" ").chars().take(32).collect();
    if name.is_empty() {
        Cow::Owned(sender.id.local().chars().take(32).collect())
    } else {
        Cow::Owned(name)
    }
}

/// Whether cleaning would leave `display` as it is: 1 to 32 characters, no control characters,
/// and no whitespace but single spaces between words.
fn is_clean_name(display: &str) -> bool {
    let mut after_space = true;
    for (n, c) in display.chars().enumerate() {
        if n == 32 || c.is_control() || (c.is_whitespace() && (c != ' ' || after_space)) {
            return false;
        }
        after_space = c == ' ';
    }
    !after_space
}

fn seed_officers(store: &Store, branch: &BranchSettings, now: DateTime<Utc>) -> Result<(), StoreError> {
    let officers = branch.secretaries.iter().map(|u| (u, Role::Secretary)).chain(branch.committee.iter().map(|u| (u, Role::Committee)));
    for (user, role) in officers {
        match store.member(&branch.id, user)? {
            Some(m) if m.role <= role => {}
            // Made durable by the caller's flush, before the bot answers anything.
            Some(mut m) => {
                m.role = role;
                let _ = store.put_member(&m)?;
            }
            None => {
                let _ = store.put_member(&Member {
                    branch: branch.id.clone(),
                    user: user.clone(),
                    name: user.local().chars().take(32).collect(),
                    role,
                    joined_at: now,
                })?;
            }
        }
    }
    Ok(())
}

fn build_index(store: &Store, thresholds: Thresholds) -> Result<FaqIndex, StoreError> {
    Ok(FaqIndex::build(store.faq_entries()?, &store.faq_rules()?, thresholds))
}

/// Whether a reaction means "acknowledged": a thumbs up in any skin tone, or `+1`.
fn is_acknowledgement(key: &str) -> bool {
    let key = key.trim().trim_end_matches('\u{fe0f}');
    key == "+1" || key.strip_prefix('👍').is_some_and(|rest| rest.chars().all(|c| ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)))
}

#[cfg(test)]
mod tests {
    use super::{clean_name, is_acknowledgement};
    use zhibu_chat::{ChatId, ChatKind, Event, RejectReason, Sender, UserId};

    use crate::testing::{user, BotTester};
    use crate::Settings;

    #[test]
    fn display_names_are_cleaned_the_same_with_or_without_the_shortcut() {
        let sender = Sender { id: UserId::parse("onebot:300001").unwrap(), display_name: String::new() };
        let slow = |d: &str| {
            let name: String = zhibu_chat::sanitize_text(d).split_whitespace().collect::<Vec<_>>().join(" ").chars().take(32).collect();
            if name.is_empty() {
                "300001".to_owned()
            } else {
                name
            }
        };
        let long = "长".repeat(32);
        let longer = "长".repeat(33);
        for d in [
            "王五",
            "Li Lei",
            "a b c",
            " 王五",
            "王五 ",
            "王  五",
            "王\t五",
            "王\n五",
            "\u{1b}[31m红\u{1b}[0m",
            "王\u{3000}五",
            "",
            "   ",
            "\u{7}",
            &long,
            &longer,
            "x",
        ] {
            let borrowed = matches!(clean_name(d, &sender), std::borrow::Cow::Borrowed(_));
            assert_eq!(clean_name(d, &sender), slow(d), "{d:?}");
            assert_eq!(borrowed, slow(d) == d && !d.is_empty(), "{d:?} borrowed: {borrowed}");
        }
    }

    #[test]
    fn a_reply_that_follows_a_write_carries_its_ticket_and_no_other_reply_does() {
        let t = BotTester::new();
        t.say("alice", "大家好");
        t.set_role("secretary", crate::domain::Role::Secretary);
        let renamed = |event: Event| match event {
            Event::Message(mut m) => {
                m.sender.display_name = "Alice Chen".into();
                Event::Message(m)
            }
            other => other,
        };
        // (event, its reply confirms a write, changes the roster)
        let cases = [
            (t.group_event("alice", "/echo hab1"), false, false),
            (t.group_event("alice", "/问 预备期多久"), false, false),
            (t.group_event("alice", "/问 明天食堂吃什么"), false, false),
            (t.group_event("alice", "/帮助"), false, false),
            (t.group_event("alice", "/积分"), false, false),
            (t.group_event("alice", "/签道"), false, false),
            (t.group_event("secretary", "/统计"), false, false),
            (t.dm_event("alice", "预备期多久"), false, false),
            (t.group_event("alice", "又是美好的一天"), false, false),
            (t.say_in_event("console:other", "carol", "/echo hi"), false, false),
            // A first message enrolls its sender, whatever it says; a new display name is noted.
            // Nobody is told, so nobody waits for it.
            (t.group_event("dave", "又是美好的一天"), false, true),
            (t.group_event("bob", "/echo hi"), false, true),
            (t.group_event("alice", "/签到"), true, false),
            (t.group_event("alice", "/签到"), false, false),
            (t.group_event("alice", "/思想汇报 本月体会"), true, false),
            (t.dm_event("secretary", "/角色 bob 预备党员"), true, true),
            (t.dm_event("secretary", "/提醒 明天 9:00 支部大会"), true, false),
            (t.dm_event("secretary", "/faq 删除 probation-length"), true, false),
            (t.dm_event("secretary", "/faq 确认"), true, false),
            (renamed(t.group_event("alice", "/echo hi")), false, true),
        ];
        let cs = crate::domain::BranchId::new("demo").unwrap();
        for (event, confirms, roster_changes) in cases {
            let store = t.bot.store();
            store.flush().unwrap();
            let (checksum, roster) = (store.checksum().unwrap(), store.members(&cs).unwrap());
            let answer = t.bot.handle(&event);
            assert!(!answer.replies.is_empty() || matches!(&event, Event::Message(m) if !m.text.starts_with('/')), "{event:?}");
            assert_eq!(store.members(&cs).unwrap() != roster, roster_changes, "{event:?}");
            match answer.confirms {
                Some(ticket) => {
                    assert!(confirms, "{event:?} wrote nothing a reply confirms, yet waits for the disk");
                    assert!(!store.is_durable(ticket), "{event:?}: the ticket is for a write made now");
                    store.flush().unwrap();
                    assert!(store.is_durable(ticket));
                }
                None => {
                    assert!(!confirms, "{event:?} confirmed a write without waiting for it to be durable");
                    if !roster_changes {
                        assert_eq!(store.checksum().unwrap(), checksum, "{event:?} wrote a record but its reply carries no ticket");
                    }
                }
            }
        }
        assert_eq!(t.bot.store().member(&cs, &user("alice")).unwrap().unwrap().name, "Alice Chen");
    }

    #[test]
    fn unknown_and_empty_commands_get_help() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", "/签道"), "没有 /签道 这个命令，你是不是想用 /签到？");
        assert_eq!(t.say("alice", "/chekin"), "没有 /chekin 这个命令，你是不是想用 /checkin？");
        assert_eq!(t.say("alice", "/xyzzy"), "没有 /xyzzy 这个命令。发送 /帮助 查看你可以使用的命令。");
        assert_eq!(t.say("alice", "/"), "请在 / 后面写上命令名，例如 /签到。发送 /帮助 查看全部命令。");
        assert_eq!(t.say("alice", "／　"), "请在 / 后面写上命令名，例如 /签到。发送 /帮助 查看全部命令。");
    }

    #[test]
    fn empty_whitespace_and_control_characters() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", ""), "");
        assert_eq!(t.dm("alice", "  \t "), "");
        assert!(t.say("alice", "\u{1b}[31m/签\u{7}到\u{0}").starts_with("签到成功"));
    }

    #[test]
    fn rejected_input_is_answered() {
        let t = BotTester::new();
        let rejected = |reason| Event::Rejected {
            chat: ChatId::parse("console:group").unwrap(),
            chat_kind: ChatKind::Group,
            sender: Sender { id: user("alice"), display_name: "alice".into() },
            reason,
            id: None,
        };
        let reply = t.bot.handle(&rejected(RejectReason::InvalidEncoding)).replies;
        assert_eq!(reply[0].text, "这条消息无法识别（不是有效的 UTF-8 文本），请重新输入。");
        let reply = t.bot.handle(&rejected(RejectReason::TooLong { limit_bytes: 262_144 })).replies;
        assert_eq!(reply[0].text, "这条消息太长了（超过 262144 字节），没有处理。");
        let reply = t.bot.handle(&rejected(RejectReason::NotText)).replies;
        assert_eq!(reply[0].text, "我暂时只能读懂文字消息，请把想说的用文字发给我。");
        // The answer quotes the message when it has an id (a WeChat reply finds its callback so).
        let id = zhibu_chat::MessageId::parse("console:m1").unwrap();
        let Event::Rejected { chat, chat_kind, sender, reason, .. } = rejected(RejectReason::NotText) else { unreachable!() };
        let reply = t.bot.handle(&Event::Rejected { chat, chat_kind, sender, reason, id: Some(id.clone()) }).replies;
        assert_eq!(reply[0].reply_to, Some(id));
    }

    #[test]
    fn a_branch_group_is_a_group_even_when_the_platform_says_direct() {
        let t = BotTester::new();
        let event = Event::Message(zhibu_chat::Incoming {
            chat: ChatId::parse("console:group").unwrap(),
            chat_kind: ChatKind::Direct,
            sender: Sender { id: user("alice"), display_name: "alice".into() },
            text: "/思想汇报 本月体会".into(),
            mentions: Vec::new(),
            reply_to: None,
            id: zhibu_chat::MessageId::parse("console:x1").unwrap(),
            timestamp: crate::testing::at("2026-11-25T10:00:00+08:00"),
            bare_commands: false,
        });
        let reply = t.bot.handle(&event).replies;
        assert!(reply[0].text.contains("以后请私聊我提交"), "{}", reply[0].text);
    }

    #[test]
    fn on_a_platform_without_slash_commands_a_keyword_is_the_command() {
        let mut settings = Settings::demo();
        settings.branches[0].direct_enroll = vec![zhibu_chat::Platform::new("wxoa").unwrap()];
        let t = BotTester::with_settings(settings);
        let says = |text: &str| {
            let event = Event::Message(zhibu_chat::Incoming {
                chat: ChatId::parse("wxoa:o_alice").unwrap(),
                chat_kind: ChatKind::Direct,
                sender: Sender { id: UserId::parse("wxoa:o_alice").unwrap(), display_name: String::new() },
                text: text.into(),
                mentions: Vec::new(),
                reply_to: None,
                id: zhibu_chat::MessageId::parse(&format!("wxoa:{text}")).unwrap(),
                timestamp: crate::testing::at("2026-11-25T10:00:00+08:00"),
                bare_commands: true,
            });
            t.bot.handle(&event).texts().concat()
        };
        // The follower is enrolled in the branch that takes the platform's direct chats.
        assert!(says("签到").starts_with("签到成功"), "{}", says("签到"));
        assert!(says(" 签到 ").contains("已经签到"));
        // Anything else is a question, even when it starts with a command's name.
        assert!(says("预备期多久").contains("一年"));
        assert!(!says("学习强国怎么用").contains("今日学习"));
        // The same words on a slash platform stay plain talk in a group.
        assert_eq!(t.say("alice", "签到"), "");
    }

    #[test]
    fn display_names_follow_the_platform() {
        let t = BotTester::new();
        t.say("alice", "hi");
        let branch = t.bot.settings().branches[0].id.clone();
        let mut m = t.bot.store().member(&branch, &user("alice")).unwrap().unwrap();
        m.name = "old".into();
        let _ = t.bot.store().put_member(&m).unwrap();
        t.say("alice", "hi again");
        assert_eq!(t.bot.store().member(&branch, &user("alice")).unwrap().unwrap().name, "alice");
    }

    #[test]
    fn without_auto_enroll_strangers_are_not_recorded() {
        let mut settings = Settings::demo();
        settings.branches[0].auto_enroll = false;
        let t = BotTester::with_settings(settings);
        assert_eq!(t.dm("stranger", "/签到"), "你还不是本支部的成员，请联系支部书记把你加入。");
        // In the group a stranger may ask and read help, but nothing is recorded for them.
        assert!(t.say("stranger", "/问 预备期多久").starts_with("问："));
        assert!(t.say("stranger", "/思想汇报 x").starts_with("只有"));
        let branch = t.bot.settings().branches[0].id.clone();
        assert!(t.bot.store().member(&branch, &user("stranger")).unwrap().is_none());
    }

    #[test]
    fn a_group_of_no_branch_is_told_how_to_link_it() {
        let t = BotTester::new();
        assert_eq!(
            t.say_in("console:elsewhere", "alice", "/签到"),
            "本群还没有关联到任何支部，暂时不能使用命令。请支部书记在配置文件的 [[branch]] groups 中加入本群（群 id：console:elsewhere）。"
        );
        // Chatter there is not for the bot, and nobody was enrolled or checked in.
        assert_eq!(t.say_in("console:elsewhere", "alice", "大家好"), "");
        assert_eq!(t.say("alice", "/签到"), "签到成功！本周已签到 1 天，已连续签到 1 天。");
    }

    #[test]
    fn thumbs_up_in_any_skin_tone_acknowledges() {
        for key in ["👍", "👍\u{fe0f}", "👍🏽", "+1"] {
            assert!(is_acknowledgement(key), "{key}");
        }
        for key in ["👎", "❤️", "👍👎", "ok"] {
            assert!(!is_acknowledgement(key), "{key}");
        }
    }

    #[test]
    fn english_catalog() {
        let mut settings = Settings::demo();
        settings.language = crate::i18n::Lang::En;
        let t = BotTester::with_settings(settings);
        assert_eq!(t.say("alice", "/checkin"), "Checked in! 1 day(s) this week, a streak of 1 day(s).");
        assert_eq!(t.say("alice", "/stats"), "Only secretary, committee member can use /stats.");
    }
}
