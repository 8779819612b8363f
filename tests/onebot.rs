//! End-to-end tests of the OneBot v11 adapter: the real binary, driven by the shared harness's
//! load generator (an implementation-side peer, installed by `scripts/onebot-peer`) and by a
//! small implementation played here for the protocol details.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

mod common;

use std::net::TcpListener as StdListener;
use std::process::Command;
use std::time::Duration;

use common::{path_str, Running, Zhibu};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const TOKEN: &str = "t0ken";
const ACCOUNT: &str = "10001000";

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The load generator is not a person: its members may send as fast as it likes.
const NO_LIMITS: &str = "[limits]\nmember_per_minute = 0\nchat_per_minute = 0\n";

/// Starts `zhibu run` serving OneBot on `port` with `onebot` extra keys and `more` top-level
/// sections, the groups 200001, 200002 and 201003 (the load generator's warm-up group) in one
/// branch.
fn start(z: &Zhibu, port: u16, onebot: &str, more: &str) -> Running {
    let groups: Vec<String> = [200001, 200002, 201003].iter().map(|g| format!("\"onebot:{ACCOUNT}/group/{g}\"")).collect();
    let config = z.write(
        "onebot.toml",
        format!(
            "[onebot]\nlisten = \"127.0.0.1:{port}\"\naccess_token = \"{TOKEN}\"\n{onebot}\n{more}\n\
             [[branch]]\nid = \"cs\"\nname = \"计算机支部\"\ngroups = [{}]\nauto_enroll = true\n",
            groups.join(", ")
        )
        .as_bytes(),
    );
    z.spawn_logged(&config, &[])
}

