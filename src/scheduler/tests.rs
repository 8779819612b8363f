//! The scheduler on simulated time (tokio's paused clock): a month in milliseconds, with
//! crashes, restarts and downtime.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, MessageId, Outgoing, Platform, SendError, UserId};
use zhibu_commands::domain::{BranchId, Role};
use zhibu_commands::jobs::JobKind;
use zhibu_commands::settings::{BranchSettings, Settings};
use zhibu_commands::store::{Outcome, Store};
use zhibu_commands::Bot;

use super::*;

/// A platform that, like Matrix with transaction ids, delivers a message once per idempotency
/// key; it records what arrived and can "crash" the bot right after a given send reaches it.
struct Recorder {
    platform: Platform,
    state: Mutex<RecorderState>,
    crashed: Notify,
}

#[derive(Default)]
struct RecorderState {
    delivered: Vec<Outgoing>,
    keys: HashSet<String>,
    resent: usize,
    sends: usize,
    crash_after_send: Option<usize>,
    /// Sends to this chat fail: transiently this many times, or for good when `None`.
    failing: Option<(ChatId, Option<usize>)>,
    /// When each delivered message arrived (simulated time).
    arrived: Vec<(String, tokio::time::Instant)>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Self { platform: Platform::new("test").unwrap(), state: Mutex::default(), crashed: Notify::new() })
    }

    fn delivered(&self) -> Vec<Outgoing> {
        self.state.lock().unwrap().delivered.clone()
    }
}

#[async_trait]
impl Adapter for Recorder {
    fn platform(&self) -> &Platform {
        &self.platform
    }

