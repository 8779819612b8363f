//! The runtime: wires adapters to the bot.
//!
//! adapter → [`EventSink`] → the [`Dispatcher`], on the adapter's own task: an event that only
//! reads is answered there when nothing of its shard is queued; any other goes to its shard's
//! queue (chats are spread over shards: order within a chat, chats in parallel) and is handled
//! on the shard's own thread (the store fsyncs). Either way an event whose id is recorded as
//! handled is dropped (a duplicate is always behind the first in its chat's queue). → the
//! shard's sender sends each reply through the adapter of its platform, in order, retrying
//! transient failures. Shutdown: the token is cancelled (signal, or the console's input ended),
//! adapters stop reading, queued events are still handled and answered, the store is flushed.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{Adapter, AdapterError, Envelope, Event, EventSink, Hurry, Refused, RouteFuture, Router};
use zhibu_commands::Bot;

use crate::delivery::{send_with_retry, Adapters};
use crate::scheduler::{JobSpec, Scheduler};

/// An adapter could not start (a wrong password, say): the bot stops with this message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Chats are spread over this many queues; each handles its events one at a time, in order.
const SHARDS: usize = 2;
/// Delays before the 2nd, 3rd and 4th attempt of a send that failed transiently.
const SEND_BACKOFF: [Duration; 3] = [Duration::from_millis(200), Duration::from_secs(1), Duration::from_secs(5)];
/// How long shutdown waits for queued events to be handled.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the bot with `adapters` and the scheduled `jobs` until `shutdown` is cancelled or a
/// session-ending adapter stops.
pub async fn run(bot: Arc<Bot>, adapters: Vec<Arc<dyn Adapter>>, jobs: Vec<JobSpec>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    let by_platform = Adapters::new(&adapters);
    let scheduler = Scheduler::new(bot.clone(), jobs, by_platform.clone(), Arc::new(zhibu_commands::domain::SystemClock));
    let scheduler_done = start_scheduler(scheduler, shutdown.clone())?;

    let mut shards = Vec::with_capacity(SHARDS);
    for i in 0..SHARDS {
        let (queue, queue_rx) = mpsc::channel::<Envelope>(256);
        let (replies, replies_rx) = mpsc::channel::<Handled>(256);
        let pending = Arc::new(AtomicUsize::new(0));
        let handler = ShardHandler { bot: bot.clone(), queue: queue_rx, replies: replies.clone(), pending: pending.clone() };
        std::thread::Builder::new()
            .name(format!("zhibu-shard-{i}"))
            .spawn(move || handler.run())
            .context("starting a handler thread")?;
        tracker.spawn(shard_sender(by_platform.clone(), replies_rx, shutdown.clone()));
        shards.push(Shard { queue, replies, pending });
    }
    tracker.close();
    let router = Arc::new(Dispatcher { bot: bot.clone(), shards: RwLock::new(Some(shards)) });

    let mut adapter_tasks = Vec::new();
    for adapter in adapters {
        let sink = EventSink::routed(router.clone());
        let token = shutdown.clone();
        adapter_tasks.push(tokio::spawn(async move {
            let platform = adapter.platform().clone();
            let result = adapter.run(sink, token.child_token()).await;
            if adapter.ends_session() {
                token.cancel();
            }
            match result {
                Ok(()) => tracing::info!(%platform, "adapter stopped"),
                Err(zhibu_chat::AdapterError::Startup(message)) => {
                    token.cancel();
                    return Some(message);
                }
                Err(e) => tracing::error!(%platform, error = %e, "adapter failed"),
            }
            None
        }));
    }

    let pruning = bot.store().clone();
    match tokio::task::spawn_blocking(move || pruning.prune_handled(chrono::Utc::now() - chrono::Duration::days(HANDLED_RETENTION_DAYS))).await {
        Ok(Err(e)) => tracing::warn!(error = %e, "pruning old handled-event ids failed"),
        Err(e) => tracing::warn!(error = %e, "pruning old handled-event ids failed"),
        Ok(Ok(_)) => {}
    }
    // Events keep flowing until every adapter has stopped.
    let mut startup_failure = None;
    for task in adapter_tasks {
        match task.await {
            Ok(Some(message)) => startup_failure = Some(message),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "an adapter's task failed; stopping");
                shutdown.cancel();
            }
        }
    }
    // What is queued is still handled and answered, then the handler threads and the senders end,
    // even if an adapter's library keeps a sink alive (matrix-sdk keeps its event handlers).
    router.close();
    match scheduler_done.await {
        Ok(Err(e)) => tracing::error!(error = %e, "the scheduler stopped with an error"),
        Err(_) => tracing::error!("the scheduler's thread failed"),
        Ok(Ok(())) => {}
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait()).await.is_err() {
        tracing::warn!("shutdown: some replies were still being sent after {DRAIN_TIMEOUT:?}");
    }
    let store = bot.store().clone();
    tokio::task::spawn_blocking(move || store.flush_all()).await?.context("flushing the store at shutdown")?;
    match startup_failure {
        Some(message) => Err(StartupError(message).into()),
        None => Ok(()),
    }
}

