//! The runtime: wires adapters to the bot.
//!
//! adapter → [`Envelope`] → one queue per shard of chats (order within a chat, chats in
//! parallel) → `Bot::handle` on the shard's own thread (the store fsyncs), or on the I/O thread
//! for an event that only reads when nothing of its shard is queued, unless the event's id is
//! recorded as handled (a duplicate is always behind the first in its chat's queue) → the
//! outbox sends each reply through the adapter of its platform, retrying transient failures. Shutdown: the token is cancelled (signal, or the console's input ended),
//! adapters stop reading, queued events are still handled, the store is flushed.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{Adapter, Envelope, Event, EventSink};
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
    let (tx, rx) = mpsc::channel::<Envelope>(1024);
    let by_platform = Adapters::new(&adapters);
    let scheduler = Scheduler::new(bot.clone(), jobs, by_platform.clone(), Arc::new(zhibu_commands::domain::SystemClock));
    let scheduler_stop = shutdown.clone();
    let scheduler_task = tokio::spawn(async move { scheduler.run(scheduler_stop).await });

    let mut adapter_tasks = Vec::new();
    for adapter in adapters {
        let sink = EventSink::new(tx.clone());
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
    drop(tx);
    // When every adapter has stopped, what is queued is still handled, then the loop ends, even if
    // an adapter's library keeps a sender alive (matrix-sdk keeps its event handlers).
    let adapters_done = CancellationToken::new();
    let collector = {
        let done = adapters_done.clone();
        tokio::spawn(async move {
            let mut startup_failure = None;
            for task in adapter_tasks {
                if let Ok(Some(message)) = task.await {
                    startup_failure = Some(message);
                }
            }
            done.cancel();
            startup_failure
        })
    };

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

    let pruning = bot.store().clone();
    match tokio::task::spawn_blocking(move || pruning.prune_handled(chrono::Utc::now() - chrono::Duration::days(HANDLED_RETENTION_DAYS))).await {
        Ok(Err(e)) => tracing::warn!(error = %e, "pruning old handled-event ids failed"),
        Err(e) => tracing::warn!(error = %e, "pruning old handled-event ids failed"),
        Ok(Ok(_)) => {}
    }
    // Events keep flowing until every adapter has stopped and the queue is empty. The loop is a
    // task of its own rather than part of the caller's future: a runtime's `block_on` future is
    // woken through a flag that costs the thread an extra poll of the I/O driver per event.
    let dispatching = bot.clone();
    let dispatch = tokio::spawn(async move {
        dispatch(&dispatching, rx, &shards, adapters_done).await;
        shards
    });
    // Should the loop ever fail, everything stops as on a signal: replies drain, the store is
    // flushed, and the run ends with the error.
    let (shards, loop_failure) = match dispatch.await {
        Ok(shards) => (Some(shards), None),
        Err(e) => {
            shutdown.cancel();
            (None, Some(e))
        }
    };
    let startup_failure = collector.await.ok().flatten();
    match scheduler_task.await {
        Ok(Err(e)) => tracing::error!(error = %e, "the scheduler stopped with an error"),
        Err(e) => tracing::error!(error = %e, "the scheduler task failed"),
        Ok(Ok(())) => {}
    }
    drop(shards);
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait()).await.is_err() {
        tracing::warn!("shutdown: some replies were still being sent after {DRAIN_TIMEOUT:?}");
    }
    let store = bot.store().clone();
    tokio::task::spawn_blocking(move || store.flush_all()).await?.context("flushing the store at shutdown")?;
    if let Some(e) = loop_failure {
        return Err(anyhow::Error::new(e).context("the event loop failed"));
    }
    match startup_failure {
        Some(message) => Err(StartupError(message).into()),
        None => Ok(()),
    }
}

/// Hands each event to its shard until every adapter has stopped and the queue is empty: answered
/// here when it needs no fsync and nothing of its shard is waiting, else queued for the shard's
/// handler thread.
async fn dispatch(bot: &Bot, mut rx: mpsc::Receiver<Envelope>, shards: &[Shard], adapters_done: CancellationToken) {
    // Made once, not per event: a `cancelled()` future registers with its token when polled.
    let all_stopped = adapters_done.cancelled();
    tokio::pin!(all_stopped);
    loop {
        let envelope = tokio::select! {
            biased;
            received = rx.recv() => match received {
                Some(envelope) => envelope,
                None => break,
            },
            () = &mut all_stopped => match rx.try_recv() {
                Ok(envelope) => envelope,
                Err(_) => break,
            },
        };
        let shard = &shards[shard_of(&envelope.event)];
        // Inline only behind nothing: an event queued earlier in the chat is answered first.
        let sent = if shard.pending.load(Ordering::Acquire) == 0 && bot.answers_without_fsync(&envelope.event) {
            let replies = handle_guarded(bot, &envelope.event, Marks::InMemory);
            shard.replies.send((replies, envelope.done)).await.is_ok()
        } else {
            shard.pending.fetch_add(1, Ordering::AcqRel);
            shard.queue.send(envelope).await.is_ok()
        };
        if !sent {
            tracing::error!("a chat queue stopped unexpectedly");
        }
    }
}

fn shard_of(event: &Event) -> usize {
    (rustc_hash::FxBuildHasher.hash_one(event.chat()) % SHARDS as u64) as usize
}

/// The replies to one event, and the event's done signal (dropped once they are sent).
type Handled = (Vec<zhibu_chat::Outgoing>, Option<tokio::sync::oneshot::Sender<()>>);

/// One queue of chats. Events that may write go to its handler thread, because the store may
/// fsync; events that only read are answered on the I/O thread when nothing of the shard is
/// waiting for the handler (no thread switch, no wakeup of its own). Both hand their replies to
/// the shard's one sender, so a chat's replies keep their order.
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
async fn shard_sender(adapters: Adapters, mut handled: mpsc::Receiver<Handled>, shutdown: CancellationToken) {
    while let Some((replies, done)) = handled.recv().await {
        for reply in replies {
            if let Err(e) = send_with_retry(&adapters, &reply, &SEND_BACKOFF, &shutdown).await {
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
}
