//! The runtime: wires adapters to the bot, on one tokio runtime.
//!
//! adapter → [`EventSink`] → the [`Dispatcher`] (rate limits, one bounded queue per chat; never
//! waits) → the chat's worker: drops what was handled before, handles the rest in order, waits
//! for the writes a reply confirms to be durable ([`GroupCommit`]), then sends each reply
//! through the adapter of its platform, retrying transient failures. The scheduler is a task
//! beside them. Shutdown: the token is cancelled (a signal, or the console's input ended),
//! adapters stop reading, queued events are still handled and answered, the store is flushed;
//! whatever is still busy after [`STOP_WITHIN`] is left, so the bot exits soon whatever its
//! peers do.

mod chats;
pub mod limits;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, EventSink};
use zhibu_commands::Bot;

pub use chats::Dispatcher;
pub use limits::{Limits, Rate};

use crate::delivery::Adapters;
use crate::group_commit::GroupCommit;
use crate::scheduler::{JobSpec, Scheduler};

/// An adapter could not start (a wrong password, say): the bot stops with this message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// How long stopping may take, from the cancellation to the store's last flush: adapters
/// closing their connections, queued events answered, scheduled messages being sent.
pub const STOP_WITHIN: Duration = Duration::from_secs(3);

/// Forgets handled-event ids older than this; no platform redelivers that far back.
const HANDLED_RETENTION_DAYS: i64 = 30;

/// Runs the bot with `adapters` and the scheduled `jobs` until `shutdown` is cancelled, a
/// session-ending adapter stops, or every adapter has stopped.
pub async fn run(bot: Arc<Bot>, adapters: Vec<Arc<dyn Adapter>>, jobs: Vec<JobSpec>, limits: Limits, shutdown: CancellationToken) -> anyhow::Result<()> {
    let by_platform = Adapters::new(&adapters);
    let flusher_stop = CancellationToken::new();
    let (commit, flusher) = GroupCommit::start(bot.store().clone(), flusher_stop.clone());
    let scheduler = Scheduler::new(bot.clone(), jobs, by_platform.clone(), Arc::new(zhibu_commands::domain::SystemClock));
    let scheduler = tokio::spawn(scheduler.run(shutdown.clone()));
    let unlimited = adapters.iter().filter(|a| a.ends_session()).map(|a| a.platform().clone()).collect();
    let dispatcher = Dispatcher::new(bot.clone(), by_platform, commit, limits, unlimited, shutdown.clone());

    let mut adapter_tasks = tokio::task::JoinSet::new();
    for adapter in adapters {
        let sink = EventSink::routed(Arc::new(dispatcher.clone()));
        let token = shutdown.clone();
        adapter_tasks.spawn(async move {
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
        });
    }

    let pruning = bot.store().clone();
    match tokio::task::spawn_blocking(move || pruning.prune_handled(chrono::Utc::now() - chrono::Duration::days(HANDLED_RETENTION_DAYS))).await {
        Ok(Err(e)) => tracing::warn!(error = %e, "pruning old handled-event ids failed"),
        Err(e) => tracing::warn!(error = %e, "pruning old handled-event ids failed"),
        Ok(Ok(_)) => {}
    }

    // Events keep flowing until the bot is told to stop or every adapter has stopped.
    let mut startup_failure = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            finished = adapter_tasks.join_next() => match finished {
                None => break,
                Some(Ok(Some(message))) => startup_failure = Some(message),
                Some(Ok(None)) => {}
                Some(Err(e)) => {
                    tracing::error!(error = %e, "an adapter's task failed; stopping");
                    shutdown.cancel();
                }
            },
        }
    }
    shutdown.cancel();

    let stopping = async {
        while let Some(finished) = adapter_tasks.join_next().await {
            if let Ok(Some(message)) = finished {
                startup_failure = Some(message);
            }
        }
        // What is queued is still handled and answered, even if an adapter's library keeps a
        // sink alive (matrix-sdk keeps its event handlers).
        dispatcher.close();
        dispatcher.drained().await;
        match scheduler.await {
            Ok(Err(e)) => tracing::error!(error = %e, "the scheduler stopped with an error"),
            Err(e) => tracing::error!(error = %e, "the scheduler's task failed"),
            Ok(Ok(())) => {}
        }
    };
    if tokio::time::timeout(STOP_WITHIN, stopping).await.is_err() {
        tracing::warn!("stopping took longer than {STOP_WITHIN:?}: replies still being sent are dropped (every acknowledged record is kept)");
    }
    flusher_stop.cancel();
    let _ = flusher.await;
    let store = bot.store().clone();
    tokio::task::spawn_blocking(move || store.flush_all()).await?.context("flushing the store at shutdown")?;
    match startup_failure {
        Some(message) => Err(StartupError(message).into()),
        None => Ok(()),
    }
}
