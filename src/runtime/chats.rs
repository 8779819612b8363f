//! The way every event goes: from an adapter's [`EventSink`](zhibu_chat::EventSink) into its
//! chat's queue, then handled and answered by that chat's worker.
//!
//! - Taking an event never waits ([`Router::route`]): over a member's or chat's rate limit it
//!   is dropped (the sender told once), behind a full backlog it is shed (the chat told once),
//!   else it is queued. An adapter's read loop therefore always reads on.
//! - Each chat with something queued has one worker task: events of a chat are handled in
//!   order, chats in parallel, and a slow chat (a platform's pacing, a send being retried) holds
//!   up no other.
//! - A worker handles what is queued, then sends the replies in order; a reply that confirms a
//!   write waits until the write is durable ([`GroupCommit`]), so the check-ins of a batch, and
//!   of every chat meanwhile, share their fsyncs.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{ChatId, Closed, Envelope, Event, Outgoing, Platform, Router};
use zhibu_commands::{Answer, Bot};

use super::limits::{Limits, RateLimiter, Verdict};
use crate::delivery::{send_with_retry, Adapters};
use crate::group_commit::GroupCommit;

/// Delays before the 2nd, 3rd and 4th attempt of a send that failed transiently.
const SEND_BACKOFF: [Duration; 3] = [Duration::from_millis(200), Duration::from_secs(1), Duration::from_secs(5)];
/// The most events a worker handles before it sends their replies.
const BATCH: usize = 32;

/// Something waiting in a chat's queue.
enum Item {
    Event(Envelope),
    /// A notice of the runtime's own (slow down, busy), sent in its turn.
    Notice(Outgoing),
}

#[derive(Default)]
struct ChatQueue {
    items: VecDeque<Item>,
    /// A worker is draining this queue.
    working: bool,
    /// The chat was told its backlog is full (once, until the queue empties).
    told_busy: bool,
}

/// Takes events from every adapter and runs each chat's worker.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    bot: Arc<Bot>,
    adapters: Adapters,
    commit: GroupCommit,
    limits: Limits,
    limiter: RateLimiter,
    /// Platforms of the operator's own session (the console): no rate limits.
    unlimited: Vec<Platform>,
    chats: Mutex<HashMap<ChatId, ChatQueue>>,
    workers: TaskTracker,
    closed: AtomicBool,
    /// Cancels sends being retried at shutdown.
    shutdown: CancellationToken,
}

impl Dispatcher {
    pub fn new(bot: Arc<Bot>, adapters: Adapters, commit: GroupCommit, limits: Limits, unlimited: Vec<Platform>, shutdown: CancellationToken) -> Self {
        let inner = Inner {
            bot,
            adapters,
            commit,
            limiter: RateLimiter::new(&limits),
            limits,
            unlimited,
            chats: Mutex::default(),
            workers: TaskTracker::new(),
            closed: AtomicBool::new(false),
            shutdown,
        };
        Self { inner: Arc::new(inner) }
    }

    /// Takes no more events; what is queued is still handled and answered.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.workers.close();
    }

    /// Resolves once every worker has finished what was queued (after [`Dispatcher::close`]).
    pub async fn drained(&self) {
        self.inner.workers.wait().await;
    }
}

impl Router for Dispatcher {
    fn route(&self, envelope: Envelope) -> Result<(), Closed> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::SeqCst) {
            return Err(Closed);
        }
        let event = &envelope.event;
        let addressed = inner.bot.is_addressed(event);
        if addressed && !inner.unlimited.contains(&event.chat().platform()) {
            if let Verdict::Deny { tell } = inner.limiter.check(event.user(), event.chat(), tokio::time::Instant::now()) {
                if tell {
                    tracing::warn!(user = %event.user(), chat = %event.chat(), "over the rate limit: answered again once the rate allows");
                    let _ = inner.enqueue(self, Item::Notice(inner.bot.slow_down_notice(event)), false);
                }
                return Ok(());
            }
        }
        if let Err(Shed { item, tell: true }) = inner.enqueue(self, Item::Event(envelope), true) {
            if let (Item::Event(envelope), true) = (*item, addressed) {
                let _ = inner.enqueue(self, Item::Notice(inner.bot.busy_notice(&envelope.event)), false);
            }
        }
        Ok(())
    }
}

/// An item that found no room, and whether its chat is to be told (the first time since its
/// queue last emptied).
struct Shed {
    item: Box<Item>,
    tell: bool,
}

