//! The runtime: wires adapters to the bot.
//!
//! adapter → [`Envelope`] → duplicate filter (platform message id) → one queue per shard of
//! chats (order within a chat, chats in parallel) → `Bot::handle` on a blocking thread (the
//! store fsyncs) → the outbox sends each reply through the adapter of its platform, retrying
//! transient failures. Shutdown: the token is cancelled (signal, or the console's input ended),
//! adapters stop reading, queued events are still handled, the store is flushed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{Adapter, Envelope, Event, EventSink, MessageId, Outgoing, Platform, SendError};
use zhibu_commands::Bot;

/// Chats are spread over this many queues; each handles its events one at a time, in order.
const SHARDS: usize = 8;
/// How many recent message ids are remembered to drop duplicates.
const DEDUP_WINDOW: usize = 10_000;
/// Delays before the 2nd, 3rd and 4th attempt of a send that failed transiently.
const SEND_BACKOFF: [Duration; 3] = [Duration::from_millis(200), Duration::from_secs(1), Duration::from_secs(5)];
/// How long shutdown waits for queued events to be handled.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Remembers the last [`DEDUP_WINDOW`] message ids.
struct Dedup {
    seen: HashSet<MessageId>,
    order: VecDeque<MessageId>,
}

impl Dedup {
    fn new() -> Self {
        Self { seen: HashSet::new(), order: VecDeque::new() }
    }

    /// True the first time an id is offered.
    fn first_time(&mut self, id: &MessageId) -> bool {
        if !self.seen.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id.clone());
        if self.order.len() > DEDUP_WINDOW {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

type Adapters = Arc<HashMap<Platform, Arc<dyn Adapter>>>;

/// Runs the bot with `adapters` until `shutdown` is cancelled or a session-ending adapter stops.
pub async fn run(bot: Arc<Bot>, adapters: Vec<Arc<dyn Adapter>>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    let (tx, mut rx) = mpsc::channel::<Envelope>(1024);
    let by_platform: Adapters = Arc::new(adapters.iter().map(|a| (a.platform().clone(), a.clone())).collect());

    let mut adapter_tasks = Vec::new();
    for adapter in adapters {
        let sink = EventSink::new(tx.clone());
        let token = shutdown.clone();
        adapter_tasks.push(tokio::spawn(async move {
            let platform = adapter.platform().clone();
            match adapter.run(sink, token.child_token()).await {
                Ok(()) => tracing::info!(%platform, "adapter stopped"),
                Err(e) => tracing::error!(%platform, error = %e, "adapter failed"),
            }
            if adapter.ends_session() {
                token.cancel();
            }
        }));
    }
    // Only the adapters hold senders now: when they have all stopped, the channel closes.
    drop(tx);

    let mut shards = Vec::with_capacity(SHARDS);
    for _ in 0..SHARDS {
        let (shard_tx, shard_rx) = mpsc::channel::<Envelope>(256);
        tracker.spawn(shard_worker(bot.clone(), by_platform.clone(), shard_rx));
        shards.push(shard_tx);
    }
    tracker.close();

    let mut dedup = Dedup::new();
    // Events keep flowing until every adapter has stopped and its queue is empty.
    while let Some(envelope) = rx.recv().await {
        if let Event::Message(m) = &envelope.event {
            if !dedup.first_time(&m.id) {
                tracing::debug!(id = %m.id, "duplicate message dropped");
                continue;
            }
        }
        let shard = shard_of(&envelope.event);
        if shards[shard].send(envelope).await.is_err() {
            tracing::error!("a chat queue stopped unexpectedly");
        }
    }
    for task in adapter_tasks {
        let _ = task.await;
    }
    drop(shards);
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait()).await.is_err() {
        tracing::warn!("shutdown: some replies were still being sent after {DRAIN_TIMEOUT:?}");
    }
    let store = bot.store().clone();
    tokio::task::spawn_blocking(move || store.flush()).await?.context("flushing the store at shutdown")?;
    Ok(())
}

fn shard_of(event: &Event) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    event.chat().hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

async fn shard_worker(bot: Arc<Bot>, adapters: Adapters, mut queue: mpsc::Receiver<Envelope>) {
    while let Some(Envelope { event, done }) = queue.recv().await {
        let bot = bot.clone();
        let replies = match tokio::task::spawn_blocking(move || bot.handle(&event)).await {
            Ok(replies) => replies,
            Err(e) => {
                tracing::error!(error = %e, "handling an event panicked");
                Vec::new()
            }
        };
        for reply in replies {
            deliver(&adapters, &reply).await;
        }
        drop(done);
    }
}

/// Sends one message through its platform's adapter, retrying transient failures with backoff.
async fn deliver(adapters: &Adapters, message: &Outgoing) {
    let platform = message.chat.platform();
    let Some(adapter) = adapters.get(&platform) else {
        tracing::error!(%platform, chat = %message.chat, "no adapter for this platform; reply dropped");
        return;
    };
    let mut attempt = 0;
    loop {
        match adapter.send(message).await {
            Ok(_) => return,
            Err(SendError::Transient(e)) if attempt < SEND_BACKOFF.len() => {
                tracing::warn!(chat = %message.chat, error = %e, attempt, "send failed; retrying");
                tokio::time::sleep(SEND_BACKOFF[attempt]).await;
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(chat = %message.chat, error = %e, "send failed; giving up");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_recognised_within_the_window() {
        let mut d = Dedup::new();
        let id = |n: usize| MessageId::parse(&format!("t:{n}")).unwrap();
        assert!(d.first_time(&id(1)));
        assert!(!d.first_time(&id(1)));
        for n in 2..=DEDUP_WINDOW + 1 {
            assert!(d.first_time(&id(n)));
        }
        // Id 1 has left the window.
        assert!(d.first_time(&id(1)));
    }
}
