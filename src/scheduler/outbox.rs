//! The scheduler's outbox: one worker per chat sends that chat's entries in order, retrying
//! transient failures with backoff, and settles each entry in the store (durably: a restart
//! would send it again) once it is handed to the adapter. Chats don't wait for each other. Dropping the outbox stops every worker (a crash in
//! tests); unsent entries stay pending in the store and are sent again on the next start.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use zhibu_chat::ChatId;
use zhibu_commands::store::{Delivery, OutboxEntry, Push, Store};

use crate::delivery::{send_with_retry, Adapters, DeliveryError};

/// Waits before the 2nd … 6th attempt of a scheduled message.
pub const BACKOFF: [Duration; 5] =
    [Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30), Duration::from_secs(120), Duration::from_secs(600)];

pub struct Outbox {
    store: Store,
    adapters: Adapters,
    shutdown: CancellationToken,
    queues: HashMap<ChatId, mpsc::UnboundedSender<OutboxEntry>>,
    workers: JoinSet<()>,
}

impl Outbox {
    pub fn new(store: Store, adapters: Adapters, shutdown: CancellationToken) -> Self {
        Self { store, adapters, shutdown, queues: HashMap::new(), workers: JoinSet::new() }
    }

    /// Queues entries for sending, each behind the earlier entries of its chat.
    pub fn enqueue(&mut self, entries: impl IntoIterator<Item = OutboxEntry>) {
        for entry in entries {
            let chat = entry.message.chat.clone();
            let queue = self.queues.entry(chat).or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                self.workers.spawn(worker(self.store.clone(), self.adapters.clone(), rx, self.shutdown.clone()));
                tx
            });
            if queue.send(entry).is_err() {
                tracing::error!("an outbox worker stopped; the entry stays pending until the next start");
            }
        }
    }

    /// Lets the workers finish what is queued (or stop at shutdown), waiting at most `limit`.
    pub async fn drain(mut self, limit: Duration) {
        self.queues.clear();
        let all = async { while self.workers.join_next().await.is_some() {} };
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("scheduled messages still pending at shutdown; they are sent on the next start");
        }
    }
}

async fn worker(store: Store, adapters: Adapters, mut queue: mpsc::UnboundedReceiver<OutboxEntry>, shutdown: CancellationToken) {
    while let Some(entry) = queue.recv().await {
        let result = send_with_retry(&adapters, &entry.message, &BACKOFF, &shutdown).await;
        let settled = match result {
            Ok(id) => {
                if let Some(message) = id {
                    // Reads and reactions on it are counted in the stats.
                    let push = Push { message, chat: entry.message.chat.clone(), job: entry.job.clone(), sent_at: chrono::Utc::now() };
                    if let Err(e) = store.record_push(&push) {
                        tracing::warn!(error = %e, "recording a push failed; its reads will not be counted");
                    }
                }
                store.settle(entry.seq, Delivery::Sent, None).and_then(|_| store.flush())
            }
            Err(DeliveryError::Cancelled) => return,
            Err(e) => {
                tracing::error!(job = %entry.job, chat = %entry.message.chat, error = %e, "scheduled message failed");
                store.settle(entry.seq, Delivery::Failed, Some(e.to_string())).and_then(|_| store.flush())
            }
        };
        if let Err(e) = settled {
            tracing::error!(error = %e, "recording a scheduled message failed; it may be sent again on the next start");
        }
    }
}
