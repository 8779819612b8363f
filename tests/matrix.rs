//! End-to-end on Matrix: a real Synapse (installed from PyPI by scripts/synapse), the real
//! `zhibu` binary, and members acting through a matrix-sdk client.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{path_str, Zhibu};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};

const TIMEOUT: Duration = Duration::from_secs(60);

struct Synapse {
    dir: tempfile::TempDir,
    port: u16,
}

fn script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/synapse").to_owned()
}

impl Synapse {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let status = std::process::Command::new(script()).args(["start", path_str(dir.path()), &port.to_string()]).status().unwrap();
        assert!(status.success(), "scripts/synapse start failed");
        for (user, password) in [("bot", "botpass"), ("alice", "alicepass"), ("secretary", "secretarypass"), ("mallory", "mallorypass")] {
            let status = std::process::Command::new(script()).args(["register", path_str(dir.path()), user, password]).status().unwrap();
            assert!(status.success(), "registering {user}");
        }
        Self { dir, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script()).args(["stop", path_str(self.dir.path())]).status();
    }
}

/// A member's client, collecting what the bot says.
struct Member {
    client: Client,
    heard: Arc<Mutex<Vec<(OwnedRoomId, String)>>>,
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
                    if let MessageType::Text(t) = event.content.msgtype {
                        sink.lock().unwrap().push((room.room_id().to_owned(), t.body));
                    }
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
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Some((_, text)) = self.heard.lock().unwrap().iter().find(|(r, t)| r == room && t.contains(needle)) {
                return text.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "the bot never said {needle:?}; heard {:?}", self.heard.lock().unwrap());
            self.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
        }
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

fn start_bot(z: &Zhibu, hs: &Synapse, room: &OwnedRoomId, extra: &str) -> Child {
    let config = z.write(
        "matrix.toml",
        format!(
            "[matrix]\nhomeserver = \"{}\"\nuser = \"@bot:localhost\"\npassword = \"botpass\"\n{extra}\n\
             [[branch]]\nid = \"cs\"\nname = \"计算机支部\"\ngroups = [\"matrix:{room}\"]\nauto_enroll = true\nsecretaries = [\"matrix:@secretary:localhost\"]\n",
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
    let mut bot = start_bot(&z, &hs, &room, "");
    alice.wait_for_join(&room, "@bot:localhost").await;
    alice.say(&room, "/问 入党介绍人要几个").await;
    alice.hear(&room, "入党介绍人").await;
    bot.kill().unwrap();
    bot.wait().unwrap();

    alice.say(&room, "/签到 离线时发的").await;
    let session = std::fs::read_to_string(z.path("zhibu-data/matrix/session.json")).unwrap();
    let mut bot = start_bot(&z, &hs, &room, "");
    alice.hear(&room, "签到成功").await;
    // A few more seconds of sync: no second reply to the same message.
    for _ in 0..6 {
        alice.client.sync_once(SyncSettings::default().timeout(Duration::from_millis(500))).await.unwrap();
    }
    let replies = alice.heard.lock().unwrap().iter().filter(|(_, t)| t.contains("签到")).count();
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
    let config = z.write(
        "bad.toml",
        format!("[matrix]\nhomeserver = \"{}\"\nuser = \"@bot:localhost\"\npassword = \"wrong\"\n", hs.url()).as_bytes(),
    );
    let run = z.run(&["--config", path_str(&config), "run"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("login to {} as @bot:localhost failed", hs.url())), "{}", run.stderr);
}