/// Runs the scheduler on a thread and runtime of its own until `shutdown`; the receiver gets its
/// outcome. Its sleeps (until the next job, hours away) are then timers of that runtime: a tokio
/// runtime with any timer pending waits for the network with a timeout, which the kernel arms
/// and cancels around every wait, twice per OneBot message (see `zhibu_onebot`'s ticker). Its
/// sends reach the adapters through their channels like any other caller's.
fn start_scheduler(scheduler: Scheduler, shutdown: CancellationToken) -> anyhow::Result<tokio::sync::oneshot::Receiver<anyhow::Result<()>>> {
    let (done, outcome) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("zhibu-scheduler".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the scheduler's runtime")
                .and_then(|rt| rt.block_on(scheduler.run(shutdown)).map_err(anyhow::Error::from));
            let _ = done.send(result);
        })
        .context("starting the scheduler's thread")?;
    Ok(outcome)
}

/// Takes each event to its shard, on the task of the adapter that received it: answered there
/// when it needs no fsync and nothing of its shard is waiting (no queue, no task switch), else
/// queued for the shard's handler thread.
struct Dispatcher {
    bot: Arc<Bot>,
    /// `None` once every adapter has stopped: dropping the queues' senders lets the handler
    /// threads and the senders drain what is queued and end.
    shards: RwLock<Option<Vec<Shard>>>,
}

impl Dispatcher {
    fn shards(&self) -> std::sync::RwLockReadGuard<'_, Option<Vec<Shard>>> {
        self.shards.read().unwrap_or_else(|p| p.into_inner())
    }

    fn close(&self) {
        *self.shards.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether `event` is answered on the caller's task: only behind nothing (an event queued
    /// earlier in the chat is answered first), and only when it cannot fsync.
    fn answers_inline(&self, shard: &Shard, event: &Event) -> bool {
        shard.pending.load(Ordering::Acquire) == 0
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.bot.answers_without_fsync(event))).unwrap_or(false)
    }

    /// Handles an event that only reads, here, and hands its replies to the shard's sender.
    fn answer(&self, room: mpsc::Permit<'_, Handled>, envelope: Envelope) {
        room.send((handle_guarded(&self.bot, &envelope.event, Marks::InMemory), envelope.done));
    }
}

impl Router for Dispatcher {
    fn try_route(&self, envelope: Envelope) -> Result<(), Refused> {
        let shards = self.shards();
        let Some(shards) = shards.as_ref() else { return Err(Refused::Closed) };
        let shard = &shards[shard_of(&envelope.event)];
        if self.answers_inline(shard, &envelope.event) {
            // Room for the replies first: the event cannot be given back once handled.
            let permit = match shard.replies.try_reserve() {
                Ok(permit) => permit,
                Err(mpsc::error::TrySendError::Full(())) => return Err(Refused::Full(Box::new(envelope))),
                Err(mpsc::error::TrySendError::Closed(())) => return Err(Refused::Closed),
            };
            self.answer(permit, envelope);
            return Ok(());
        }
        shard.pending.fetch_add(1, Ordering::AcqRel);
        shard.queue.try_send(envelope).map_err(|e| {
            shard.pending.fetch_sub(1, Ordering::AcqRel);
            Refused::from(e)
        })
    }

