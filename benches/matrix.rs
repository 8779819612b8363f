//! Matrix benchmark on a local Synapse: the time from a member's message to the bot's reply, for
//! zhibu (the real binary) and, in the same run on the same homeserver, for a minimal echo bot on
//! matrix-sdk with the same sync loop (long-poll `sync_once`), in its own process (this binary,
//! started again with `ZHIBU_BENCH_ECHO`): the peer shows what the homeserver and the SDK cost by
//! themselves, so the ratio is zhibu's own overhead. Then the resident memory of both with 1 and
//! with 20 joined rooms.
//!
//! Run: `cargo bench --bench matrix` (installs Synapse on first use, like the tests).
//! `ZHIBU_BENCH_MESSAGES` sets the messages per bot (default 200). One member sends them all, so
//! the bot's rate limits are off here.

#[path = "../tests/common/synapse.rs"]
#[allow(dead_code)]
mod synapse;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{OriginalSyncRoomMessageEvent, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};
use synapse::Synapse;
use tokio::sync::mpsc;

/// What members ask, in turn: a check-in (a durable write), FAQ questions, points.
const COMMANDS: [&str; 4] = ["/签到", "/问 预备期多长时间", "/问 入党介绍人要几个", "/积分"];

async fn login(hs: &Synapse, user: &str, password: &str) -> Client {
    let client = Client::builder().homeserver_url(hs.url()).build().await.expect("client");
    client.matrix_auth().login_username(user, password).await.expect("login");
    client.sync_once(SyncSettings::default()).await.expect("first sync");
    client
}

async fn room_with(client: &Client, invite: &[&str]) -> OwnedRoomId {
    let mut request = CreateRoom::new();
    request.invite = invite.iter().map(|u| (*u).try_into().expect("user id")).collect();
    client.create_room(request).await.expect("room").room_id().to_owned()
}

/// Syncs `client` forever, sending `(room, text)` of every message from `from`.
fn listen(client: Client, from: &str) -> mpsc::UnboundedReceiver<(OwnedRoomId, String)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let from: OwnedUserId = from.try_into().expect("user id");
    client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
        let (tx, from) = (tx.clone(), from.clone());
        async move {
            if event.sender == from {
                let _ = tx.send((room.room_id().to_owned(), event.content.body().to_owned()));
            }
        }
    });
    tokio::spawn(sync_forever(client));
    rx
}

async fn sync_forever(client: Client) {
    let mut settings = SyncSettings::default().timeout(Duration::from_secs(30));
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(response) => settings = settings.token(response.next_batch),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The peer: answers every message from others with its text, as a minimal bot would.
async fn echo_bot(client: Client) {
    let own = client.user_id().expect("logged in").to_owned();
    client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
        let own = own.clone();
        async move {
            if event.sender != own {
                let reply = RoomMessageEventContent::text_plain(format!("echo: {}", event.content.body()));
                let _ = room.send(reply).await;
            }
        }
    });
    client.account().set_display_name(Some("echo")).await.ok();
    // Join whatever it is invited to.
    client.add_event_handler(|event: matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent, room: Room, client: Client| async move {
        if Some(event.state_key.as_ref()) == client.user_id() {
            let _ = room.join().await;
        }
    });
    // Invites that came with the login's first sync.
    for room in client.invited_rooms() {
        let _ = room.join().await;
    }
    sync_forever(client).await;
}

