//! `BotTester`: the real bot over a temporary sled store and a manual clock, driven like a
//! conversation: `tester.say("alice", "/签到")` returns what the bot answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use zhibu_chat::{ChatId, ChatKind, Event, Incoming, Mention, MessageId, Sender, UserId};

use crate::domain::{ManualClock, Role};
use crate::{Bot, Settings};

/// The demo branch's group chat.
pub const GROUP: &str = "console:group";

pub struct BotTester {
    pub bot: Bot,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    next_id: AtomicU64,
}

impl BotTester {
    /// The demo settings (secretary `console:secretary`) at 2026-11-25 10:00 Beijing time.
    pub fn new() -> Self {
        Self::with_settings(Settings::demo())
    }

    pub fn with_settings(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::Store::open(&dir.path().join("data")).expect("store");
        let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00+08:00")));
        let bot = Bot::new(store, settings, clock.clone()).expect("bot");
        Self { bot, clock, _dir: dir, next_id: AtomicU64::new(1) }
    }

    fn incoming(&self, who: &str, chat: ChatId, kind: ChatKind, text: &str, mentions: Vec<Mention>) -> Event {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        Event::Message(Incoming {
            chat,
            chat_kind: kind,
            sender: Sender { id: user(who), display_name: who.to_owned() },
            text: text.to_owned(),
            mentions,
            reply_to: None,
            id: MessageId::parse(&format!("console:{n}")).expect("id"),
            timestamp: self.clock.now_utc(),
            bare_commands: false,
        })
    }

    fn reply(&self, event: Event) -> String {
        self.bot.handle(&event).texts().join("\n---\n")
    }

    /// `who` says `text` in the branch group; the bot's reply ("" when it says nothing).
    pub fn say(&self, who: &str, text: &str) -> String {
        self.reply(self.group_event(who, text))
    }

    /// The event of `who` saying `text` in the branch group, not yet handled.
    pub fn group_event(&self, who: &str, text: &str) -> Event {
        self.incoming(who, ChatId::parse(GROUP).expect("chat"), ChatKind::Group, text, Vec::new())
    }

    /// The event of `who` saying `text` to the bot in a direct chat, not yet handled.
    pub fn dm_event(&self, who: &str, text: &str) -> Event {
        let chat = ChatId::parse(&format!("console:dm/{who}")).expect("chat");
        self.incoming(who, chat, ChatKind::Direct, text, Vec::new())
    }

    /// `who` says `text` in the group chat `chat` (which may belong to no branch).
    pub fn say_in(&self, chat: &str, who: &str, text: &str) -> String {
        self.reply(self.say_in_event(chat, who, text))
    }

    /// The event of `who` saying `text` in the group chat `chat`, not yet handled.
    pub fn say_in_event(&self, chat: &str, who: &str, text: &str) -> Event {
        self.incoming(who, ChatId::parse(chat).expect("chat"), ChatKind::Group, text, Vec::new())
    }

    /// `who` says `text` to the bot in a direct chat.
    pub fn dm(&self, who: &str, text: &str) -> String {
        self.reply(self.dm_event(who, text))
    }

    /// `who` says `text` in the group, mentioning `mentioned`.
    pub fn say_mentioning(&self, who: &str, text: &str, mentioned: &str) -> String {
        let mention = Mention { user: user(mentioned), display_name: mentioned.to_owned() };
        self.reply(self.incoming(who, ChatId::parse(GROUP).expect("chat"), ChatKind::Group, text, vec![mention]))
    }

    /// Moves the clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Gives `who` a role directly in the store (enrolling them first).
    pub fn set_role(&self, who: &str, role: Role) {
        self.say(who, "");
        let branch = &self.bot.settings().branches[0].id;
        let mut m = self.bot.store().member(branch, &user(who)).expect("store").expect("enrolled");
        m.role = role;
        let _ = self.bot.store().put_member(&m).expect("store");
    }
}

impl Default for BotTester {
    fn default() -> Self {
        Self::new()
    }
}

/// A console user id.
/// Opens the store at `path` again once this process has let go of it: sled's I/O threads may
/// hold a dropped database's file lock for a moment after their last write.
pub fn reopen(path: &std::path::Path) -> Result<crate::store::Store, crate::store::StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match crate::store::Store::open(path) {
            Err(crate::store::StoreError::Locked { .. }) if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(10)),
            other => return other,
        }
    }
}

pub fn user(name: &str) -> UserId {
    UserId::parse(&format!("console:{name}")).expect("user id")
}

/// An instant from RFC 3339.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
}

impl ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        crate::domain::Clock::now(self)
    }
}
