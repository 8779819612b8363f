//! Reverse WebSocket: the bot serves, implementations (NapCat, Lagrange, go-cqhttp) connect.
//! The handshake is checked before anything else: path, access token, `X-Self-ID`,
//! `X-Client-Role`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::{serve, Connection, Context};
use crate::ws_config;

/// A handshake that does not finish in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server accepts.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The endpoint path (`/onebot/v11/ws`); a trailing `/` is accepted too.
    pub path: String,
    pub access_token: Option<String>,
}

/// Why a handshake was refused: the status and a one-line reason for the implementation's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub StatusCode, pub &'static str);

fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Equal in time that does not depend on where the strings differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a handshake; the account's self id when it is acceptable.
pub fn check(req: &Request, settings: &ServerSettings) -> Result<String, Refusal> {
    let path = req.uri().path().trim_end_matches('/');
    if path != settings.path.trim_end_matches('/') {
        return Err(Refusal(StatusCode::NOT_FOUND, "no OneBot endpoint at this path"));
    }
    if let Some(expected) = &settings.access_token {
        let from_header = header(req, "authorization").map(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("Token ")).unwrap_or(v).trim());
        let from_query = req.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("access_token=")));
        match from_header.or(from_query) {
            None => return Err(Refusal(StatusCode::UNAUTHORIZED, "access token required")),
            Some(given) if !same_secret(given, expected) => return Err(Refusal(StatusCode::FORBIDDEN, "wrong access token")),
            Some(_) => {}
        }
    }
    match header(req, "x-client-role") {
        None => {}
        Some(role) if role.eq_ignore_ascii_case("universal") => {}
        Some(_) => return Err(Refusal(StatusCode::BAD_REQUEST, "only X-Client-Role: Universal is supported")),
    }
    match header(req, "x-self-id") {
        Some(id) if !id.is_empty() && id.len() <= 64 && !id.contains('/') && !id.chars().any(char::is_control) => Ok(id.to_owned()),
        _ => Err(Refusal(StatusCode::BAD_REQUEST, "X-Self-ID header missing or invalid")),
    }
}

/// Accepts connections until `shutdown`; each is served on its own task in `tracker`.
pub async fn accept_loop(listener: TcpListener, settings: Arc<ServerSettings>, ctx: Arc<Context>, tracker: TaskTracker, shutdown: CancellationToken) {
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a OneBot connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (settings, ctx, shutdown) = (settings.clone(), ctx.clone(), shutdown.clone());
        tracker.spawn(async move {
            let shaken = tokio::select! {
                shaken = handshake(stream, &settings) => shaken,
                () = shutdown.cancelled() => return,
            };
            match shaken {
                Ok((ws, account)) => {
                    tracing::info!(%peer, %account, "OneBot implementation connected (reverse WebSocket)");
                    let (conn, outgoing) = Connection::new();
                    match serve(ws, conn, outgoing, ctx, Some(account.clone()), shutdown).await {
                        Ok(()) => tracing::info!(%peer, %account, "OneBot connection closed"),
                        Err(why) => tracing::warn!(%peer, %account, "OneBot connection dropped: {why}"),
                    }
                }
                Err(why) => tracing::warn!(%peer, "OneBot handshake refused: {why}"),
            }
        });
    }
}

async fn handshake(stream: TcpStream, settings: &ServerSettings) -> Result<(tokio_tungstenite::WebSocketStream<TcpStream>, String), String> {
    let _ = stream.set_nodelay(true);
    let mut account = None;
    let mut refusal = None;
    // The callback's signature is tungstenite's; its error is the refusal response itself.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match check(req, settings) {
            Ok(id) => {
                account = Some(id);
                Ok(response)
            }
            Err(Refusal(status, why)) => {
                refusal = Some(why);
                let mut error = ErrorResponse::new(Some(why.to_owned()));
                *error.status_mut() = status;
                Err(error)
            }
        }
    };
    let accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config()))).await;
    match accepted {
        Err(_) => Err("handshake timed out".into()),
        Ok(Err(e)) => Err(refusal.map_or_else(|| e.to_string(), str::to_owned)),
        Ok(Ok(ws)) => account.map(|a| (ws, a)).ok_or_else(|| "no account".into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn req(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn handshakes_are_checked() {
        let s = ServerSettings { path: "/onebot/v11/ws".into(), access_token: Some("s3cret".into()) };
        let ok = [("X-Self-ID", "10001000"), ("X-Client-Role", "Universal"), ("Authorization", "Bearer s3cret")];
        assert_eq!(check(&req("/onebot/v11/ws", &ok), &s), Ok("10001000".into()));
        assert_eq!(check(&req("/onebot/v11/ws/", &ok), &s), Ok("10001000".into()));
        assert_eq!(check(&req("/onebot/v11/ws?access_token=s3cret", &ok[..2]), &s), Ok("10001000".into()));
        assert_eq!(check(&req("/other", &ok), &s).unwrap_err().0, StatusCode::NOT_FOUND);
        assert_eq!(check(&req("/onebot/v11/ws", &ok[..2]), &s).unwrap_err().0, StatusCode::UNAUTHORIZED);
        let wrong = [ok[0], ok[1], ("Authorization", "Bearer guess")];
        assert_eq!(check(&req("/onebot/v11/ws", &wrong), &s).unwrap_err().0, StatusCode::FORBIDDEN);
        let api = [ok[0], ("X-Client-Role", "API"), ok[2]];
        assert_eq!(check(&req("/onebot/v11/ws", &api), &s).unwrap_err().0, StatusCode::BAD_REQUEST);
        assert_eq!(check(&req("/onebot/v11/ws", &ok[1..]), &s).unwrap_err().0, StatusCode::BAD_REQUEST);
        let open = ServerSettings { access_token: None, ..s };
        assert_eq!(check(&req("/onebot/v11/ws", &ok[..1]), &open), Ok("10001000".into()));
    }
}
