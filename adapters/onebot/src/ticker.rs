//! The once-a-second tick behind every connection's liveness checks, kept by a thread of its
//! own instead of a timer on the I/O runtime.
//!
//! While a tokio runtime has any timer pending, each of its waits for the network is a
//! `epoll_wait` with a timeout, and the kernel arms and cancels a timer around every one of
//! them. The bot waits twice per OneBot message (for the event, then for the response to its
//! reply), and on this project's benchmark machine that timer cost 4% of the bot's CPU at 200
//! messages a second (docs/benchmarks.md, "Run R's round"). With the tick here and the
//! scheduler on its own thread, the I/O runtime has no timer pending between messages.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;

/// How often liveness is checked.
pub const TICK: Duration = Duration::from_secs(1);

/// A receiver that sees a change once every [`TICK`], from a thread shared by the process
/// (started on first use; it only sleeps and counts). Ticks that come while the receiver is busy
/// are seen, as one, at its next wait: the checks they drive look at elapsed time, not counts.
pub fn ticks() -> watch::Receiver<u64> {
    static TICKS: OnceLock<watch::Receiver<u64>> = OnceLock::new();
    TICKS
        .get_or_init(|| {
            let (tick, ticks) = watch::channel(0u64);
            let started = std::thread::Builder::new().name("zhibu-tick".into()).spawn(move || loop {
                std::thread::sleep(TICK);
                tick.send_modify(|n| *n = n.wrapping_add(1));
            });
            if let Err(e) = started {
                // Without ticks, silent connections are not noticed; everything else works.
                tracing::error!(error = %e, "cannot start the liveness tick thread; silent OneBot connections will not be closed");
            }
            ticks
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ticks_come_about_once_a_tick() {
        let mut ticks = ticks();
        ticks.borrow_and_update();
        let start = std::time::Instant::now();
        for _ in 0..2 {
            tokio::time::timeout(TICK * 3, ticks.changed()).await.expect("no tick").expect("the ticker stopped");
        }
        // Two ticks a tick apart, whenever the first came.
        assert!(start.elapsed() >= TICK / 2, "ticks came too fast: {:?}", start.elapsed());
    }
}