    fn route(&self, envelope: Envelope) -> RouteFuture<'_> {
        Box::pin(async move {
            let shard = match self.shards().as_ref() {
                Some(shards) => shards[shard_of(&envelope.event)].clone(),
                None => return Err(AdapterError::Closed),
            };
            if self.answers_inline(&shard, &envelope.event) {
                let permit = shard.replies.reserve().await.map_err(|_| AdapterError::Closed)?;
                self.answer(permit, envelope);
                return Ok(());
            }
            shard.pending.fetch_add(1, Ordering::AcqRel);
            shard.queue.send(envelope).await.map_err(|_| {
                shard.pending.fetch_sub(1, Ordering::AcqRel);
                AdapterError::Closed
            })
        })
    }
}

fn shard_of(event: &Event) -> usize {
    (rustc_hash::FxBuildHasher.hash_one(event.chat()) % SHARDS as u64) as usize
}

/// The replies to one event, and the event's done signal (dropped once they are sent).
type Handled = (Vec<zhibu_chat::Outgoing>, Option<tokio::sync::oneshot::Sender<()>>);

/// One queue of chats. Events that may write go to its handler thread, because the store may
/// fsync; events that only read are answered on the adapter's task when nothing of the shard is
/// waiting for the handler (no thread switch, no wakeup of its own). Both hand their replies to
/// the shard's one sender, so a chat's replies keep their order.
#[derive(Clone)]
struct Shard {
    queue: mpsc::Sender<Envelope>,
    replies: mpsc::Sender<Handled>,
    /// Events queued for the handler and not yet handed to the sender.
    pending: Arc<AtomicUsize>,
}

struct ShardHandler {
    bot: Arc<Bot>,
    queue: mpsc::Receiver<Envelope>,
    replies: mpsc::Sender<Handled>,
    pending: Arc<AtomicUsize>,
}

impl ShardHandler {
    /// Takes events in order and hands their replies to the shard's sender. Under load it drains
    /// its queue without sleeping between events, so an event costs no thread switch of its own.
    fn run(mut self) {
        while let Some(Envelope { event, done }) = self.queue.blocking_recv() {
            let out = handle_guarded(&self.bot, &event, Marks::Durable);
            let sent = self.replies.blocking_send((out, done));
            self.pending.fetch_sub(1, Ordering::AcqRel);
            if sent.is_err() {
                return;
            }
        }
    }
}

/// How an event is recorded as handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marks {
    /// In the store, for an event that may write: a redelivery after a restart is dropped.
    Durable,
    /// In memory, for an event that only reads: a redelivery after a restart repeats a reply.
    InMemory,
}

/// [`handle_once`], with a panic logged and answered with nothing instead of ending the shard.
fn handle_guarded(bot: &Bot, event: &Event, marks: Marks) -> Vec<zhibu_chat::Outgoing> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle_once(bot, event, marks))).unwrap_or_else(|_| {
        tracing::error!(chat = %event.chat(), "handling an event panicked");
        Vec::new()
    })
}

/// One shard's sender: sends the replies of each handled event in order, then signals it done.
///
/// A reply with nothing queued behind it is sent unhurried: its confirmation may wait for the
/// platform's next traffic ([`Adapter::send_unhurried`]: for OneBot, one wakeup per message
/// instead of two). Whatever is queued meanwhile makes the sender say [`Hurry::now`], so the
/// next reply never waits behind a confirmation nobody has read.
async fn shard_sender(adapters: Adapters, mut handled: mpsc::Receiver<Handled>, shutdown: CancellationToken) {
    // Taken from the queue while a reply was being sent; `None` inside once the queue has closed.
    let mut taken: Option<Option<Handled>> = None;
    loop {
        let next = match taken.take() {
            Some(next) => next,
            None => handled.recv().await,
        };
        let Some((replies, done)) = next else { return };
        let last = replies.len().saturating_sub(1);
        for (i, reply) in replies.iter().enumerate() {
            let result = if i == last && handled.is_empty() && !handled.is_closed() {
                let hurry = Hurry::new();
                let sending = send_with_retry(&adapters, reply, &SEND_BACKOFF, &shutdown, Some(&hurry));
                tokio::pin!(sending);
                tokio::select! {
                    biased;
                    result = &mut sending => result,
                    more = handled.recv() => {
                        hurry.now();
                        taken = Some(more);
                        sending.await
                    }
                }
            } else {
                send_with_retry(&adapters, reply, &SEND_BACKOFF, &shutdown, None).await
            };
            if let Err(e) = result {
                tracing::error!(chat = %reply.chat, error = %e, "reply not delivered");
            }
        }
        drop(done);
    }
}

