//! The floor of `examples/onebot_floor.rs` without an async runtime: the same protocol work
//! (each frame parsed with serde_json, `/echo X` answered with X and anything else with a fixed
//! line, as one `send_group_msg` with a reply segment, action responses read and dropped), but
//! one OS thread per connection blocked in `read`, and tungstenite's synchronous API on a
//! std `TcpStream`. No epoll, no scheduler, no wakers.
//!
//! The two floors differ only in how a message reaches the code, so side by side under the
//! same load they show what the async runtime costs per message on this machine. With
//! `--no-parser` it does even less: the three fields it needs are found by substring search and
//! the reply is formatted straight into a buffer, which shows what JSON handling costs
//! (docs/benchmarks.md, "Run L's round"):
//!
//! ```sh
//! cargo build --release --example onebot_floor_blocking
//! target/release/examples/onebot_floor_blocking [--no-parser] 127.0.0.1:18080 &
//! ../shared/bench/onebot/loadgen --url ws://127.0.0.1:18080/onebot/v11/ws --scenario echo --rate 200 -n 2000 --pid $!
//! ```

use std::net::TcpListener;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

#[path = "floor/mod.rs"]
mod floor;

/// The value of `"key": value` in a flat JSON text, up to the next `,` or `}` (numbers only).
fn number_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start_matches([' ', ':']);
    Some(rest[..rest.find([',', '}'])?].trim())
}

/// `--no-parser`: the reply to a loadgen group message without a JSON parser or builder.
fn reply_without_parser(text: &str, sent: u64, out: &mut String) -> bool {
    use std::fmt::Write as _;
    if !text.contains("\"post_type\": \"message\"") && !text.contains("\"post_type\":\"message\"") {
        return false;
    }
    let (Some(group), Some(id)) = (number_field(text, "\"group_id\""), number_field(text, "\"message_id\"")) else { return false };
    let said = text.find("\"text\": \"").map(|i| &text[i + 9..]).and_then(|r| r.find('"').map(|end| &r[..end])).unwrap_or("");
    let reply = said.strip_prefix("/echo ").unwrap_or("不知道");
    out.clear();
    let _ = write!(
        out,
        r#"{{"action":"send_group_msg","params":{{"group_id":{group},"message":[{{"type":"reply","data":{{"id":"{id}"}}}},{{"type":"text","data":{{"text":"{reply}"}}}}]}},"echo":{sent}}}"#
    );
    true
}

fn main() -> std::io::Result<()> {
    let no_parser = std::env::args().any(|a| a == "--no-parser");
    let addr = std::env::args().skip(1).find(|a| !a.starts_with("--")).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("onebot_floor_blocking listening on ws://{addr}");
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        std::thread::spawn(move || {
            // The same read chunk as the async floor and zhibu's OneBot adapter.
            let config = WebSocketConfig::default().read_buffer_size(2 * 1024);
            let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(config)) else { return };
            let mut sent = 0u64;
            let mut out = String::with_capacity(512);
            while let Ok(message) = ws.read() {
                let Message::Text(text) = message else { continue };
                if no_parser {
                    if reply_without_parser(text.as_str(), sent + 1, &mut out) {
                        sent += 1;
                        if ws.send(Message::text(out.as_str())).is_err() {
                            return;
                        }
                    }
                    continue;
                }
                let Some(action) = floor::reply(text.as_str(), sent + 1) else { continue };
                sent += 1;
                if ws.send(Message::Text(action.into())).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}
