//! One member floods a group with commands: the bot, with its default pacing and rate limits,
//! keeps answering everyone else at once, answers the flooder at their limit and tells them
//! once to slow down, and answers normally once the flood is over. The real binary over real
//! sockets, with an implementation that answers every action at once (the traffic that once
//! froze the bot).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::onebot::{quantile, Peer};
use common::Zhibu;
use tokio::time::Instant;

const TOKEN: &str = "t0ken";
const FLOODER: u64 = 300_001;
/// Groups A (the flooded one), B and C.
const GROUPS: [u64; 3] = [200_001, 200_002, 200_003];

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Flooder,
    /// Another member of the flooded group.
    SameGroup,
    /// A member in another group, or in a private chat with the bot.
    Elsewhere,
}

/// Sends one message as message id `n`.
type Say = Box<dyn Fn(&Peer, u64)>;

/// Someone else than the flooder: when they first speak, how often, what they send, who they are.
type Sender = (Duration, Duration, Say, From);

struct Figures {
    flood_sent: usize,
    flood_answered: usize,
    slow_down_notices: usize,
    others_sent: usize,
    others_answered: usize,
    same_group_p99: Duration,
    elsewhere_p50: Duration,
    elsewhere_p99: Duration,
    elsewhere_max: Duration,
    answered_after: bool,
    stopped_in: Duration,
}

