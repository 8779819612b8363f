//! End-to-end on Matrix: a real Synapse (installed from PyPI by scripts/synapse), the real
//! `zhibu` binary, and members acting through a matrix-sdk client.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::synapse::Synapse;
use common::{path_str, Zhibu};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::receipt::create_receipt::v3::ReceiptType as CreateReceiptType;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::receipt::ReceiptThread;
use matrix_sdk::ruma::events::relation::Annotation;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, RoomMessageEventContent};
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};

const TIMEOUT: Duration = Duration::from_secs(60);

/// What the bot said: the room, the text (or the file name of an image) and the event.
type Heard = Arc<Mutex<Vec<(OwnedRoomId, String, OwnedEventId, MessageType)>>>;

/// A member's client (end-to-end encryption on, an in-memory crypto store), collecting what the
/// bot says.
struct Member {
    client: Client,
    heard: Heard,
}

impl Member {
    async fn login(hs: &Synapse, user: &str, password: &str) -> Self {
        let client = Client::builder().homeserver_url(hs.url()).build().await.unwrap();
        client.matrix_auth().login_username(user, password).await.unwrap();
        client.sync_once(SyncSettings::default()).await.unwrap();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
            let sink = sink.clone();
            async move {
                if event.sender.localpart() == "bot" {
                    let body = event.content.body().to_owned();
                    sink.lock().unwrap().push((room.room_id().to_owned(), body, event.event_id, event.content.msgtype));
                }
            }
        });
        Self { client, heard }
    }

    async fn say(&self, room: &OwnedRoomId, text: &str) {
        let room = self.client.get_room(room).unwrap();
        room.send(RoomMessageEventContent::text_plain(text)).await.unwrap();
    }

    /// Syncs until the bot said something in `room` containing `needle`.
    async fn hear(&self, room: &OwnedRoomId, needle: &str) -> String {
        self.hear_event(room, needle).await.0
    }

    /// Like [`hear`], with the event's id and content.
    async fn hear_event(&self, room: &OwnedRoomId, needle: &str) -> (String, OwnedEventId, MessageType) {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Some((_, text, id, content)) = self.heard.lock().unwrap().iter().find(|(r, t, _, _)| r == room && t.contains(needle)) {
                return (text.clone(), id.clone(), content.clone());
            }
            assert!(tokio::time::Instant::now() < deadline, "the bot never said {needle:?}; heard {:?}", self.heard.lock().unwrap());
            self.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
        }
    }

    /// Creates a room inviting `invite`; encrypted like Element's default, direct for a DM.
    async fn create_room(&self, invite: &[&str], encrypted: bool, direct: bool) -> OwnedRoomId {
        let mut request = CreateRoom::new();
        request.invite = invite.iter().map(|u| (*u).try_into().unwrap()).collect();
        request.is_direct = direct;
        if encrypted {
            let encryption = RoomEncryptionEventContent::with_recommended_defaults();
            request.initial_state = vec![InitialStateEvent::with_empty_state_key(encryption).to_raw_any()];
        }
        self.client.create_room(request).await.unwrap().room_id().to_owned()
    }

    async fn wait_for_join(&self, room: &OwnedRoomId, user: &str) {
        let user: OwnedUserId = user.try_into().unwrap();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            self.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
            let room = self.client.get_room(room).unwrap();
            if room.get_member_no_sync(&user).await.unwrap().is_some_and(|m| m.membership() == &matrix_sdk::ruma::events::room::member::MembershipState::Join) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{user} never joined");
        }
    }
}

/// The bot's process, killed when the test ends, also when it fails (no stray bots).
struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_bot(z: &Zhibu, hs: &Synapse, room: &OwnedRoomId, extra: &str) -> Running {
    start_bot_with(z, hs, room, extra, "")
}