fn loadgen(port: u16, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/onebot-peer");
    let url = format!("ws://127.0.0.1:{port}/onebot/v11/ws");
    let out = Command::new(script)
        .args(["loadgen", "--url", &url, "--token", TOKEN, "--users", "10", "--groups", "2", "--warmup", "5", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "loadgen: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn loadgen_checkins_and_questions_get_replies_in_their_groups() {
    let z = Zhibu::new();
    let port = free_port();
    let bot = start(&z, port, "chat_rate = 0", NO_LIMITS);
    // `/签到` from 10 members in 2 groups, segment arrays.
    let r = loadgen(port, &["--scenario", "faq", "--faq-prefix", "/签到 ", "-n", "40", "--window", "4"]);
    assert_eq!((r["sent"].as_u64(), r["replied"].as_u64(), r["errors"].as_u64()), (Some(40), Some(40), Some(0)), "{r}");
    assert_eq!(r["actions"].as_object().unwrap().keys().collect::<Vec<_>>(), ["send_group_msg"], "{r}");
    // FAQ questions in the CQ-string format.
    let r = loadgen(port, &["--scenario", "faq", "--faq-prefix", "/问 ", "-n", "30", "--format", "string", "--seed", "2"]);
    assert_eq!((r["replied"].as_u64(), r["errors"].as_u64()), (Some(30), Some(0)), "{r}");
    // `/echo` at once: every token comes back in its own group.
    let r = loadgen(port, &["--scenario", "echo", "-n", "200", "--window", "32", "--seed", "3"]);
    assert_eq!((r["replied"].as_u64(), r["errors"].as_u64()), (Some(200), Some(0)), "{r}");
    assert_eq!(bot.stop(), Some(0));
    // The check-ins are in the store: the week's stats list the members who checked in.
    let stats = z.run(&["--config", path_str(&z.path("onebot.toml")), "stats", "--format", "csv"]);
    stats.assert_clean();
    let checked_in =
        stats.stdout.lines().skip(1).filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.split(',').nth(4).is_some_and(|c| c != "0")).count();
    assert!(checked_in >= 5, "members with check-ins: {}", stats.stdout);
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(port: u16, token: Option<&str>) -> Result<Ws, u16> {
    let mut req = format!("ws://127.0.0.1:{port}/onebot/v11/ws").into_client_request().unwrap();
    req.headers_mut().insert("X-Self-ID", ACCOUNT.parse().unwrap());
    req.headers_mut().insert("X-Client-Role", "Universal".parse().unwrap());
    if let Some(t) = token {
        req.headers_mut().insert("Authorization", format!("Bearer {t}").parse().unwrap());
    }
    for _ in 0..100 {
        match tokio_tungstenite::connect_async(req.clone()).await {
            Ok((ws, _)) => return Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => return Err(resp.status().as_u16()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the bot never listened on {port}");
}

fn group_message(id: u64, user: u64, message: Value) -> String {
    json!({"time": chrono::Utc::now().timestamp(), "self_id": 10001000, "post_type": "message", "message_type": "group",
           "sub_type": "normal", "message_id": id, "group_id": 200001, "user_id": user, "anonymous": null,
           "message": message, "raw_message": "", "font": 0,
           "sender": {"user_id": user, "nickname": format!("同学{user}"), "card": "", "role": "member"}})
    .to_string()
}

/// The next action the bot calls (answered `ok`), or `None` if none comes within `wait`.
async fn next_action<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, wait: Duration) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(wait, ws.next()).await.ok()??.ok()?;
        let Message::Text(text) = frame else { continue };
        let action: Value = serde_json::from_str(text.as_str()).unwrap();
        let reply = json!({"status": "ok", "retcode": 0, "data": {"message_id": 9000}, "echo": action["echo"]});
        ws.send(Message::text(reply.to_string())).await.unwrap();
        return Some(action);
    }
}

fn text_of(action: &Value) -> String {
    action["params"]["message"].as_array().unwrap().iter().filter(|s| s["type"] == "text").map(|s| s["data"]["text"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_details_a_napcat_would_exercise() {
    let z = Zhibu::new();
    let port = free_port();
    let bot = start(&z, port, "chat_rate = 0", NO_LIMITS);
    // The access token is checked on the upgrade.
    assert_eq!(connect(port, None).await.err(), Some(401));
    assert_eq!(connect(port, Some("guess")).await.err(), Some(403));
    let mut ws = connect(port, Some(TOKEN)).await.unwrap();
    ws.send(Message::text(
        json!({"time": 1, "self_id": 10001000, "post_type": "meta_event", "meta_event_type": "lifecycle", "sub_type": "connect"}).to_string(),
    ))
    .await
    .unwrap();
    // A check-in in the segment-array format, addressed to the bot: a reply that quotes it.
    let checkin = group_message(501, 300001, json!([{"type": "at", "data": {"qq": "10001000"}}, {"type": "text", "data": {"text": " /签到"}}]));
    ws.send(Message::text(checkin.clone())).await.unwrap();
    let action = next_action(&mut ws, Duration::from_secs(5)).await.expect("a reply");
    assert_eq!(action["action"], "send_group_msg");
    assert_eq!(action["params"]["group_id"], 200001);
    assert_eq!(action["params"]["message"][0], json!({"type": "reply", "data": {"id": "501"}}));
    assert!(text_of(&action).starts_with("签到成功"), "{action}");
    // The same event again (a reconnecting implementation): handled once.
    ws.send(Message::text(checkin)).await.unwrap();
    // Unknown events and garbage are ignored, the connection stays.
    ws.send(Message::text(json!({"post_type": "notice", "notice_type": "group_upload", "time": 1, "self_id": 10001000}).to_string())).await.unwrap();
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(next_action(&mut ws, Duration::from_millis(700)).await, None, "a duplicate or unknown event got an answer");
    ws.send(Message::text(group_message(510, 300003, json!("/echo 在吗")))).await.unwrap();
    assert!(text_of(&next_action(&mut ws, Duration::from_secs(5)).await.unwrap()).contains("在吗"));
    // A frame several times the adapter's read chunk (9 KB) arrives whole: its JSON parses, and
    // the echo quotes the start of it.
    ws.send(Message::text(group_message(509, 300003, json!(format!("/echo {}", "长".repeat(3000)))))).await.unwrap();
    let quoted = text_of(&next_action(&mut ws, Duration::from_secs(5)).await.expect("a reply to the long frame"));
    assert!(quoted.contains(&format!("「{}…」", "长".repeat(64))), "{quoted}");
    // A command that writes, then ones that only read, sent together: answered in order, each
    // seeing the write before it.
    for (id, text) in [(511, "/签到"), (512, "/积分"), (513, "/echo 一")] {
        ws.send(Message::text(group_message(id, 300003, json!(text)))).await.unwrap();
    }
    for (id, text) in [(511, "签到成功"), (512, "今日 1"), (513, "一")] {
        let action = next_action(&mut ws, Duration::from_secs(5)).await.expect("a reply");
        assert_eq!(action["params"]["message"][0]["data"]["id"], id.to_string(), "out of order: {action}");
        assert!(text_of(&action).contains(text), "{action}");
    }
    // A question in the CQ-string format, with escapes, in a private chat.
    let question = json!({"time": chrono::Utc::now().timestamp(), "self_id": 10001000, "post_type": "message", "message_type": "private",
        "sub_type": "friend", "message_id": 502, "user_id": 300001, "message": "/问 预备期多久&#91;&#93;", "raw_message": "", "font": 0,
        "sender": {"user_id": 300001, "nickname": "同学300001"}});
    ws.send(Message::text(question.to_string())).await.unwrap();
    let action = next_action(&mut ws, Duration::from_secs(5)).await.expect("an answer");
    assert_eq!(action["action"], "send_private_msg");
    assert_eq!(action["params"]["user_id"], 300001);
    assert!(text_of(&action).contains("一年"), "{action}");
    // A picture alone, sent to the bot: a hint to write, quoting it.
    let picture = json!({"time": chrono::Utc::now().timestamp(), "self_id": 10001000, "post_type": "message", "message_type": "private",
        "sub_type": "friend", "message_id": 504, "user_id": 300001, "message": [{"type": "image", "data": {"file": "a.jpg"}}],
        "raw_message": "", "font": 0, "sender": {"user_id": 300001, "nickname": "同学300001"}});
    ws.send(Message::text(picture.to_string())).await.unwrap();
    let action = next_action(&mut ws, Duration::from_secs(5)).await.expect("a hint");
    assert_eq!(action["params"]["message"][0], json!({"type": "reply", "data": {"id": "504"}}));
    assert_eq!(text_of(&action), "我暂时只能读懂文字消息，请把想说的用文字发给我。");
    // A mention of another member comes back as an `at` segment when the bot names them.
    // A second check-in the same day is refused, politely.
    ws.send(Message::text(group_message(503, 300001, json!("/签到")))).await.unwrap();
    let action = next_action(&mut ws, Duration::from_secs(5)).await.expect("a reply");
    assert!(text_of(&action).contains("已经签到"), "{action}");
    drop(ws);
    assert_eq!(bot.stop(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_goes_silent_is_closed() {
    let z = Zhibu::new();
    let port = free_port();
    let bot = start(&z, port, "ping_after_secs = 1\nping_timeout_secs = 1", "");
    // Heartbeats every 500 ms announced, then silence: closed after two intervals.
    let mut ws = connect(port, Some(TOKEN)).await.unwrap();
    let beat = json!({"time": 1, "self_id": 10001000, "post_type": "meta_event", "meta_event_type": "heartbeat", "status": {"online": true, "good": true}, "interval": 500});
    ws.send(Message::text(beat.to_string())).await.unwrap();
    let started = std::time::Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a silent connection stayed open");
    assert!(started.elapsed() >= Duration::from_millis(900), "closed too early: {:?}", started.elapsed());
    // No heartbeats and a peer that stops reading (a dead network): the ping goes unanswered.
    let ws = connect(port, Some(TOKEN)).await.unwrap();
    let (_write, read) = ws.split();
    tokio::time::sleep(Duration::from_secs(4)).await;
    drop(read);
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(log.contains("no heartbeat or frame"), "{log}");
    assert!(log.contains("ping unanswered"), "{log}");
    assert_eq!(bot.stop(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_websocket_redials_after_the_implementation_restarts() {
    let z = Zhibu::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // The bot dials us; it serves nothing itself.
    let config = z.write(
        "onebot.toml",
        format!(
            "[onebot]\naccess_token = \"{TOKEN}\"\nchat_rate = 0\n[[onebot.connect]]\nurl = \"ws://127.0.0.1:{port}/\"\n\
             [[branch]]\nid = \"cs\"\ngroups = [\"onebot:{ACCOUNT}/group/200001\"]\nauto_enroll = true\n"
        )
        .as_bytes(),
    );
    let bot = z.spawn_logged(&config, &[]);
    for round in 0..2u64 {
        let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await.expect("the bot dialled").unwrap();
        let mut seen_token = None;
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
            seen_token = req.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned());
            Ok(resp)
        })
        .await
        .unwrap();
        assert_eq!(seen_token.as_deref(), Some("Bearer t0ken"));
        // The bot asks who it is; then a message arrives and is answered.
        let login = next_action(&mut ws, Duration::from_secs(5)).await.expect("get_login_info");
        assert_eq!(login["action"], "get_login_info");
        ws.send(Message::text(group_message(600 + round, 300002, json!([{"type": "text", "data": {"text": format!("/echo round{round}")}}])))).await.unwrap();
        let action = next_action(&mut ws, Duration::from_secs(5)).await.expect("a reply");
        assert!(text_of(&action).contains(&format!("round{round}")), "{action}");
        // The implementation goes away; the bot dials again (backoff 1 s).
        drop(ws);
    }
    assert_eq!(bot.stop(), Some(0));
}
