//! Scheduler benchmark: the cost of computing the next fire of 1,000 jobs, and the idle cost of
//! a scheduler holding 1,000 jobs (CPU for one simulated hour with nothing due), each against
//! the usual alternative measured in the same run: a poller that wakes every second and asks
//! every job's schedule whether it fires now.
//!
//! Run: `cargo bench --bench scheduler`. Time is simulated with tokio's paused clock, so an hour
//! of idling runs in milliseconds and what is measured is the work itself (one thread, no I/O).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use zhibu::delivery::Adapters;
use zhibu::scheduler::{JobSpec, Scheduler, TokioClock, DEFAULT_CATCH_UP};
use zhibu_commands::domain::Clock;
use zhibu_commands::jobs::JobKind;
use zhibu_commands::store::Store;
use zhibu_commands::{Bot, Settings};

const JOBS: usize = 1000;

/// 1,000 jobs of the shapes branches use: daily at some minute, weekly, monthly, every 15 min.
fn jobs() -> Vec<JobSpec> {
    let tz = chrono_tz::Asia::Shanghai;
    (0..JOBS)
        .map(|i| {
            let (m, h) = (i % 60, i % 24);
            let cron = match i % 4 {
                0 => format!("{m} {h} * * *"),
                1 => format!("{m} {h} * * Mon,Thu"),
                2 => format!("{m} {h} {} * *", 1 + i % 28),
                _ => "*/15 8-22 * * *".to_owned(),
            };
            JobSpec::new(&format!("job-{i}"), &cron, tz, JobKind::StudyPush, vec![], DEFAULT_CATCH_UP).expect("valid cron")
        })
        .collect()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn next_fire_bench(jobs: &[JobSpec], now: DateTime<Utc>) -> (Duration, Duration) {
    let schedules: Vec<cron::Schedule> = jobs.iter().map(|j| zhibu::scheduler::parse_cron(&j.cron).expect("valid")).collect();
    let ours = median(
        (0..21)
            .map(|_| {
                let start = Instant::now();
                let n = jobs.iter().filter_map(|j| j.next_after(now)).count();
                assert_eq!(n, JOBS);
                start.elapsed()
            })
            .collect(),
    );
    // The poller's unit of work: one second's check of every job.
    let tz = chrono_tz::Asia::Shanghai;
    let local = now.with_timezone(&tz);
    let poll = median(
        (0..21)
            .map(|_| {
                let start = Instant::now();
                let n = schedules.iter().filter(|s| s.includes(local)).count();
                std::hint::black_box(n);
                start.elapsed()
            })
            .collect(),
    );
    (ours, poll)
}

/// CPU (wall time of a single thread doing only this) for one simulated hour of the scheduler
/// with `jobs`, none due in that hour.
fn idle_hour_scheduler(jobs: Vec<JobSpec>, start: DateTime<Utc>) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("data")).expect("store");
        let clock = Arc::new(TokioClock::starting_at(start));
        let bot = Arc::new(Bot::new(store, Settings::demo(), clock.clone()).expect("bot"));
        let scheduler = Scheduler::new(bot, jobs, Adapters::default(), clock.clone());
        let stop = CancellationToken::new();
        let task = tokio::spawn(scheduler.run(stop.clone()));
        // Let it register the jobs, then measure an hour.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let began = Instant::now();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let spent = began.elapsed();
        assert!(clock.now() >= start + chrono::Duration::seconds(3600));
        stop.cancel();
        task.await.expect("join").expect("scheduler");
        spent
    })
}

/// The same hour for a poller that wakes every second and checks every job.
fn idle_hour_poller(jobs: &[JobSpec], start: DateTime<Utc>) -> Duration {
    let schedules: Vec<cron::Schedule> = jobs.iter().map(|j| zhibu::scheduler::parse_cron(&j.cron).expect("valid")).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    rt.block_on(async move {
        let clock = TokioClock::starting_at(start);
        let tz = chrono_tz::Asia::Shanghai;
        let began = Instant::now();
        let mut fired = 0;
        for _ in 0..3600 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = clock.now().with_timezone(&tz);
            fired += schedules.iter().filter(|s| s.includes(now)).count();
        }
        std::hint::black_box(fired);
        began.elapsed()
    })
}

fn main() {
    // A quiet hour for these jobs: 00:30 to 01:30 on a Tuesday has only the jobs at hour 0/1.
    let start: DateTime<Utc> = "2026-11-24T16:30:00Z".parse().expect("time");
    let jobs = jobs();
    // Quiet jobs for the idle measurement: daily at 03:xx, so nothing fires in the hour.
    let quiet: Vec<JobSpec> = (0..JOBS)
        .map(|i| {
            JobSpec::new(&format!("q-{i}"), &format!("{} 3 * * *", i % 60), chrono_tz::Asia::Shanghai, JobKind::StudyPush, vec![], DEFAULT_CATCH_UP)
                .expect("valid")
        })
        .collect();

    let (ours, poll) = next_fire_bench(&jobs, start);
    println!("next fire of {JOBS} jobs: {:.1} µs (median of 21)", ours.as_secs_f64() * 1e6);
    println!("one poll of {JOBS} jobs (a per-second poller's work each second): {:.1} µs", poll.as_secs_f64() * 1e6);

    let runs = 5;
    let sched = median((0..runs).map(|_| idle_hour_scheduler(quiet.clone(), start)).collect());
    let poller = median((0..runs).map(|_| idle_hour_poller(&quiet, start)).collect());
    println!("idle hour, {JOBS} jobs, zhibu scheduler: {:.2} ms CPU (median of {runs})", sched.as_secs_f64() * 1e3);
    println!("idle hour, {JOBS} jobs, per-second poller: {:.2} ms CPU (median of {runs})", poller.as_secs_f64() * 1e3);
    println!("ratio poller / zhibu: {:.0}x", poller.as_secs_f64() / sched.as_secs_f64().max(1e-9));
}