/// Starts the bot with `extra` keys in `[matrix]` and `tail` tables after the branch.
fn start_bot_with(z: &Zhibu, hs: &Synapse, room: &OwnedRoomId, extra: &str, tail: &str) -> Running {
    let config = z.write(
        "matrix.toml",
        format!(
            "timezone = \"UTC\"\n[matrix]\nhomeserver = \"{}\"\nuser = \"@bot:localhost\"\npassword = \"botpass\"\n{extra}\n\
             [[branch]]\nid = \"cs\"\nname = \"计算机支部\"\ngroups = [\"matrix:{room}\"]\nauto_enroll = true\nsecretaries = [\"matrix:@secretary:localhost\"]\n{tail}",
            hs.url()
        )
        .as_bytes(),
    );
    z.command(&["--config", path_str(&config), "run"])
        .env("ZHIBU_LOG", "warn,zhibu_matrix=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(z.path("bot.log")).unwrap()))
        .spawn()
        .map(Running)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_check_in_ask_and_report_over_matrix() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let secretary = Member::login(&hs, "secretary", "secretarypass").await;
    let mut request = CreateRoom::new();
    request.name = Some("支部群".into());
    request.invite = vec!["@bot:localhost".try_into().unwrap(), "@secretary:localhost".try_into().unwrap()];
    let room = alice.client.create_room(request).await.unwrap().room_id().to_owned();
    secretary.client.sync_once(SyncSettings::default()).await.unwrap();
    secretary.client.join_room_by_id(&room).await.unwrap();

    let mut bot = start_bot(&z, &hs, &room, "");
    alice.wait_for_join(&room, "@bot:localhost").await;

    alice.say(&room, "/签到").await;
    let reply = alice.hear(&room, "签到成功").await;
    assert!(reply.contains("本周已签到 1 天"), "{reply}");
    alice.say(&room, "/问 预备期多长时间").await;
    assert!(alice.hear(&room, "问：预备党员的预备期是多长时间").await.contains("一年"));
    secretary.say(&room, "/统计").await;
    let table = secretary.hear(&room, "签到率").await;
    assert!(table.lines().any(|l| l.starts_with("alice") && l.contains("1/")), "{table}");

    bot.kill().unwrap();
    bot.wait().unwrap();
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_sent_while_the_bot_was_down_is_handled_once_after_restart() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let mut request = CreateRoom::new();
    request.invite = vec!["@bot:localhost".try_into().unwrap(), "@secretary:localhost".try_into().unwrap()];
    let room = alice.client.create_room(request).await.unwrap().room_id().to_owned();
    let job = "[[job]]\nname = \"daily-study\"\ncron = \"0 8 1 1 *\"\nkind = \"study\"\n";
    let mut bot = start_bot_with(&z, &hs, &room, "", job);
    alice.wait_for_join(&room, "@bot:localhost").await;
    alice.say(&room, "/问 入党介绍人要几个").await;
    alice.hear(&room, "入党介绍人").await;
    bot.kill().unwrap();
    bot.wait().unwrap();

    // While the bot is down, the secretary pushes today's study item by hand.
    let run = z.run(&["--config", path_str(&z.path("matrix.toml")), "job", "run", "daily-study"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("1 message(s) planned"), "{}", run.stderr);
    alice.hear(&room, "每日学习").await;

    alice.say(&room, "/签到 离线时发的").await;
    let session = std::fs::read_to_string(z.path("zhibu-data/matrix/session.json")).unwrap();
    let mut bot = start_bot(&z, &hs, &room, "");
    alice.hear(&room, "签到成功").await;
    // A few more seconds of sync: no second reply to the same message.
    for _ in 0..6 {
        alice.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
    }
    let replies = alice.heard.lock().unwrap().iter().filter(|(_, t, _, _)| t.contains("签到")).count();
    assert_eq!(replies, 1, "{:?}", alice.heard.lock().unwrap());
    // Same device after the restart: the session was restored, not a new login.
    assert_eq!(std::fs::read_to_string(z.path("zhibu-data/matrix/session.json")).unwrap(), session);
    bot.kill().unwrap();
    bot.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_from_strangers_are_refused() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let mallory = Member::login(&hs, "mallory", "mallorypass").await;
    let mut request = CreateRoom::new();
    request.invite = vec!["@bot:localhost".try_into().unwrap()];
    let room = alice.client.create_room(request).await.unwrap().room_id().to_owned();
    let mut request = CreateRoom::new();
    request.invite = vec!["@bot:localhost".try_into().unwrap()];
    let strange = mallory.client.create_room(request).await.unwrap().room_id().to_owned();
    let mut bot = start_bot(&z, &hs, &room, "allowed_inviters = [\"@alice:localhost\"]");
    alice.wait_for_join(&room, "@bot:localhost").await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        mallory.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
        let bot_id: OwnedUserId = "@bot:localhost".try_into().unwrap();
        let member = mallory.client.get_room(&strange).unwrap().get_member_no_sync(&bot_id).await.unwrap();
        if member.is_some_and(|m| m.membership() == &matrix_sdk::ruma::events::room::member::MembershipState::Leave) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the bot did not refuse mallory's invite");
    }
    bot.kill().unwrap();
    bot.wait().unwrap();
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(log.contains("invite refused"), "{log}");
}

#[test]
fn a_wrong_password_is_a_clear_startup_error() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let config = z.write("bad.toml", format!("[matrix]\nhomeserver = \"{}\"\nuser = \"@bot:localhost\"\npassword = \"wrong\"\n", hs.url()).as_bytes());
    let run = z.run(&["--config", path_str(&config), "run"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("login to {} as @bot:localhost failed", hs.url())), "{}", run.stderr);
}