/// Handles an event unless the store says it was handled before (the platform delivered it
/// again, after a reconnect or a restart), then records it as handled. A crash between the two
/// handles it again on redelivery; the commands are written so that this is harmless (one
/// check-in a day).
fn handle_once(bot: &Bot, event: &Event, marks: Marks) -> Vec<zhibu_chat::Outgoing> {
    let store = bot.store();
    if let Some(id) = event.id() {
        // An event that only reads is recorded in memory only, so memory is all there is to ask;
        // one that may write is also looked up in the store (a redelivery after a restart).
        let handled = match marks {
            Marks::InMemory => Ok(store.was_handled_in_memory(id)),
            Marks::Durable => store.was_handled(id),
        };
        match handled {
            Ok(true) => {
                tracing::info!(%id, "event handled before a restart; dropped");
                return Vec::new();
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(%id, error = %e, "cannot check whether the event was handled"),
        }
    }
    let replies = bot.handle(event);
    if let Some(id) = event.id() {
        match marks {
            Marks::InMemory => store.mark_handled_in_memory(id),
            Marks::Durable => {
                if let Err(e) = store.mark_handled(id, chrono::Utc::now()) {
                    tracing::warn!(%id, error = %e, "cannot record the event as handled");
                }
            }
        }
    }
    replies
}

/// Forgets handled-event ids older than this; no platform redelivers that far back.
const HANDLED_RETENTION_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    use zhibu_chat::{ChatId, ChatKind, Incoming, MessageId, Sender, UserId};
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

    fn in_group(id: &str, text: &str) -> Event {
        let Event::Message(mut incoming) = direct(id, text) else { unreachable!() };
        incoming.chat = ChatId::parse("console:group").unwrap();
        incoming.chat_kind = ChatKind::Group;
        Event::Message(incoming)
    }

    fn envelope(event: Event) -> Envelope {
        Envelope { event, done: None }
    }

    /// The texts of the replies handed to a shard's sender so far.
    fn answered(replies: &mut mpsc::Receiver<Handled>) -> Vec<String> {
        std::iter::from_fn(|| replies.try_recv().ok()).flat_map(|(out, _)| out).map(|o| o.text).collect()
    }

    #[tokio::test]
    async fn a_reading_event_is_answered_at_once_unless_its_shard_has_events_queued_and_a_closed_router_takes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bot = Arc::new(open(dir.path()));
        let (queue, mut queue_rx) = mpsc::channel(1);
        let (replies, mut replies_rx) = mpsc::channel(8);
        let shard = Shard { queue, replies, pending: Arc::new(AtomicUsize::new(0)) };
        // Every chat in the one shard under test.
        let router = Dispatcher { bot, shards: RwLock::new(Some(vec![shard.clone(), shard.clone()])) };

        router.try_route(envelope(in_group("console:e1", "/echo 一"))).unwrap();
        assert_eq!(answered(&mut replies_rx), ["在线 ✓ 收到：「一」"], "answered on the caller's task");

        // A check-in writes: it waits for the shard's thread, and so does the echo behind it.
        router.try_route(envelope(in_group("console:e2", "/签到"))).unwrap();
        let Err(Refused::Full(echo)) = router.try_route(envelope(in_group("console:e3", "/echo 二"))) else {
            panic!("the echo overtook the check-in queued before it")
        };
        assert!(answered(&mut replies_rx).is_empty());
        let waiting = router.route(*echo);
        tokio::pin!(waiting);
        assert!(tokio::time::timeout(Duration::from_millis(50), &mut waiting).await.is_err(), "a full queue is waited on");
        let first = queue_rx.recv().await.unwrap();
        assert!(matches!(&first.event, Event::Message(m) if m.text == "/签到"));
        waiting.await.unwrap();
        assert!(matches!(&queue_rx.recv().await.unwrap().event, Event::Message(m) if m.text == "/echo 二"));
        assert_eq!(shard.pending.load(Ordering::Acquire), 2);

        router.close();
        assert!(matches!(router.try_route(envelope(in_group("console:e4", "/echo 三"))), Err(Refused::Closed)));
        assert!(matches!(router.route(envelope(in_group("console:e5", "/echo 四"))).await, Err(AdapterError::Closed)));
        drop(shard);
        assert!(queue_rx.recv().await.is_none(), "the handler's queue ends once the router is closed");
    }

    #[test]
    fn an_event_delivered_again_is_handled_once_and_a_write_stays_handled_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let report = direct("console:event-1", "/思想汇报 本月学习体会");
        let echo = direct("console:event-2", "/echo 你好");
        {
            let bot = open(dir.path());
            assert!(handle_once(&bot, &report, Marks::Durable)[0].text.starts_with("已收到你的思想汇报"));
            assert_eq!(handle_once(&bot, &echo, Marks::InMemory)[0].text, "在线 ✓ 收到：「你好」");
            // A reconnecting implementation sends both again.
            assert!(handle_once(&bot, &report, Marks::Durable).is_empty());
            assert!(handle_once(&bot, &echo, Marks::InMemory).is_empty());
            bot.store().flush().unwrap();
        }
        // After a restart the report is still known; the echo, which changed nothing, is answered again.
        let bot = open(dir.path());
        assert!(handle_once(&bot, &report, Marks::Durable).is_empty());
        assert_eq!(handle_once(&bot, &echo, Marks::InMemory)[0].text, "在线 ✓ 收到：「你好」");
        let branch = bot.settings().branches[0].id.clone();
        assert_eq!(bot.store().reports_by_author(&branch, &UserId::parse("console:alice").unwrap()).unwrap().len(), 1);
    }

    /// An adapter whose confirmations of unhurried sends never come until the sender hurries,
    /// like a OneBot response waiting unread for the next event.
    struct Unconfirmed {
        platform: zhibu_chat::Platform,
        /// Each send's text, and whether it was sent unhurried.
        sent: std::sync::Mutex<Vec<(String, bool)>>,
    }

    #[async_trait::async_trait]
    impl Adapter for Unconfirmed {
        fn platform(&self) -> &zhibu_chat::Platform {
            &self.platform
        }

        async fn run(&self, _sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
            shutdown.cancelled().await;
            Ok(())
        }

        async fn send(&self, message: &zhibu_chat::Outgoing) -> Result<Option<MessageId>, zhibu_chat::SendError> {
            self.sent.lock().unwrap().push((message.text.clone(), false));
            Ok(None)
        }

        async fn send_unhurried(&self, message: &zhibu_chat::Outgoing, hurry: &Hurry) -> Result<Option<MessageId>, zhibu_chat::SendError> {
            self.sent.lock().unwrap().push((message.text.clone(), true));
            hurry.wanted().await;
            Ok(None)
        }
    }

    #[tokio::test]
    async fn a_reply_with_nothing_behind_it_is_sent_unhurried_and_the_next_never_waits_behind_its_confirmation() {
        let adapter = Arc::new(Unconfirmed { platform: zhibu_chat::Platform::new("console").unwrap(), sent: Default::default() });
        let (handled, handled_rx) = mpsc::channel::<Handled>(8);
        let sender = tokio::spawn(shard_sender(Adapters::new(&[adapter.clone() as Arc<dyn Adapter>]), handled_rx, CancellationToken::new()));
        let reply = |text: &str| zhibu_chat::Outgoing::text(ChatId::parse("console:group").unwrap(), text);
        let sent = || adapter.sent.lock().unwrap().clone();
        let settle = || tokio::time::sleep(Duration::from_millis(50));

        let (done, first_done) = tokio::sync::oneshot::channel();
        handled.send((vec![reply("一")], Some(done))).await.unwrap();
        settle().await;
        assert_eq!(sent(), [("一".to_owned(), true)], "the last reply with nothing behind it goes unhurried");
        // Two replies to the next event: the first of them is in a hurry (another follows it), and
        // their arrival hurries the one before.
        handled.send((vec![reply("二"), reply("三")], None)).await.unwrap();
        settle().await;
        assert_eq!(sent(), [("一".to_owned(), true), ("二".to_owned(), false), ("三".to_owned(), true)]);
        assert!(first_done.await.is_err(), "the first event is done once its reply is confirmed");
        // The queue closes (shutdown): the last confirmation is hurried, and the sender ends.
        drop(handled);
        tokio::time::timeout(Duration::from_secs(1), sender).await.expect("the sender waited on a confirmation after its queue closed").unwrap();
    }
}
