//! `zhibu run`: starts the adapters and the runtime, and stops cleanly on SIGINT, SIGTERM or the
//! end of the console's input.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use zhibu_chat::Adapter;
use zhibu_console::{ConsoleAdapter, ConsoleConfig, ConsoleLabels};

use super::{Env, UsageError};
use zhibu::runtime;

pub fn run(env: Env) -> anyhow::Result<ExitCode> {
    let bot = Arc::new(env.open_bot()?);
    let adapters = adapters(&env, &bot);
    if adapters.is_empty() {
        return Err(UsageError("no adapter is enabled: enable [console] or configure another adapter".into()).into());
    }
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    tokio.block_on(async move {
        let shutdown = CancellationToken::new();
        let signals = tokio::spawn(cancel_on_signal(shutdown.clone()));
        let result = runtime::run(bot, adapters, env.config.jobs.clone(), shutdown).await;
        signals.abort();
        result
    })?;
    // stdin may still be held by a blocked read; don't wait for it.
    tokio.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(ExitCode::SUCCESS)
}

/// The adapters the config enables.
pub fn adapters(env: &Env, bot: &zhibu_commands::Bot) -> Vec<Arc<dyn Adapter>> {
    let mut adapters: Vec<Arc<dyn Adapter>> = Vec::new();
    if env.config.console.enabled {
        let catalog = bot.catalog();
        let labels = ConsoleLabels {
            group: catalog.get("console.group").to_owned(),
            direct: catalog.get("console.direct").to_owned(),
            invalid_name: catalog.get("console.invalid_name").to_owned(),
            unknown_directive: catalog.get("console.unknown_directive").to_owned(),
        };
        adapters.push(Arc::new(ConsoleAdapter::stdio(ConsoleConfig {
            initial_speaker: env.config.console.initial_speaker.clone(),
            max_line_bytes: env.config.console.max_line_bytes,
            labels,
        })));
    }
    if let Some(m) = &env.config.matrix {
        adapters.push(Arc::new(zhibu_matrix::MatrixAdapter::new(zhibu_matrix::MatrixConfig {
            homeserver: m.homeserver.clone(),
            user: m.user.clone(),
            password: m.password.clone(),
            access_token: m.access_token.clone(),
            device_id: m.device_id.clone(),
            store_dir: env.data_dir.join("matrix"),
            allowed_inviters: m.allowed_inviters.clone(),
            allowed_rooms: m.allowed_rooms.clone(),
            sync_timeout: std::time::Duration::from_secs(30),
        })));
    }
    adapters
}

async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            token.cancel();
            return;
        }
    }
    let _ = ctrl_c.await;
    token.cancel();
}
