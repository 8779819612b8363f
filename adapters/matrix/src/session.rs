//! Logging in once and restoring the session after: the session and the last sync token are
//! files in the store dir, beside the SDK's sqlite state and crypto stores.

use std::path::Path;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use zhibu_chat::AdapterError;

use crate::MatrixConfig;

const SESSION_FILE: &str = "session.json";
const TOKEN_FILE: &str = "sync_token";

fn protocol(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Protocol(e.to_string())
}

fn startup(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Startup(e.to_string())
}

/// Connects, restoring the saved session or logging in; returns the client and the last sync
/// token (none after a fresh login).
pub async fn connect(config: &MatrixConfig) -> Result<(Client, Option<String>), AdapterError> {
    let dir = &config.store_dir;
    std::fs::create_dir_all(dir)?;
    let client = Client::builder()
        .homeserver_url(&config.homeserver)
        .sqlite_store(dir.join("sdk"), None)
        .build()
        .await
        .map_err(|e| protocol(format!("cannot use homeserver {}: {e}", config.homeserver)))?;
    if let Ok(saved) = std::fs::read_to_string(dir.join(SESSION_FILE)) {
        let session: MatrixSession = serde_json::from_str(&saved).map_err(|e| protocol(format!("{}: {e}", dir.join(SESSION_FILE).display())))?;
        client.restore_session(session).await.map_err(|e| protocol(format!("restoring the Matrix session failed: {e}")))?;
        let token = std::fs::read_to_string(dir.join(TOKEN_FILE)).ok().filter(|t| !t.trim().is_empty());
        return Ok((client, token));
    }
    let who = &config.user;
    if let Some(access_token) = &config.access_token {
        let user_id = if who.starts_with('@') { who.clone() } else { format!("@{who}:{}", host_of(&config.homeserver)) };
        let session = MatrixSession {
            meta: SessionMeta {
                user_id: user_id.as_str().try_into().map_err(|e| startup(format!("matrix.user `{who}`: {e}")))?,
                device_id: config.device_id.as_str().into(),
            },
            tokens: SessionTokens { access_token: access_token.clone(), refresh_token: None },
        };
        client.restore_session(session).await.map_err(|e| protocol(format!("using the access token for {who} on {} failed: {e}", config.homeserver)))?;
        client.whoami().await.map_err(|e| startup(format!("the access token for {who} is not accepted by {}: {e}", config.homeserver)))?;
    } else {
        let password = config.password.as_deref().ok_or_else(|| startup("matrix: give a password or an access_token"))?;
        client
            .matrix_auth()
            .login_username(who, password)
            .device_id(&config.device_id)
            .initial_device_display_name("zhibu")
            .await
            .map_err(|e| startup(format!("login to {} as {who} failed: {e}", config.homeserver)))?;
    }
    if let Some(session) = client.matrix_auth().session() {
        write_atomic(&dir.join(SESSION_FILE), &serde_json::to_string(&session).map_err(protocol)?)?;
    }
    Ok((client, None))
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// Saves the sync token after each sync, atomically.
pub fn save_token(dir: &Path, token: &str) -> Result<(), AdapterError> {
    write_atomic(&dir.join(TOKEN_FILE), token)
}

fn write_atomic(path: &Path, content: &str) -> Result<(), AdapterError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
