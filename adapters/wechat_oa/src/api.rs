//! The customer-service message API (客服消息), for replies that missed the 5-second window and
//! for messages the bot starts (scheduled pushes): `POST /cgi-bin/message/custom/send` with an
//! access token from `/cgi-bin/token`, cached until shortly before it expires.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use zhibu_chat::SendError;

/// How long before its announced expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// What the platform's "slow down" errors are waited out with (it names no time of its own).
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// WeChat's answer to every API call (other fields vary by call).
#[derive(Debug, Deserialize)]
struct ApiReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The error codes that say the access token is no longer valid.
fn token_expired(errcode: i64) -> bool {
    matches!(errcode, 40001 | 40014 | 42001)
}

/// An API error code as a [`SendError`]: what the runtime should do about it.
pub fn classify(errcode: i64, errmsg: &str) -> SendError {
    let what = format!("WeChat API error {errcode}: {errmsg}");
    match errcode {
        // 45047: too many messages to this follower; 45009: the daily API quota; 45011: calls
        // too frequent.
        45009 | 45011 | 45047 => SendError::RateLimited { retry_after: RATE_LIMIT_WAIT },
        // The system is busy.
        -1 => SendError::Transient(what),
        // Token errors that survived a refetch, 45015 (the follower has not written in 48 hours),
        // 43004 (not a follower), 40003 (bad OpenID), bad AppSecret, IP not whitelisted …
        _ => SendError::Permanent(what),
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

/// A client of one Official Account's API.
pub struct Api {
    http: reqwest::Client,
    base: String,
    app_id: String,
    app_secret: String,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("base", &self.base).field("app_id", &self.app_id).finish_non_exhaustive()
    }
}

fn transient(e: reqwest::Error) -> SendError {
    SendError::Transient(format!("WeChat API unreachable: {e}"))
}

impl Api {
    pub fn new(base: &str, app_id: &str, app_secret: &str) -> Self {
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().unwrap_or_default();
        Self { http, base: base.trim_end_matches('/').to_owned(), app_id: app_id.to_owned(), app_secret: app_secret.to_owned(), token: Mutex::new(None) }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<ApiReply, SendError> {
        let response = request.send().await.map_err(transient)?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(SendError::Transient(format!("WeChat API answered HTTP {status}")));
        }
        let body = response.bytes().await.map_err(transient)?;
        serde_json::from_slice(&body).map_err(|_| SendError::Transient(format!("WeChat API answered HTTP {status} with no JSON")))
    }

    /// A valid access token: the cached one, or a new one (the lock makes concurrent senders
    /// share one fetch).
    async fn token(&self, stale: Option<&str>) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.renew_at && Some(token.value.as_str()) != stale {
                return Ok(token.value.clone());
            }
        }
        let url = format!("{}/cgi-bin/token", self.base);
        let query = [("grant_type", "client_credential"), ("appid", &self.app_id), ("secret", &self.app_secret)];
        let reply = self.call(self.http.get(url).query(&query)).await?;
        let (Some(value), 0) = (reply.access_token, reply.errcode) else {
            return Err(classify(reply.errcode, &reply.errmsg));
        };
        let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(7200));
        // Renew a little early; for a short-lived token, halfway through.
        let renew_at = Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2));
        *cached = Some(Token { value: value.clone(), renew_at });
        Ok(value)
    }

    /// Sends `text` to the follower `openid`, as several messages (split at line ends) when it
    /// is longer than one carries. A failure stops at the part that failed; a retry of the
    /// whole send repeats the parts already sent rather than lose the rest.
    pub async fn send_text(&self, openid: &str, text: &str) -> Result<(), SendError> {
        for part in zhibu_chat::split_lines(text, crate::slots::TEXT_MAX_BYTES) {
            self.send_one(openid, &part).await?;
        }
        Ok(())
    }

    /// Sends one text message. A token the platform calls expired is replaced and the send
    /// tried once more.
    async fn send_one(&self, openid: &str, text: &str) -> Result<(), SendError> {
        let body = serde_json::json!({"touser": openid, "msgtype": "text", "text": {"content": text}});
        let body = serde_json::to_vec(&body).map_err(|e| SendError::Permanent(e.to_string()))?;
        let mut stale = None;
        for _ in 0..2 {
            let token = self.token(stale.as_deref()).await?;
            let url = format!("{}/cgi-bin/message/custom/send", self.base);
            let request = self.http.post(url).query(&[("access_token", token.as_str())]).header("content-type", "application/json").body(body.clone());
            let reply = self.call(request).await?;
            match reply.errcode {
                0 => return Ok(()),
                code if token_expired(code) && stale.is_none() => {
                    tracing::info!(errcode = code, "WeChat access token refused; fetching a new one");
                    stale = Some(token);
                }
                code => return Err(classify(code, &reply.errmsg)),
            }
        }
        Err(SendError::Transient("WeChat refused a fresh access token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_what_the_runtime_should_do() {
        assert_eq!(classify(45047, "out of limit"), SendError::RateLimited { retry_after: RATE_LIMIT_WAIT });
        assert_eq!(classify(45009, "reach max api daily quota limit"), SendError::RateLimited { retry_after: RATE_LIMIT_WAIT });
        assert!(matches!(classify(-1, "system error"), SendError::Transient(_)));
        assert!(matches!(classify(45015, "response out of time limit"), SendError::Permanent(_)));
        assert!(matches!(classify(40001, "invalid credential"), SendError::Permanent(_)));
        assert!(token_expired(40001) && token_expired(42001) && !token_expired(45047));
    }
}