fn assert_no_panic(z: &Zhibu) {
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_rooms_and_a_report_by_direct_message() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let room = alice.create_room(&["@bot:localhost"], true, false).await;
    let mut bot = start_bot(&z, &hs, &room, "");
    alice.wait_for_join(&room, "@bot:localhost").await;
    assert!(alice.client.get_room(&room).unwrap().latest_encryption_state().await.unwrap().is_encrypted());

    // The bot decrypts the command and answers encrypted (the member's client decrypts it).
    alice.say(&room, "/签到").await;
    alice.hear(&room, "签到成功").await;

    // A thought report in an encrypted direct chat, as Element makes them.
    let dm = alice.create_room(&["@bot:localhost"], true, true).await;
    alice.wait_for_join(&dm, "@bot:localhost").await;
    alice.say(&dm, "/思想汇报 本月认真学习了党章，对党员的义务有了更深的理解。").await;
    let saved = alice.hear(&dm, "已收到你的思想汇报").await;
    assert!(saved.contains("已妥善保存"), "{saved}");
    // A huge message (past the report limit; encrypted, near the homeserver's 64 KiB event
    // limit) gets a clear answer, not silence or a crash.
    let huge = format!("/思想汇报 {}", "x".repeat(21_000));
    alice.say(&dm, &huge).await;
    let refused = alice.hear(&dm, "内容太长了").await;
    assert!(refused.contains("21000 字"), "{refused}");
    // Nothing of the report was said in the group.
    assert!(alice.heard.lock().unwrap().iter().all(|(r, t, _, _)| r != &room || !t.contains("汇报")));

    bot.kill().unwrap();
    bot.wait().unwrap();
    assert_no_panic(&z);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_unknown_rooms_get_clear_answers() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    // Encrypted: the homeserver cannot check what it cannot read, so malformed content arrives.
    let room = alice.create_room(&["@bot:localhost"], true, false).await;
    let other = alice.create_room(&["@bot:localhost", "@secretary:localhost"], false, false).await;
    let mut bot = start_bot(&z, &hs, &room, "");
    alice.wait_for_join(&room, "@bot:localhost").await;
    alice.wait_for_join(&other, "@bot:localhost").await;

    // Malformed message content: a number for a body, no body at all, an unknown msgtype.
    let r = alice.client.get_room(&room).unwrap();
    for content in [
        serde_json::json!({"msgtype": "m.text", "body": 12345}),
        serde_json::json!({"msgtype": "m.text"}),
        serde_json::json!({"msgtype": "m.zhibu.unknown", "body": {"nested": true}}),
    ] {
        r.send_raw("m.room.message", content).await.unwrap();
    }
    // The bot ignored them and still answers.
    alice.say(&room, "/签到").await;
    alice.hear(&room, "签到成功").await;

    // A room the config does not link to a branch: told how to link it, nothing recorded.
    alice.say(&other, "/签到").await;
    let told = alice.hear(&other, "还没有关联到任何支部").await;
    assert!(told.contains(&format!("matrix:{other}")), "{told}");

    bot.kill().unwrap();
    bot.wait().unwrap();
    assert_no_panic(&z);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_thumbs_up_on_a_push_feed_the_stats() {
    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let secretary = Member::login(&hs, "secretary", "secretarypass").await;
    let room = alice.create_room(&["@bot:localhost", "@secretary:localhost"], false, false).await;
    secretary.client.sync_once(SyncSettings::default()).await.unwrap();
    secretary.client.join_room_by_id(&room).await.unwrap();
    // The daily study push, fired by the real scheduler a few seconds from now.
    let at = chrono::Utc::now() + chrono::Duration::seconds(8);
    let job = format!("[[job]]\nname = \"daily-study\"\ncron = \"{}\"\nkind = \"study\"\n", at.format("%S %M %H * * *"));
    let mut bot = start_bot_with(&z, &hs, &room, "", &job);
    alice.wait_for_join(&room, "@bot:localhost").await;
    alice.say(&room, "/签到").await;
    alice.hear(&room, "签到成功").await;

    let (_, push, _) = alice.hear_event(&room, "每日学习").await;
    let r = alice.client.get_room(&room).unwrap();
    r.send(ReactionEventContent::new(Annotation::new(push.clone(), "👍".to_owned()))).await.unwrap();
    secretary.client.sync_once(SyncSettings::default()).await.unwrap();
    let s = secretary.client.get_room(&room).unwrap();
    s.send_single_receipt(CreateReceiptType::Read, ReceiptThread::Unthreaded, push.clone()).await.unwrap();

    // Receipts travel apart from the timeline: ask until the table shows them.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let before = secretary.heard.lock().unwrap().len();
        secretary.say(&room, "/统计").await;
        let table = loop {
            let newest = secretary.heard.lock().unwrap()[before..].iter().find(|(_, t, _, _)| t.contains("签到率")).map(|h| h.1.clone());
            if let Some(table) = newest {
                break table;
            }
            assert!(tokio::time::Instant::now() < deadline, "no answer to /统计");
            secretary.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
        };
        let cells = |name: &str| table.lines().find(|l| l.starts_with(name)).map(|l| l.split_whitespace().skip(5).map(str::to_owned).collect::<Vec<_>>());
        if cells("alice") == Some(vec!["1/1".into(), "1/1".into()]) && cells("secretary") == Some(vec!["1/1".into(), "0/1".into()]) {
            assert!(table.contains("已读推送  确认"), "{table}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "reads and reactions never showed: {table}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bot.kill().unwrap();
    bot.wait().unwrap();
    assert_no_panic(&z);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_replies_are_delivered_after_waiting() {
    // Two messages in a burst, then one every two seconds, for every user, the bot included.
    let hs = Synapse::start_with(&[("ZHIBU_SYNAPSE_RC_MESSAGE", "{per_second: 0.5, burst_count: 2}")]);
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let room = alice.create_room(&["@bot:localhost"], false, false).await;
    // The homeserver's limit is what is tested: the bot's own limit on alice is off.
    let mut bot = start_bot_with(&z, &hs, &room, "", "[limits]\nmember_per_minute = 0\n");
    alice.wait_for_join(&room, "@bot:localhost").await;
    let questions = ["/问 预备期多长时间", "/问 入党介绍人要几个", "/问 党费怎么交", "/问 入党誓词", "/问 什么是三会一课"];
    for q in questions {
        alice.say(&room, q).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let answers = alice.heard.lock().unwrap().iter().filter(|(r, t, _, _)| r == &room && t.starts_with("问：")).count();
        if answers == questions.len() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{answers} of {} answers arrived", questions.len());
        alice.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
    }
    bot.kill().unwrap();
    bot.wait().unwrap();
    assert_no_panic(&z);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_uploaded_and_sent() {
    use zhibu_chat::{Adapter, ChatId, EventSink, Outgoing};
    use zhibu_matrix::{MatrixAdapter, MatrixConfig};

    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let room = alice.create_room(&["@bot:localhost"], true, false).await;
    let adapter = Arc::new(MatrixAdapter::new(MatrixConfig {
        homeserver: hs.url(),
        user: "@bot:localhost".into(),
        password: Some("botpass".into()),
        access_token: None,
        device_id: "ZHIBUTEST".into(),
        store_dir: z.path("matrix"),
        allowed_inviters: Vec::new(),
        allowed_rooms: Vec::new(),
        sync_timeout: Duration::from_secs(1),
    }));
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let token = tokio_util::sync::CancellationToken::new();
    let running = {
        let (adapter, token) = (adapter.clone(), token.clone());
        tokio::spawn(async move { adapter.run(EventSink::new(tx), token).await })
    };
    alice.wait_for_join(&room, "@bot:localhost").await;
    // A small PNG (a 1×1 red pixel), as a chart would be.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde,
        0, 0, 0, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0, 0, 0x03, 0x01, 0x01, 0, 0x18, 0xdd, 0x8d, 0xb0, 0, 0, 0, 0, 0x49, 0x45,
        0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let file = z.write("chart.png", png);
    let mut message = Outgoing::text(ChatId::parse(&format!("matrix:{room}")).unwrap(), "本周签到图");
    message.image = Some(file);
    message.idempotency_key = Some("chart-test".into());
    let mut sent = None;
    for _ in 0..50 {
        match adapter.send(&message).await {
            Ok(id) => {
                sent = id;
                break;
            }
            // Not connected yet: the first sync is still running.
            Err(zhibu_chat::SendError::Transient(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent.is_some(), "the message was not sent");
    alice.hear(&room, "本周签到图").await;
    let (_, _, content) = alice.hear_event(&room, "chart.png").await;
    let MessageType::Image(image) = content else { panic!("not an image: {content:?}") };
    assert_eq!(image.info.as_ref().and_then(|i| i.mimetype.as_deref()), Some("image/png"));
    // Uploaded encrypted (the room is), and the member's client gets the same bytes back.
    assert!(matches!(image.source, matrix_sdk::ruma::events::room::MediaSource::Encrypted(_)));
    let bytes = alice.client.media().get_file(&image, false).await.unwrap().unwrap();
    assert_eq!(bytes, png);
    token.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_keeps_going_while_the_homeserver_is_down() {
    use std::io::{BufRead, BufReader, Write};

    let hs = Synapse::start();
    let z = Zhibu::new();
    let alice = Member::login(&hs, "alice", "alicepass").await;
    let room = alice.create_room(&["@bot:localhost"], false, false).await;
    let config = z.write(
        "both.toml",
        format!(
            "[console]\nenabled = true\ninitial_speaker = \"secretary\"\n\
             [matrix]\nhomeserver = \"{}\"\nuser = \"@bot:localhost\"\npassword = \"botpass\"\n\
             [[branch]]\nid = \"cs\"\nname = \"计算机支部\"\ngroups = [\"matrix:{room}\", \"console:group\"]\nauto_enroll = true\n",
            hs.url()
        )
        .as_bytes(),
    );
    let mut bot = z
        .command(&["--config", path_str(&config), "run"])
        .env("ZHIBU_LOG", "warn,zhibu_matrix=info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(z.path("bot.log")).unwrap()))
        .spawn()
        .map(Running)
        .unwrap();
    let mut stdin = bot.stdin.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = bot.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    alice.wait_for_join(&room, "@bot:localhost").await;
    alice.say(&room, "/签到").await;
    alice.hear(&room, "签到成功").await;

    // The homeserver goes away; the console still answers at once.
    hs.stop();
    stdin.write_all("/问 预备期多长时间\n".as_bytes()).unwrap();
    stdin.flush().unwrap();
    let answer = lines.recv_timeout(Duration::from_secs(10)).expect("the console answered while Matrix was down");
    assert!(answer.starts_with("bot> 问：预备党员的预备期是多长时间"), "{answer}");

    // It comes back; the bot reconnects (with backoff) and answers on Matrix again.
    hs.restart();
    alice.say(&room, "/问 入党介绍人要几个").await;
    alice.hear(&room, "入党介绍人").await;

    // End of console input ends the session: the bot stops cleanly, Matrix included.
    drop(stdin);
    let status = tokio::task::spawn_blocking(move || bot.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(log.contains("sync failed; retrying"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}
