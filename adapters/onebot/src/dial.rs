//! Forward WebSocket: the bot dials the implementation's WebSocket server and redials with
//! backoff whenever the connection drops or goes silent.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::connection::{serve, Connection, Context};
use crate::ws_config;

/// Delays between attempts grow from the first to the last and stay there.
const BACKOFF: [Duration; 6] =
    [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4), Duration::from_secs(8), Duration::from_secs(15), Duration::from_secs(30)];
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One implementation to dial.
#[derive(Debug, Clone)]
pub struct ForwardSettings {
    pub url: String,
    pub access_token: Option<String>,
}

/// Dials `settings.url` until `shutdown`, serving each connection while it lasts.
pub async fn dial_forever(settings: ForwardSettings, ctx: Arc<Context>, action_timeout: Duration, shutdown: CancellationToken) {
    let mut attempt = 0usize;
    loop {
        match connect(&settings).await {
            Ok(ws) => {
                attempt = 0;
                tracing::info!(url = %settings.url, "connected to the OneBot implementation (forward WebSocket)");
                let (conn, outgoing) = Connection::new();
                // Learn the account at once, not only from the first event.
                let (login, ctx2) = (conn.clone(), ctx.clone());
                tokio::spawn(async move {
                    if let Ok(frame) = login.call("get_login_info", serde_json::Map::new(), action_timeout).await {
                        if let Some(id) = frame.user_id {
                            ctx2.accounts.register(&id, &login);
                        }
                    }
                });
                match serve(ws, conn, outgoing, ctx.clone(), None, shutdown.clone()).await {
                    Ok(()) if shutdown.is_cancelled() => return,
                    Ok(()) => tracing::warn!(url = %settings.url, "the OneBot implementation closed the connection"),
                    Err(why) => tracing::warn!(url = %settings.url, "OneBot connection lost: {why}"),
                }
            }
            Err(e) => tracing::warn!(url = %settings.url, error = %e, "cannot reach the OneBot implementation"),
        }
        let delay = BACKOFF[attempt.min(BACKOFF.len() - 1)];
        attempt += 1;
        tracing::info!(url = %settings.url, "reconnecting in {delay:?}");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

async fn connect(settings: &ForwardSettings) -> Result<WebSocketStream<TcpStream>, String> {
    let mut request = settings.url.as_str().into_client_request().map_err(|e| e.to_string())?;
    if let Some(token) = &settings.access_token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
        request.headers_mut().insert("Authorization", value);
    }
    let uri = request.uri();
    let host = uri.host().filter(|h| !h.is_empty()).ok_or("the URL has no host")?;
    match uri.scheme_str() {
        Some("ws") => {}
        Some("wss") => return Err("wss:// is not supported: this build has no TLS (use ws://, or a TLS proxy in front)".into()),
        _ => return Err("the URL is not ws://".into()),
    }
    let address = format!("{host}:{}", uri.port_u16().unwrap_or(80));
    let dial = async {
        let socket = TcpStream::connect(&address).await.map_err(|e| e.to_string())?;
        let _ = socket.set_nodelay(true);
        tokio_tungstenite::client_async_with_config(request, socket, Some(ws_config())).await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, dial).await {
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
        Ok(Err(e)) => Err(e),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}
