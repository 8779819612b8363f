//! Group commit: one flusher makes the store's writes durable for every reply waiting on one.
//!
//! A reply that confirms a write waits for the write's [`Ticket`]. The first waiter wakes the
//! flusher, which makes everything written so far durable with one fsync; whatever is written
//! while that fsync runs is made durable by the next one. So under load many chats' check-ins
//! share an fsync, and when nothing waits there is no fsync at all.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use zhibu_commands::store::{Store, Ticket};

/// How long the flusher waits before trying again after a failed flush.
const RETRY: Duration = Duration::from_millis(200);
/// While flushes keep failing (a full disk), how often that is logged again.
const LOG_AGAIN: Duration = Duration::from_secs(30);

/// The flusher has stopped: the write was not made durable by it (shutdown flushes the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store's flusher has stopped")]
pub struct Stopped;

/// A handle on the flusher.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Wakes the flusher (a permit is kept when it is busy: one more flush follows).
    wake: Notify,
    /// Counts finished flushes; closed when the flusher ends.
    flushed: watch::Receiver<u64>,
}

impl GroupCommit {
    /// Starts the flusher on the current runtime; it runs until `stop` is cancelled.
    pub fn start(store: Store, stop: CancellationToken) -> (Self, tokio::task::JoinHandle<()>) {
        let (flushed_tx, flushed) = watch::channel(0);
        let inner = Arc::new(Inner { store, wake: Notify::new(), flushed });
        let task = tokio::spawn(flusher(inner.clone(), flushed_tx, stop));
        (Self { inner }, task)
    }

    /// Waits until the write of `ticket` is durable.
    pub async fn durable(&self, ticket: Ticket) -> Result<(), Stopped> {
        let mut flushed = self.inner.flushed.clone();
        flushed.borrow_and_update();
        loop {
            if self.inner.store.is_durable(ticket) {
                return Ok(());
            }
            self.inner.wake.notify_one();
            flushed.changed().await.map_err(|_| Stopped)?;
        }
    }
}

async fn flusher(inner: Arc<Inner>, flushed: watch::Sender<u64>, stop: CancellationToken) {
    // Since when flushes fail, and when that was last logged.
    let mut failing: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = inner.wake.notified() => {}
        }
        match inner.store.flush_async().await {
            Ok(()) => {
                if let Some((since, _)) = failing.take() {
                    tracing::warn!("flushing the store works again after {:?}", since.elapsed());
                }
                flushed.send_modify(|n| *n = n.wrapping_add(1));
            }
            Err(e) => {
                // Replies that confirm a write keep waiting: nothing is confirmed that is not on disk.
                let now = tokio::time::Instant::now();
                match &mut failing {
                    None => {
                        tracing::error!(error = %e, "flushing the store failed; replies that confirm a write are held back until it works");
                        failing = Some((now, now));
                    }
                    Some((since, logged)) if now - *logged >= LOG_AGAIN => {
                        tracing::error!(error = %e, "flushing the store still fails, for {:?}", since.elapsed());
                        *logged = now;
                    }
                    Some(_) => {}
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(RETRY) => inner.wake.notify_one(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use zhibu_commands::domain::{BranchId, CheckIn};
    use zhibu_commands::store::Insert;

    use super::*;

    fn checkin(store: &Store, user: &str) -> Ticket {
        let c = CheckIn {
            branch: BranchId::new("demo").unwrap(),
            user: zhibu_chat::UserId::parse(&format!("console:{user}")).unwrap(),
            date: "2026-11-25".parse().unwrap(),
            at: chrono::Utc::now(),
            note: None,
        };
        match store.insert_checkin(&c).unwrap() {
            Insert::Written(ticket) => ticket,
            Insert::Existing(_) => panic!("checked in twice"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_waiters_share_few_flushes_and_each_returns_once_its_write_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let stop = CancellationToken::new();
        let (commit, flusher) = GroupCommit::start(store.clone(), stop.clone());
        let mut waiters = tokio::task::JoinSet::new();
        for i in 0..200 {
            let ticket = checkin(&store, &format!("u{i}"));
            let (commit, store) = (commit.clone(), store.clone());
            waiters.spawn(async move {
                commit.durable(ticket).await.unwrap();
                assert!(store.is_durable(ticket));
            });
        }
        while let Some(done) = waiters.join_next().await {
            done.unwrap();
        }
        let flushes = *commit.inner.flushed.borrow();
        assert!((1..200).contains(&flushes), "200 waiters took {flushes} flushes");
        // Once the flusher stops, a write nobody flushed is refused, not reported durable.
        stop.cancel();
        flusher.await.unwrap();
        let late = checkin(&store, "late");
        assert_eq!(commit.durable(late).await, Err(Stopped));
    }
}