    async fn run(&self, _sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
        shutdown.cancelled().await;
        Ok(())
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        let crash = {
            let mut s = self.state.lock().unwrap();
            if let Some((chat, left)) = &mut s.failing {
                if *chat == message.chat {
                    match left {
                        None => return Err(SendError::Permanent("the bot was removed from the group".into())),
                        Some(0) => {}
                        Some(n) => {
                            *n -= 1;
                            return Err(SendError::Transient("timeout".into()));
                        }
                    }
                }
            }
            s.sends += 1;
            s.arrived.push((message.chat.to_string(), tokio::time::Instant::now()));
            let key = message.idempotency_key.clone().expect("scheduled messages carry an idempotency key");
            if s.keys.insert(key) {
                s.delivered.push(message.clone());
            } else {
                s.resent += 1;
            }
            s.crash_after_send == Some(s.sends)
        };
        if crash {
            // The platform has the message; the bot dies before it can record that.
            self.crashed.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(None)
    }

    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        ChatId::parse(&format!("test:dm/{}", user.local())).ok()
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn settings() -> Settings {
    let mut settings = Settings::demo();
    settings.branches = ["a", "b"]
        .iter()
        .map(|b| BranchSettings {
            id: BranchId::new(b).unwrap(),
            name: format!("支部{b}"),
            groups: vec![ChatId::parse(&format!("test:group-{b}")).unwrap()],
            auto_enroll: true,
            direct_enroll: Vec::new(),
            default_role: Role::Member,
            secretaries: vec![UserId::parse(&format!("test:sec-{b}")).unwrap()],
            committee: vec![],
        })
        .collect();
    settings
}

fn jobs() -> Vec<JobSpec> {
    let tz = chrono_tz::Asia::Shanghai;
    vec![
        JobSpec::new("daily-study", "0 8 * * *", tz, JobKind::StudyPush, vec![], DEFAULT_CATCH_UP).unwrap(),
        JobSpec::new("quiz", "0 12 * * Tue,Fri", tz, JobKind::Quiz { close_after: Duration::hours(2) }, vec![], DEFAULT_CATCH_UP).unwrap(),
        JobSpec::new("weekly-digest", "0 9 * * Mon", tz, JobKind::WeeklyDigest, vec![], DEFAULT_CATCH_UP).unwrap(),
    ]
}

struct World {
    _dir: tempfile::TempDir,
    bot: Arc<Bot>,
    recorder: Arc<Recorder>,
    clock: Arc<TokioClock>,
}

impl World {
    fn new(start: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let clock = Arc::new(TokioClock::starting_at(t(start)));
        let bot = Arc::new(Bot::new(store, settings(), clock.clone()).unwrap());
        Self { _dir: dir, bot, recorder: Recorder::new(), clock }
    }

    /// Starts the scheduler as a task; aborting the task is a crash (every worker dies with it).
    fn start(&self, jobs: Vec<JobSpec>) -> (tokio::task::JoinHandle<Result<(), StoreError>>, CancellationToken) {
        let adapters = Adapters::new(&[self.recorder.clone() as Arc<dyn Adapter>]);
        let scheduler = Scheduler::new(self.bot.clone(), jobs, adapters, self.clock.clone());
        let stop = CancellationToken::new();
        (tokio::spawn(scheduler.run(stop.clone())), stop)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Delivered messages per (run name without its per-branch suffix, scheduled time).
    fn delivered_by_run(&self) -> BTreeMap<(String, i64), usize> {
        let mut out = BTreeMap::new();
        for m in self.recorder.delivered() {
            let key = m.idempotency_key.unwrap();
            let (run, rest) = key.rsplit_once('@').unwrap();
            let fire: i64 = rest.split('#').next().unwrap().parse().unwrap();
            let run = run.split('/').next().unwrap().to_owned();
            *out.entry((run, fire)).or_default() += 1;
        }
        out
    }
}

async fn sleep_until(world: &World, at: DateTime<Utc>) {
    let delay = (at - world.now()).to_std().unwrap_or_default();
    tokio::time::sleep(delay).await;
}

/// Every message the month should produce, worked out from the calendar, not the scheduler.
fn expected_month() -> BTreeMap<(String, i64), usize> {
    let mut out = BTreeMap::new();
    let tz = chrono_tz::Asia::Shanghai;
    for day in 0..30 {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + Duration::days(day);
        let at = |h: u32| date.and_hms_opt(h, 0, 0).unwrap().and_local_timezone(tz).unwrap().with_timezone(&Utc).timestamp();
        out.insert(("daily-study".to_owned(), at(8)), 2);
        use chrono::Datelike;
        match date.weekday() {
            chrono::Weekday::Tue | chrono::Weekday::Fri => {
                out.insert(("quiz".to_owned(), at(12)), 2);
                out.insert(("quiz-close".to_owned(), at(14)), 2);
            }
            chrono::Weekday::Mon => {
                out.insert(("weekly-digest".to_owned(), at(9)), 2);
            }
            _ => {}
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn thirty_days_with_crashes_deliver_every_message_exactly_once() {
    let world = World::new("2026-11-01T00:00:00+08:00");
    let end = t("2026-12-01T00:00:00+08:00");
    // Four crashes at random instants, and one right after a send reaches the platform but
    // before the bot records it. The seed is fixed so a failure can be replayed.
    let mut seed: u64 = 0x5eed_2026;
    let mut random = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let month = (end - world.now()).num_seconds() as u64;
    let mut crashes: Vec<DateTime<Utc>> = (0..4).map(|_| world.now() + Duration::seconds(random(month) as i64)).collect();
    crashes.sort();
    world.recorder.state.lock().unwrap().crash_after_send = Some(1 + random(90) as usize);

    let mut crashed_mid_send = false;
    let mut restarts = 0;
    let (mut task, mut stop) = world.start(jobs());
    loop {
        let next_crash = crashes.first().copied().unwrap_or(end);
        tokio::select! {
            () = sleep_until(&world, next_crash) => {
                if crashes.is_empty() {
                    break;
                }
                crashes.remove(0);
            }
            () = world.recorder.crashed.notified() => crashed_mid_send = true,
        }
        task.abort();
        let _ = task.await;
        restarts += 1;
        (task, stop) = world.start(jobs());
    }
    stop.cancel();
    task.await.unwrap().unwrap();

    assert!(crashed_mid_send, "the crash between send and record happened");
    assert_eq!(restarts, 5);
    let delivered = world.delivered_by_run();
    let expected = expected_month();
    let missing: Vec<_> = expected.iter().filter(|(k, n)| delivered.get(*k) != Some(n)).collect();
    let extra: Vec<_> = delivered.iter().filter(|(k, _)| !expected.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing or wrong: {missing:?}\nunexpected: {extra:?}");
    assert_eq!(delivered.values().sum::<usize>(), 102);
    // The message interrupted mid-send was sent again under the same key and arrived once.
    assert!(world.recorder.state.lock().unwrap().resent >= 1);
    // Study items never repeat within the month; quiz questions neither.
    let studies: HashSet<String> = world.recorder.delivered().iter().filter(|m| m.text.starts_with("📖")).map(|m| m.text.clone()).collect();
    assert_eq!(studies.len(), 30, "one distinct item a day (the same item goes to both groups)");
}

#[tokio::test(start_paused = true)]
async fn a_missed_fire_is_caught_up_once_inside_the_window_and_skipped_outside() {
    let world = World::new("2026-11-02T07:00:00+08:00");
    let study = || vec![jobs().remove(0)];
    let count = |w: &World| w.delivered_by_run().get(&("daily-study".to_owned(), t("2026-11-02T08:00:00+08:00").timestamp())).copied();

    // Down from 07:30 to 10:00 across the 08:00 fire: caught up once on start.
    let (task, stop) = world.start(study());
    sleep_until(&world, t("2026-11-02T07:30:00+08:00")).await;
    stop.cancel();
    task.await.unwrap().unwrap();
    tokio::time::advance(std::time::Duration::from_secs(150 * 60)).await;
    let (task, stop) = world.start(study());
    sleep_until(&world, t("2026-11-02T10:30:00+08:00")).await;
    assert_eq!(count(&world), Some(2), "one catch-up, to both groups");
    stop.cancel();
    task.await.unwrap().unwrap();

    // Down from 10:30 to 15:00 the next day: the 08:00 fire is 7 h old, outside 6 h: skipped.
    tokio::time::advance(std::time::Duration::from_secs((4 * 60 + 30 + 24 * 60) * 60)).await;
    let before = world.recorder.delivered().len();
    let (task, stop) = world.start(study());
    sleep_until(&world, t("2026-11-03T15:30:00+08:00")).await;
    assert_eq!(world.recorder.delivered().len(), before, "nothing sent for a fire outside the window");
    let state = world.bot.store().job_state("daily-study").unwrap().unwrap();
    assert_eq!((state.last_fire, state.outcome), (t("2026-11-03T08:00:00+08:00"), Outcome::Skipped));
    stop.cancel();
    task.await.unwrap().unwrap();

    // Down for three days, back at 09:00: only the latest missed fire (today 08:00) runs.
    tokio::time::advance(std::time::Duration::from_secs((2 * 24 * 60 + 17 * 60 + 30) * 60)).await;
    assert_eq!(world.now(), t("2026-11-06T09:00:00+08:00"));
    let (task, stop) = world.start(study());
    sleep_until(&world, t("2026-11-06T09:30:00+08:00")).await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let runs: Vec<i64> = world.delivered_by_run().keys().map(|(_, fire)| *fire).collect();
    assert_eq!(runs, vec![t("2026-11-02T08:00:00+08:00").timestamp(), t("2026-11-06T08:00:00+08:00").timestamp()]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_group_neither_blocks_others_nor_loses_order_and_failures_are_reported() {
    let world = World::new("2026-11-03T07:59:00+08:00");
    let group_a = ChatId::parse("test:group-a").unwrap();
    world.recorder.state.lock().unwrap().failing = Some((group_a.clone(), Some(3)));
    // Study at 08:00 and a reminder at 08:00:30 go to group a, in that order.
    let _ = world
        .bot
        .store()
        .add_reminder(&BranchId::new("a").unwrap(), vec![group_a.clone()], &UserId::parse("test:sec-a").unwrap(), t("2026-11-03T08:00:30+08:00"), "开会")
        .unwrap();
    let (task, stop) = world.start(vec![jobs().remove(0)]);
    sleep_until(&world, t("2026-11-03T08:10:00+08:00")).await;
    let arrived = world.recorder.state.lock().unwrap().arrived.clone();
    let first_b = arrived.iter().find(|(c, _)| c == "test:group-b").unwrap().1;
    let first_a = arrived.iter().find(|(c, _)| c == "test:group-a").unwrap().1;
    assert!(first_b < first_a, "group b did not wait for group a's retries");
    let texts: Vec<String> = world.recorder.delivered().iter().filter(|m| m.chat == group_a).map(|m| m.text.clone()).collect();
    assert!(texts.len() == 2 && texts[0].starts_with("📖") && texts[1].starts_with("⏰"), "in order after retries: {texts:?}");
    let state = world.bot.store().job_state("daily-study").unwrap().unwrap();
    assert_eq!(state.outcome, Outcome::Sent { messages: 2 });

    // The next day group a is gone for good: reported, group b still served.
    world.recorder.state.lock().unwrap().failing = Some((group_a.clone(), None));
    sleep_until(&world, t("2026-11-04T08:10:00+08:00")).await;
    let state = world.bot.store().job_state("daily-study").unwrap().unwrap();
    assert_eq!(state.outcome, Outcome::Failed { failed: 1, messages: 2, error: "permanent failure: the bot was removed from the group".into() });
    stop.cancel();
    task.await.unwrap().unwrap();
}