impl Inner {
    /// Queues `item` in its chat and starts the chat's worker if it has none. A `bounded` item
    /// finds no room behind a full backlog and is given back.
    fn enqueue(&self, dispatcher: &Dispatcher, item: Item, bounded: bool) -> Result<(), Shed> {
        let chat = match &item {
            Item::Event(envelope) => envelope.event.chat().clone(),
            Item::Notice(notice) => notice.chat.clone(),
        };
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        let queue = chats.entry(chat.clone()).or_default();
        if bounded && queue.items.len() >= self.limits.backlog {
            let tell = !queue.told_busy;
            if tell {
                queue.told_busy = true;
                tracing::warn!(%chat, backlog = self.limits.backlog, "too much waiting in this chat; shedding new events until it drains");
            }
            return Err(Shed { item: Box::new(item), tell });
        }
        queue.items.push_back(item);
        if !queue.working {
            queue.working = true;
            let dispatcher = dispatcher.clone();
            // Spawned even after close(): what was queued before is still answered.
            self.workers.spawn(async move { dispatcher.work(chat).await });
        }
        Ok(())
    }
}

impl Dispatcher {
    /// Handles and answers `chat`'s queue until it is empty.
    async fn work(self, chat: ChatId) {
        let inner = &self.inner;
        loop {
            let batch: Vec<Item> = {
                let mut chats = inner.chats.lock().unwrap_or_else(|p| p.into_inner());
                let Some(queue) = chats.get_mut(&chat) else { return };
                if queue.items.is_empty() {
                    chats.remove(&chat);
                    return;
                }
                let n = queue.items.len().min(BATCH);
                queue.items.drain(..n).collect()
            };
            let answered: Vec<(Answer, Option<tokio::sync::oneshot::Sender<()>>)> = batch
                .into_iter()
                .map(|item| match item {
                    Item::Event(Envelope { event, done }) => (handle_guarded(&inner.bot, &event), done),
                    Item::Notice(notice) => (Answer { replies: vec![notice], confirms: None }, None),
                })
                .collect();
            for (answer, done) in answered {
                if let Some(ticket) = answer.confirms {
                    if let Err(e) = inner.commit.durable(ticket).await {
                        tracing::error!(%chat, error = %e, "a write was not made durable; its confirmation is not sent");
                        continue;
                    }
                }
                for reply in &answer.replies {
                    if let Err(e) = send_with_retry(&inner.adapters, reply, &SEND_BACKOFF, &inner.shutdown).await {
                        tracing::error!(chat = %reply.chat, error = %e, "reply not delivered");
                    }
                }
                drop(done);
            }
        }
    }
}

/// [`handle_once`], with a panic logged and answered with nothing instead of ending the worker.
fn handle_guarded(bot: &Bot, event: &Event) -> Answer {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle_once(bot, event))).unwrap_or_else(|_| {
        tracing::error!(chat = %event.chat(), "handling an event panicked");
        Answer::default()
    })
}