async fn flood(rate: f64, count: usize) -> Figures {
    let z = Zhibu::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let groups: Vec<String> = GROUPS.iter().map(|g| format!("\"onebot:10001000/group/{g}\"")).collect();
    // The defaults of a real deployment: pacing (1 a second per chat after 5) and rate limits.
    let config = z.write(
        "flood.toml",
        format!(
            "[onebot]\nlisten = \"127.0.0.1:{port}\"\naccess_token = \"{TOKEN}\"\n\
             [[branch]]\nid = \"cs\"\ngroups = [{}]\nauto_enroll = true\n",
            groups.join(", ")
        )
        .as_bytes(),
    );
    let bot = z.spawn_logged(&config, &[]);
    let mut peer = Peer::connect(port, TOKEN).await;
    // Who sent each message id, and when.
    let mut sent: HashMap<u64, (From, Instant)> = HashMap::new();
    let mut answered: HashMap<u64, Instant> = HashMap::new();
    let mut notices = 0;
    let mut next_id = 1_000_000u64;
    let start = Instant::now();
    let flood_for = Duration::from_secs_f64(count as f64 / rate);
    // Everyone else keeps within their own limit: in groups B and C five members each, one
    // message every 8 s; ten members in private chats, one every 6 s; two more in group A, one
    // every 8 s. Staggered, so the groups stay below their pacing too.
    let mut others: Vec<Sender> = Vec::new();
    // (first message at ms, then every s, group or `None` for a private chat, user, who)
    let mut plan: Vec<(u64, u64, Option<u64>, u64, From)> = Vec::new();
    for (g, group) in GROUPS.iter().enumerate().skip(1) {
        plan.extend((0..5u64).map(|m| (m * 1600 + g as u64 * 300, 8, Some(*group), 310_000 + g as u64 * 100 + m, From::Elsewhere)));
    }
    plan.extend((0..10u64).map(|m| (m * 600 + 100, 6, None, 320_000 + m, From::Elsewhere)));
    plan.extend((0..2u64).map(|m| (m * 4000 + 700, 8, Some(GROUPS[0]), 330_000 + m, From::SameGroup)));
    for (first, every, group, user, from) in plan {
        let say: Say = match group {
            Some(group) => Box::new(move |p, id| p.say_in_group(id, group, user, "/echo 在吗")),
            None => Box::new(move |p, id| p.say_privately(id, user, "/echo 在吗")),
        };
        others.push((Duration::from_millis(first), Duration::from_secs(every), say, from));
    }
    let mut flooded = 0;
    let mut due: Vec<Duration> = others.iter().map(|o| o.0).collect();
    let take = |peer: &mut Peer, answered: &mut HashMap<u64, Instant>, notices: &mut usize| {
        while let Ok(action) = peer.actions.try_recv() {
            if action.text().contains("你发得有点快") {
                *notices += 1;
            }
            if let Some(id) = action.reply_to() {
                answered.entry(id).or_insert(action.at);
            }
        }
    };
    while start.elapsed() < flood_for || flooded < count {
        let now = start.elapsed();
        while flooded < count && Duration::from_secs_f64(flooded as f64 / rate) <= now {
            next_id += 1;
            peer.say_in_group(next_id, GROUPS[0], FLOODER, &format!("/echo f{flooded}"));
            sent.insert(next_id, (From::Flooder, Instant::now()));
            flooded += 1;
        }
        for (i, (_, every, say, from)) in others.iter().enumerate() {
            if due[i] <= now {
                next_id += 1;
                say(&peer, next_id);
                sent.insert(next_id, (*from, Instant::now()));
                due[i] += *every;
            }
        }
        take(&mut peer, &mut answered, &mut notices);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The replies still on their way.
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        take(&mut peer, &mut answered, &mut notices);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // After the flood, once the flooder's share is back, everyone is answered as usual.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after: Vec<u64> = (0..3).map(|i| next_id + 1 + i).collect();
    peer.say_in_group(after[0], GROUPS[0], FLOODER, "/echo 还在吗");
    peer.say_in_group(after[1], GROUPS[0], 330_000, "/echo 还在吗");
    peer.say_privately(after[2], 320_000, "/echo 还在吗");
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle && !after.iter().all(|id| answered.contains_key(id)) {
        take(&mut peer, &mut answered, &mut notices);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answered_after = after.iter().all(|id| answered.contains_key(id));

    let latencies = |which: From| -> Vec<Duration> {
        sent.iter().filter(|(_, (f, _))| *f == which).filter_map(|(id, (_, at))| answered.get(id).map(|a| a.saturating_duration_since(*at))).collect()
    };
    let count_of = |which: From| sent.values().filter(|(f, _)| *f == which).count();
    let mut elsewhere = latencies(From::Elsewhere);
    let mut same_group = latencies(From::SameGroup);
    let stopping = Instant::now();
    assert_eq!(tokio::task::spawn_blocking(move || bot.stop()).await.unwrap(), Some(0));
    Figures {
        flood_sent: count,
        flood_answered: latencies(From::Flooder).len(),
        slow_down_notices: notices,
        others_sent: count_of(From::Elsewhere) + count_of(From::SameGroup),
        others_answered: elsewhere.len() + same_group.len(),
        same_group_p99: quantile(&mut same_group, 0.99),
        elsewhere_p50: quantile(&mut elsewhere, 0.5),
        elsewhere_p99: quantile(&mut elsewhere, 0.99),
        elsewhere_max: quantile(&mut elsewhere, 1.0),
        answered_after,
        stopped_in: stopping.elapsed(),
    }
}

fn check(rate: f64, count: usize, f: &Figures) {
    println!(
        "flood of {count} at {rate}/s: flooder answered {}/{} with {} notice(s); others answered {}/{}, elsewhere p50 {:?} p99 {:?} max {:?}, same group p99 {:?}; after the flood answered: {}; stopped in {:?}",
        f.flood_answered, f.flood_sent, f.slow_down_notices, f.others_answered, f.others_sent, f.elsewhere_p50, f.elsewhere_p99, f.elsewhere_max, f.same_group_p99, f.answered_after, f.stopped_in
    );
    assert_eq!(f.others_answered, f.others_sent, "every other member is answered");
    assert!(f.elsewhere_p99 < Duration::from_millis(50), "other chats waited: p99 {:?}", f.elsewhere_p99);
    assert!(f.same_group_p99 < Duration::from_millis(50), "the rest of the group waited behind the flood: p99 {:?}", f.same_group_p99);
    // The member limit (3 at once, then one every 5 s) and one notice.
    let allowed = 3 + (count as f64 / rate / 5.0).ceil() as usize + 1;
    assert!((3..=allowed).contains(&f.flood_answered), "the flooder was answered {} times (limit {allowed})", f.flood_answered);
    assert_eq!(f.slow_down_notices, 1, "told once to slow down");
    assert!(f.answered_after, "after the flood the bot answers everyone again");
    assert!(f.stopped_in < Duration::from_secs(5), "stopping took {:?}", f.stopped_in);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_flood_slows_nobody_else_down() {
    let figures = flood(40.0, 400).await;
    check(40.0, 400, &figures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_flood_slows_nobody_else_down() {
    let figures = flood(5.0, 400).await;
    check(5.0, 400, &figures);
}
