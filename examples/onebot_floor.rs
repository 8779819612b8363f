//! The floor for a OneBot v11 bot in Rust on this machine: a reverse-WebSocket server that does
//! the protocol's minimum and nothing else. It parses each frame, answers `/echo X` with X and
//! anything else with a fixed line, as one `send_group_msg` with a reply segment, and ignores
//! action responses. Same runtime shape as `zhibu run` (current-thread tokio, tungstenite
//! reading 2 KiB at a time, serde_json), no store, no commands.
//!
//! What zhibu costs above this is the price of its own work; docs/benchmarks.md compares the
//! two under the shared harness's load generator:
//!
//! ```sh
//! cargo build --release --example onebot_floor
//! target/release/examples/onebot_floor 127.0.0.1:18080 &
//! ../shared/bench/onebot/loadgen --url ws://127.0.0.1:18080/onebot/v11/ws --scenario echo --rate 200 -n 2000 --pid $!
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[path = "floor/mod.rs"]
mod floor;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("onebot_floor listening on ws://{addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            // tungstenite zeroes its read chunk before every read: 128 KiB by default. The same
            // chunk as zhibu's OneBot adapter.
            let config = WebSocketConfig::default().read_buffer_size(2 * 1024);
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
            let mut sent = 0u64;
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else { continue };
                let Some(action) = floor::reply(text.as_str(), sent + 1) else { continue };
                sent += 1;
                if ws.send(Message::Text(action.into())).await.is_err() {
                    return;
                }
            }
        });
    }
}