/// Handles an event unless the store says it was handled before (the platform delivered it
/// again, after a reconnect or a restart), then records it as handled: durably, after its own
/// writes, when its reply confirms a write (the reply then waits for the mark too), else in
/// memory. A duplicate is always behind the first in its chat's queue.
fn handle_once(bot: &Bot, event: &Event) -> Answer {
    let store = bot.store();
    if let Some(id) = event.id() {
        match store.was_handled(id) {
            Ok(true) => {
                tracing::info!(%id, "event handled before; dropped");
                return Answer::default();
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(%id, error = %e, "cannot check whether the event was handled"),
        }
    }
    let mut answer = bot.handle(event);
    if let Some(id) = event.id() {
        match answer.confirms {
            Some(ticket) => match store.mark_handled(id, chrono::Utc::now()) {
                Ok(mark) => answer.confirms = Some(ticket.and(mark)),
                Err(e) => tracing::warn!(%id, error = %e, "cannot record the event as handled"),
            },
            None => store.mark_handled_in_memory(id),
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    use zhibu_chat::{ChatKind, Incoming, MessageId, Sender, UserId};
    use zhibu_commands::domain::ManualClock;
    use zhibu_commands::testing::{at, reopen};
    use zhibu_commands::Settings;

    fn direct(id: &str, text: &str) -> Event {
        Event::Message(Incoming {
            chat: ChatId::parse("console:dm/alice").unwrap(),
            chat_kind: ChatKind::Direct,
            sender: Sender { id: UserId::parse("console:alice").unwrap(), display_name: "alice".into() },
            text: text.into(),
            mentions: Vec::new(),
            reply_to: None,
            id: MessageId::parse(id).unwrap(),
            timestamp: at("2026-11-25T09:00:00+08:00"),
            bare_commands: false,
        })
    }

    /// The bot over the store in `dir`, once sled's I/O threads have let go of a dropped one.
    fn open(dir: &std::path::Path) -> Bot {
        let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00+08:00")));
        let store = reopen(dir).unwrap();
        Bot::new(store, Settings::demo(), clock).unwrap()
    }

    /// A platform whose sends to alice's direct chat wait until the gate opens.
    struct Gated {
        platform: Platform,
        gate: tokio::sync::Semaphore,
        sent: Mutex<Vec<(String, String)>>,
    }

    #[async_trait::async_trait]
    impl zhibu_chat::Adapter for Gated {
        fn platform(&self) -> &Platform {
            &self.platform
        }

        async fn run(&self, _sink: zhibu_chat::EventSink, shutdown: CancellationToken) -> Result<(), zhibu_chat::AdapterError> {
            shutdown.cancelled().await;
            Ok(())
        }

        async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, zhibu_chat::SendError> {
            if message.chat.as_str() == "console:dm/alice" {
                let _ = self.gate.acquire().await.map(|permit| permit.forget());
            }
            self.sent.lock().unwrap().push((message.chat.to_string(), message.text.clone()));
            Ok(None)
        }
    }

    fn in_group(chat: &str, who: &str, id: &str, text: &str) -> Envelope {
        let Event::Message(mut incoming) = direct(id, text) else { unreachable!() };
        incoming.chat = ChatId::parse(chat).unwrap();
        incoming.chat_kind = ChatKind::Group;
        incoming.sender.id = UserId::parse(&format!("console:{who}")).unwrap();
        Envelope { event: Event::Message(incoming), done: None }
    }

    #[tokio::test]
    async fn a_full_backlog_sheds_with_one_notice_and_holds_up_no_other_chat() {
        let dir = tempfile::tempdir().unwrap();
        let bot = Arc::new(open(dir.path()));
        let adapter = Arc::new(Gated { platform: Platform::new("console").unwrap(), gate: tokio::sync::Semaphore::new(0), sent: Mutex::default() });
        let (commit, _flusher) = GroupCommit::start(bot.store().clone(), CancellationToken::new());
        let limits = Limits { backlog: 3, ..Limits::default() };
        let adapters = Adapters::new(&[adapter.clone() as Arc<dyn zhibu_chat::Adapter>]);
        // The console is the operator's session: no rate limits, so the backlog is what is tested.
        let dispatcher = Dispatcher::new(bot, adapters, commit, limits, vec![Platform::new("console").unwrap()], CancellationToken::new());
        let settle = || tokio::time::sleep(Duration::from_millis(100));
        let slow = |i: u32| Envelope { event: direct(&format!("console:s{i}"), &format!("/echo {i}")), done: None };
        // The first event's reply waits at the gate; three more fill the backlog; the rest are shed.
        for i in 0..8 {
            dispatcher.route(slow(i)).unwrap();
            if i == 0 {
                settle().await;
            }
        }
        // Another chat is answered at once meanwhile.
        dispatcher.route(in_group("console:group", "bob", "console:g1", "/echo 别的群")).unwrap();
        settle().await;
        assert_eq!(*adapter.sent.lock().unwrap(), [("console:group".to_owned(), "在线 ✓ 收到：「别的群」".to_owned())]);
        adapter.gate.add_permits(100);
        settle().await;
        let answered: Vec<String> = adapter.sent.lock().unwrap().iter().filter(|(c, _)| c == "console:dm/alice").map(|(_, t)| t.clone()).collect();
        let busy = "这里的消息有点多，我正在依次处理，请稍后再发新的命令。";
        assert_eq!(answered, ["在线 ✓ 收到：「0」", "在线 ✓ 收到：「1」", "在线 ✓ 收到：「2」", "在线 ✓ 收到：「3」", busy], "one notice for five shed");
        // Drained: the chat takes events again, and would be told again.
        dispatcher.route(slow(9)).unwrap();
        settle().await;
        assert_eq!(adapter.sent.lock().unwrap().last().unwrap().1, "在线 ✓ 收到：「9」");
        dispatcher.close();
        assert!(dispatcher.route(slow(10)).is_err(), "closed");
        dispatcher.drained().await;
    }

    #[test]
    fn an_event_delivered_again_is_handled_once_and_a_write_stays_handled_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let report = direct("console:event-1", "/思想汇报 本月学习体会");
        let echo = direct("console:event-2", "/echo 你好");
        {
            let bot = open(dir.path());
            let filed = handle_once(&bot, &report);
            assert!(filed.replies[0].text.starts_with("已收到你的思想汇报"));
            // The reply waits for the report and for the mark that it was handled.
            let ticket = filed.confirms.expect("the reply confirms a write");
            bot.store().flush().unwrap();
            assert!(bot.store().is_durable(ticket));
            let answered = handle_once(&bot, &echo);
            assert_eq!((answered.texts(), answered.confirms), (vec!["在线 ✓ 收到：「你好」"], None));
            // A reconnecting implementation sends both again.
            assert!(handle_once(&bot, &report).replies.is_empty());
            assert!(handle_once(&bot, &echo).replies.is_empty());
        }
        // After a restart the report is still known; the echo, which changed nothing, is answered again.
        let bot = open(dir.path());
        assert!(handle_once(&bot, &report).replies.is_empty());
        assert_eq!(handle_once(&bot, &echo).texts(), ["在线 ✓ 收到：「你好」"]);
        let branch = bot.settings().branches[0].id.clone();
        assert_eq!(bot.store().reports_by_author(&branch, &UserId::parse("console:alice").unwrap()).unwrap().len(), 1);
    }
}
