//! Check-in benchmark: what one `/签到` reply costs in a branch whose week is empty, and in one
//! where 3,100 others checked in this week already. Each reply counts the member's own days (a
//! point read per day), so the two should cost the same; the peer measured in the same run is
//! what each reply used to do, counting the member's days in a scan of the branch's whole week.
//!
//! Run: `cargo bench -p zhibu-commands --bench checkin`.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use zhibu_chat::{ChatId, ChatKind, Event, Incoming, MessageId, Sender, UserId};
use zhibu_commands::domain::{BranchId, CheckIn, ManualClock};
use zhibu_commands::store::Store;
use zhibu_commands::{Bot, Settings};

/// 2026-11-25 10:00 Beijing time, a Wednesday.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T10:00:00+08:00").unwrap().with_timezone(&Utc)
}

struct Branch {
    bot: Bot,
    _dir: tempfile::TempDir,
    next: AtomicU64,
}

impl Branch {
    /// The demo branch with `others` check-ins this week (Monday to today) by other members.
    fn with_checkins(others: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let branch = BranchId::new("demo").unwrap();
        for i in 0..others {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23 + (i % 3) as u32).unwrap();
            let user = UserId::parse(&format!("console:other{}", i / 3)).unwrap();
            let _ = store.insert_checkin(&CheckIn { branch: branch.clone(), user, date, at: now(), note: None }).unwrap();
        }
        store.flush().unwrap();
        let bot = Bot::new(store, Settings::demo(), Arc::new(ManualClock::new(now()))).unwrap();
        Branch { bot, _dir: dir, next: AtomicU64::new(0) }
    }

    /// A new member's first `/签到` of the day.
    fn check_in(&self) -> usize {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let event = Event::Message(Incoming {
            chat: ChatId::parse("console:group").unwrap(),
            chat_kind: ChatKind::Group,
            sender: Sender { id: UserId::parse(&format!("console:m{n}")).unwrap(), display_name: format!("m{n}") },
            text: "/签到".into(),
            mentions: Vec::new(),
            reply_to: None,
            id: MessageId::parse(&format!("console:e{n}")).unwrap(),
            timestamp: now(),
            bare_commands: false,
        });
        let answer = self.bot.handle(&event);
        assert!(answer.replies[0].text.starts_with("签到成功"), "{:?}", answer.replies);
        answer.replies[0].text.len()
    }

    /// What a reply used to do to count the member's days: scan the branch's week.
    fn days_by_week_scan(&self, user: &UserId) -> usize {
        let branch = BranchId::new("demo").unwrap();
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let sunday = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        self.bot.store().checkins_between(&branch, monday, sunday).unwrap().iter().filter(|c| c.user == *user).count()
    }
}

fn checkin(c: &mut Criterion) {
    let empty = Branch::with_checkins(0);
    let busy = Branch::with_checkins(3100);
    let mut group = c.benchmark_group("checkin");
    group.bench_function("reply, empty week", |b| b.iter(|| black_box(empty.check_in())));
    group.bench_function("reply, 3100 check-ins this week", |b| b.iter(|| black_box(busy.check_in())));
    let member = UserId::parse("console:other7").unwrap();
    let scan = Branch::with_checkins(3100);
    group.bench_function("peer: week scan, 3100 check-ins", |b| b.iter(|| black_box(scan.days_by_week_scan(&member))));
    let (d1, d2) = (
        scan.days_by_week_scan(&member),
        scan.bot
            .store()
            .checkin_days(
                &BranchId::new("demo").unwrap(),
                &member,
                chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            )
            .unwrap(),
    );
    assert_eq!(d1, d2, "both count the same days");
    group.finish();
}

criterion_group!(benches, checkin);
criterion_main!(benches);
