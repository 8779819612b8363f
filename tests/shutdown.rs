//! `zhibu run` stops within 5 s of SIGTERM whatever its peers do: here one OneBot
//! implementation has stopped reading, so the bot's writes to it block and its calls wait for
//! answers that never come, while another implementation is served as usual.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::onebot::Peer;
use common::Zhibu;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "t0ken";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_bot_within_5_s_whatever_its_peers_do() {
    let z = Zhibu::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = z.write(
        "shutdown.toml",
        format!(
            "[onebot]\nlisten = \"127.0.0.1:{port}\"\naccess_token = \"{TOKEN}\"\nchat_rate = 0\n\
             [limits]\nmember_per_minute = 0\nchat_per_minute = 0\n\
             [[branch]]\nid = \"cs\"\ngroups = [\"onebot:10001000/group/200001\"]\nauto_enroll = true\n"
        )
        .as_bytes(),
    );
    let bot = z.spawn_logged(&config, &[]);
    // A peer that answers (to see the bot up), then a second account that reads nothing at all
    // once connected: a tiny receive buffer, soon full with the bot's answers.
    let mut up = Peer::connect(port, TOKEN).await;
    up.say_in_group(1, 200001, 300001, "/echo 在吗");
    tokio::time::timeout(Duration::from_secs(10), up.actions.recv()).await.unwrap().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(format!("127.0.0.1:{port}").parse().unwrap()).await.unwrap();
    let mut req = format!("ws://127.0.0.1:{port}/onebot/v11/ws").into_client_request().unwrap();
    req.headers_mut().insert("X-Self-ID", "10002000".parse().unwrap());
    req.headers_mut().insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut deaf, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    // Today's study item (1.5 KB) to 4,000 members: more than the socket buffers hold.
    for i in 0..4000u64 {
        let question = serde_json::json!({"time": chrono::Utc::now().timestamp(), "self_id": 10002000, "post_type": "message",
            "message_type": "private", "sub_type": "friend", "message_id": 10 + i, "user_id": 400_000 + i,
            "message": "/学习", "raw_message": "", "font": 0, "sender": {"user_id": 400_000 + i, "nickname": "x"}});
        deaf.send(Message::text(question.to_string())).await.unwrap();
    }
    // And a connection that never finishes its handshake.
    let mut slow = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut slow, b"GET /onebot/v11/ws HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    up.say_in_group(2, 200001, 300002, "/echo 还在吗");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let code = tokio::task::spawn_blocking(move || bot.stop()).await.unwrap();
    let took = started.elapsed();
    println!("stopped in {took:?}");
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    drop((deaf, slow));
}