async fn wait_joined(client: &Client, room: &OwnedRoomId, user: &str) {
    let user: OwnedUserId = user.try_into().expect("user id");
    for _ in 0..600 {
        if let Some(r) = client.get_room(room) {
            if r.get_member_no_sync(&user).await.ok().flatten().is_some_and(|m| m.membership() == &MembershipState::Join) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{user} never joined {room}");
}

/// Sends `n` messages one at a time; the time until each reply arrives.
async fn round_trips(client: &Client, room: &OwnedRoomId, replies: &mut mpsc::UnboundedReceiver<(OwnedRoomId, String)>, n: usize) -> Vec<Duration> {
    let r = client.get_room(room).expect("room");
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        r.send(RoomMessageEventContent::text_plain(COMMANDS[i % COMMANDS.len()])).await.expect("send");
        loop {
            let (from, _) = tokio::time::timeout(Duration::from_secs(30), replies.recv()).await.expect("a reply within 30 s").expect("listening");
            if &from == room {
                break;
            }
        }
        out.push(started.elapsed());
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

fn start_zhibu(dir: &std::path::Path, hs: &Synapse, room: &OwnedRoomId) -> Child {
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[matrix]\nhomeserver = \"{}\"\nuser = \"@bot:localhost\"\npassword = \"botpass\"\n\
             [limits]\nmember_per_minute = 0\nchat_per_minute = 0\n\
             [[branch]]\nid = \"cs\"\nname = \"计算机支部\"\ngroups = [\"matrix:{room}\"]\nauto_enroll = true\n",
            hs.url()
        ),
    )
    .expect("config");
    Command::new(env!("CARGO_BIN_EXE_zhibu"))
        .current_dir(dir)
        .args(["--config", config.to_str().expect("utf-8"), "run"])
        .env("ZHIBU_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("zhibu")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Ok(homeserver) = std::env::var("ZHIBU_BENCH_ECHO") {
        let client = Client::builder().homeserver_url(homeserver).build().await.expect("client");
        client.matrix_auth().login_username("echo", "echopass").await.expect("login");
        client.sync_once(SyncSettings::default()).await.expect("first sync");
        echo_bot(client).await;
        return;
    }
    let n: usize = std::env::var("ZHIBU_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let hs = Synapse::start();
    hs.register("echo", "echopass");
    let dir = tempfile::tempdir().expect("temp dir");
    let alice = login(&hs, "alice", "alicepass").await;
    let zhibu_room = room_with(&alice, &["@bot:localhost"]).await;
    let echo_room = room_with(&alice, &["@echo:localhost"]).await;

    let mut bot = start_zhibu(dir.path(), &hs, &zhibu_room);
    let mut echo = Command::new(std::env::current_exe().expect("this binary"))
        .env("ZHIBU_BENCH_ECHO", hs.url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("echo peer");
    let mut from_bot = listen(alice.clone(), "@bot:localhost");
    let mut from_echo = listen(alice.clone(), "@echo:localhost");
    wait_joined(&alice, &zhibu_room, "@bot:localhost").await;
    wait_joined(&alice, &echo_room, "@echo:localhost").await;
    // Warm up both (first replies set up the DB pages, the FAQ index, HTTP connections).
    round_trips(&alice, &zhibu_room, &mut from_bot, 5).await;
    round_trips(&alice, &echo_room, &mut from_echo, 5).await;
    let rss_one_room = (rss_kib(bot.id()), rss_kib(echo.id()));

    // Interleaved in blocks of 20, so drift in the machine's load hits both alike.
    let (mut z, mut e) = (Vec::new(), Vec::new());
    while z.len() < n {
        let k = 20.min(n - z.len());
        z.extend(round_trips(&alice, &zhibu_room, &mut from_bot, k).await);
        e.extend(round_trips(&alice, &echo_room, &mut from_echo, k).await);
    }
    z.sort();
    e.sort();
    let (zm, z99, em, e99) = (percentile(&z, 0.5), percentile(&z, 0.99), percentile(&e, 0.5), percentile(&e, 0.99));
    println!("reply latency over {n} messages each (message sent → reply received by the member's client)");
    println!("  zhibu        median {:7.1} ms   p99 {:7.1} ms", ms(zm), ms(z99));
    println!("  echo (peer)  median {:7.1} ms   p99 {:7.1} ms", ms(em), ms(e99));
    println!("  ratio        median {:7.2}×     p99 {:7.2}×", ms(zm) / ms(em), ms(z99) / ms(e99));

    // 19 more rooms, each inviting the bot.
    let mut rooms = Vec::new();
    for _ in 0..19 {
        rooms.push(room_with(&alice, &["@bot:localhost", "@echo:localhost"]).await);
    }
    for room in &rooms {
        wait_joined(&alice, room, "@bot:localhost").await;
        wait_joined(&alice, room, "@echo:localhost").await;
    }
    // Let the bot settle (a sync or two after the joins).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_twenty = (rss_kib(bot.id()), rss_kib(echo.id()));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("resident memory, 1 joined room → 20 joined rooms");
    println!("  zhibu        {:6.1} MiB → {:6.1} MiB", mib(rss_one_room.0), mib(rss_twenty.0));
    println!("  echo (peer)  {:6.1} MiB → {:6.1} MiB", mib(rss_one_room.1), mib(rss_twenty.1));
    println!("  ratio        {:6.2}×     {:6.2}×", mib(rss_one_room.0) / mib(rss_one_room.1), mib(rss_twenty.0) / mib(rss_twenty.1));
    if let Some(pid) = hs.pid() {
        println!("  (Synapse itself, same moment: {:.1} MiB)", rss_kib(pid) as f64 / 1024.0);
    }
    for child in [&mut bot, &mut echo] {
        let _ = child.kill();
        let _ = child.wait();
    }
}
