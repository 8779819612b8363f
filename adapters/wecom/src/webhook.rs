//! A robot's webhook address, the HTTP POST to it, and what WeCom's answer means for the
//! runtime's retry policy.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;
use zhibu_chat::SendError;

/// WeCom's errcode for "over the frequency limit" (20 messages a minute per robot).
pub const ERRCODE_RATE_LIMITED: i64 = 45009;
/// WeCom's errcode for "system busy, try again".
const ERRCODE_BUSY: i64 = -1;
/// How long to wait after WeCom says 45009: its limit is counted per minute.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Why a webhook address cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("not a URL")]
    NotAUrl,
    #[error("not an http:// or https:// URL")]
    Scheme,
    #[error("has no `key=` (copy the robot's whole webhook address)")]
    NoKey,
}

/// A robot's webhook address (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`).
/// The key is a secret: `Display` and `Debug` show the address without it.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook(Url);

impl Webhook {
    pub fn parse(s: &str) -> Result<Self, WebhookError> {
        let url = Url::parse(s.trim()).map_err(|_| WebhookError::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(WebhookError::Scheme);
        }
        if !url.query_pairs().any(|(k, v)| k == "key" && !v.is_empty()) {
            return Err(WebhookError::NoKey);
        }
        Ok(Self(url))
    }

    pub(crate) fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        shown.set_query(Some("key=***"));
        write!(f, "{shown}")
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Webhook({self})")
    }
}

/// What came back from one POST: the HTTP status and the body.
#[derive(Debug, Clone)]
pub(crate) struct HttpReply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Posts a JSON body to a webhook. A seam so that the pacing tests run on tokio's paused clock
/// without real sockets (whose timeouts a paused clock would fire at once).
#[async_trait]
pub(crate) trait Transport: Send + Sync {
    async fn post_json(&self, webhook: &Webhook, body: Vec<u8>) -> Result<HttpReply, SendError>;
}

/// The real transport (reqwest, rustls).
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout.min(Duration::from_secs(10))).build()?;
        Ok(Self { client })
    }
}

#[async_trait]
impl Transport for Http {
    async fn post_json(&self, webhook: &Webhook, body: Vec<u8>) -> Result<HttpReply, SendError> {
        let response =
            self.client.post(webhook.url().clone()).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await.map_err(network_error)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(network_error)?;
        Ok(HttpReply { status, body: body.to_vec() })
    }
}

/// A failed request as a transient error with its causes ("error sending request" alone does
/// not say whether DNS, the connection or TLS failed).
fn network_error(e: reqwest::Error) -> SendError {
    // reqwest's errors name the URL, and the URL holds the robot's key.
    let e = e.without_url();
    let mut message = format!("WeCom webhook: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    SendError::Transient(message)
}

#[derive(Deserialize)]
struct Answer {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// What WeCom's answer means: `{"errcode":0}` is delivered; 45009 is the frequency limit;
/// a busy system, a 5xx or a 429 may pass; any other errcode (a removed robot, a bad key, a
/// refused message) will not, and its errmsg says why.
pub(crate) fn interpret(reply: &HttpReply) -> Result<(), SendError> {
    match reply.status {
        200..=299 => {}
        429 => return Err(SendError::RateLimited { retry_after: RATE_LIMIT_WAIT }),
        500..=599 => return Err(SendError::Transient(format!("WeCom webhook: HTTP {}", reply.status))),
        status => return Err(SendError::Permanent(format!("WeCom webhook: HTTP {status}"))),
    }
    let answer: Answer =
        serde_json::from_slice(&reply.body).map_err(|_| SendError::Permanent(format!("WeCom webhook: not a webhook answer: {}", preview(&reply.body))))?;
    match answer.errcode {
        0 => Ok(()),
        ERRCODE_RATE_LIMITED => Err(SendError::RateLimited { retry_after: RATE_LIMIT_WAIT }),
        ERRCODE_BUSY => Err(SendError::Transient(format!("WeCom errcode -1: {}", answer.errmsg))),
        code => Err(SendError::Permanent(format!("WeCom errcode {code}: {}", answer.errmsg))),
    }
}

/// The start of an unexpected body, for the log.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn webhooks_are_checked_and_shown_without_their_key() {
        let hook = Webhook::parse("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx").unwrap();
        assert_eq!(hook.to_string(), "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***");
        assert!(!format!("{hook:?}").contains("693a"));
        assert_eq!(Webhook::parse("qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1"), Err(WebhookError::NotAUrl));
        assert_eq!(Webhook::parse("ftp://qyapi.weixin.qq.com/send?key=1"), Err(WebhookError::Scheme));
        assert_eq!(Webhook::parse("https://qyapi.weixin.qq.com/cgi-bin/webhook/send"), Err(WebhookError::NoKey));
        assert_eq!(Webhook::parse("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="), Err(WebhookError::NoKey));
    }

    fn reply(status: u16, body: &str) -> HttpReply {
        HttpReply { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn answers_map_to_the_retry_policy() {
        assert_eq!(interpret(&reply(200, r#"{"errcode":0,"errmsg":"ok"}"#)), Ok(()));
        assert_eq!(
            interpret(&reply(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#)),
            Err(SendError::RateLimited { retry_after: RATE_LIMIT_WAIT })
        );
        assert_eq!(interpret(&reply(429, "")), Err(SendError::RateLimited { retry_after: RATE_LIMIT_WAIT }));
        assert!(matches!(interpret(&reply(200, r#"{"errcode":-1,"errmsg":"system busy"}"#)), Err(SendError::Transient(_))));
        assert!(matches!(interpret(&reply(502, "bad gateway")), Err(SendError::Transient(_))));
        assert_eq!(
            interpret(&reply(200, r#"{"errcode":93000,"errmsg":"invalid webhook url, hint: [1]"}"#)),
            Err(SendError::Permanent("WeCom errcode 93000: invalid webhook url, hint: [1]".into()))
        );
        assert!(matches!(interpret(&reply(404, "")), Err(SendError::Permanent(m)) if m.contains("HTTP 404")));
        assert!(matches!(interpret(&reply(200, "<html>")), Err(SendError::Permanent(m)) if m.contains("<html>")));
    }
}
