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

/// Options of `zhibu run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Serve OneBot v11 reverse WebSocket on this address, overriding `[onebot] listen` (and
    /// enabling OneBot with default settings when the config has no `[onebot]`).
    #[arg(long, value_name = "ADDR")]
    onebot_listen: Option<std::net::SocketAddr>,
}

pub fn run(args: RunArgs, mut env: Env) -> anyhow::Result<ExitCode> {
    if let Some(addr) = args.onebot_listen {
        env.config.onebot.get_or_insert_with(zhibu_onebot::OneBotConfig::default).listen = Some(addr);
    }
    let bot = Arc::new(env.open_bot()?);
    let adapters = adapters(&env, &bot);
    if adapters.is_empty() {
        return Err(UsageError("no adapter is enabled: enable [console] or configure another adapter".into()).into());
    }
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("zhibu").build().context("starting the async runtime")?;
    let result = tokio.block_on(async move {
        let shutdown = CancellationToken::new();
        let signals = tokio::spawn(cancel_on_signal(shutdown.clone()));
        let result = runtime::run(bot, adapters, env.config.jobs.clone(), env.config.limits, shutdown).await;
        signals.abort();
        result
    });
    // Tasks still running (stdin held by a blocked read, a send to a peer that never answers)
    // are left: the store is flushed already.
    tokio.shutdown_timeout(std::time::Duration::from_millis(100));
    result?;
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
    if let Some(onebot) = &env.config.onebot {
        adapters.push(Arc::new(zhibu_onebot::OneBotAdapter::new(onebot.clone())));
    }
    if let Some(wechat_oa) = &env.config.wechat_oa {
        let catalog = bot.catalog();
        let mut config = wechat_oa.clone();
        // A new follower is greeted and shown what to send: the texts are the bot's, not the
        // adapter's.
        config.welcome = zhibu_wechat_oa::Welcome { greeting: catalog.get("wxoa.welcome").to_owned(), command: catalog.get("wxoa.welcome_command").to_owned() };
        match zhibu_wechat_oa::WechatOaAdapter::new(config) {
            Ok(adapter) => adapters.push(Arc::new(adapter)),
            // The config check has already refused a bad key; this is not reached.
            Err(e) => tracing::error!(error = %e, "the WeChat Official Account adapter cannot start"),
        }
    }
    if let Some(wecom) = &env.config.wecom {
        adapters.push(Arc::new(zhibu_wecom::WeComAdapter::new(wecom.clone())));
    }
    adapters
}

/// Cancels `token` on SIGINT or SIGTERM. A second signal while stopping exits at once (every
/// acknowledged record is on disk already).
async fn cancel_on_signal(token: CancellationToken) {
    for signals in 0.. {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    token.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        if signals > 0 {
            eprintln!("zhibu: stopping now");
            std::process::exit(130);
        }
        tracing::info!("stopping (a second signal stops at once)");
        token.cancel();
    }
}
