//! The scheduler: fires each configured job at its cron times exactly once, even across
//! restarts, plus the one-off fires the domain asks for (quiz closes, `/提醒` reminders).
//!
//! Claim-then-send: a fire is claimed by committing its plan (messages and state changes) under
//! the key (job, scheduled time) in one transaction and flushing it to disk; only then are its
//! messages sent, each with an idempotency key, and marked sent one by one. (These few fsyncs a
//! day are the scheduler's own, not the group commit's: nothing waits behind them.) A restart resumes the unsent ones; a second
//! claim of the same fire is refused by the store. A fire missed while the bot was down is run
//! once on start if it is still within the job's catch-up window, otherwise skipped and logged;
//! only the latest missed fire of a job is ever caught up.
//!
//! Time comes from an injected clock; the loop sleeps until the next fire (at most a minute, so
//! a wall-clock jump or a new reminder is noticed), which tests run on tokio's paused time.

mod clock;
mod job;
mod outbox;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use zhibu_commands::domain::Clock;
use zhibu_commands::store::StoreError;
use zhibu_commands::Bot;

pub use clock::TokioClock;
pub use job::{parse_cron, BadCron, JobSpec, DEFAULT_CATCH_UP};
pub use outbox::Outbox;

use crate::delivery::Adapters;

/// The longest the loop sleeps before looking again.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long shutdown waits for scheduled messages being sent (within the runtime's
/// [`crate::runtime::STOP_WITHIN`]).
const DRAIN: Duration = Duration::from_secs(3);

pub struct Scheduler {
    bot: Arc<Bot>,
    jobs: Vec<JobSpec>,
    /// Each job's next fire, cached (recomputed after each fire).
    next: Vec<Option<DateTime<Utc>>>,
    adapters: Adapters,
    clock: Arc<dyn Clock>,
}

impl Scheduler {
    pub fn new(bot: Arc<Bot>, jobs: Vec<JobSpec>, adapters: Adapters, clock: Arc<dyn Clock>) -> Self {
        let next = vec![None; jobs.len()];
        Self { bot, jobs, next, adapters, clock }
    }

    /// Runs until `shutdown` is cancelled; then lets queued messages go out (briefly).
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), StoreError> {
        let store = self.bot.store().clone();
        let mut outbox = Outbox::new(store.clone(), self.adapters.clone(), shutdown.clone());
        let pending = store.pending_outbox()?;
        if !pending.is_empty() {
            tracing::info!(count = pending.len(), "resuming scheduled messages not sent before the last stop");
        }
        outbox.enqueue(pending);
        let now = self.clock.now();
        for i in 0..self.jobs.len() {
            let state = store.register_job(&self.jobs[i].name, now)?.value;
            self.next[i] = self.jobs[i].next_after(state.last_fire);
        }
        store.flush()?;
        loop {
            let now = self.clock.now();
            self.tick(now, &mut outbox)?;
            let wake = self.next_wake()?;
            let delay = wake.map_or(MAX_SLEEP, |w| (w - now).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP));
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shutdown.cancelled() => break,
            }
        }
        outbox.drain(DRAIN).await;
        Ok(())
    }

    /// Handles everything due at `now`.
    pub fn tick(&mut self, now: DateTime<Utc>, outbox: &mut Outbox) -> Result<(), StoreError> {
        let store = self.bot.store().clone();
        for i in 0..self.jobs.len() {
            if !self.next[i].is_some_and(|n| n <= now) {
                continue;
            }
            let job = &self.jobs[i];
            let last = store.job_state(&job.name)?.map_or(now, |s| s.last_fire);
            let (latest, count) = job.latest_in(last, now);
            if let Some(fire) = latest {
                if count > 1 {
                    tracing::warn!(job = %job.name, missed = count - 1, "fires missed while the bot was down are skipped");
                }
                if now - fire <= job.catch_up {
                    if fire < now - chrono::Duration::seconds(60) {
                        tracing::info!(job = %job.name, %fire, "catching up a fire missed while the bot was down");
                    }
                    let plan = self.bot.plan_job(&job.kind, &job.branches, fire, &self.adapters)?;
                    if let Some(claimed) = store.commit_run(&job.name, fire, plan.messages, &plan.effects)? {
                        store.flush()?;
                        outbox.enqueue(claimed.value);
                    }
                } else {
                    tracing::warn!(job = %job.name, %fire, window = %job.catch_up, "missed fire is outside the catch-up window; skipped");
                    let _ = store.skip_fire(&job.name, fire)?;
                    store.flush()?;
                }
            }
            self.next[i] = job.next_after(latest.unwrap_or(last).max(now));
        }
        for one in self.bot.due_one_offs(now)? {
            let announce = now - one.due <= DEFAULT_CATCH_UP;
            if !announce {
                tracing::warn!(run = %one.name, due = %one.due, "one-off missed by more than the catch-up window; closed silently");
            }
            let plan = self.bot.plan_one_off(&one, announce)?;
            if let Some(claimed) = store.commit_run(&one.name, one.due, plan.messages, &plan.effects)? {
                store.flush()?;
                outbox.enqueue(claimed.value);
            }
        }
        Ok(())
    }

    fn next_wake(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let jobs = self.next.iter().flatten().min().copied();
        let one_off = self.bot.next_one_off()?;
        Ok(match (jobs, one_off) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

#[cfg(test)]
mod tests;
