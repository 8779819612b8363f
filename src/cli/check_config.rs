//! `zhibu check-config`: loads the config (done before dispatch, so problems are already
//! reported with their keys by then) and summarises what it sets up.

use std::path::Path;
use std::process::ExitCode;

use super::{Env, UsageError};

pub fn check(path: Option<&Path>, env: &Env) -> anyhow::Result<ExitCode> {
    let Some(path) = path else {
        return Err(UsageError("check-config needs --config FILE".into()).into());
    };
    let s = &env.config.settings;
    println!("{}: OK", path.display());
    println!("  language {}, timezone {}, data dir {}", s.language, s.timezone, env.data_dir.display());
    for b in &s.branches {
        println!(
            "  branch {} ({}): {} group(s), {} secretary(ies), {} committee, auto_enroll {}",
            b.id,
            b.name,
            b.groups.len(),
            b.secretaries.len(),
            b.committee.len(),
            b.auto_enroll
        );
    }
    println!("  console adapter {}", if env.config.console.enabled { "enabled" } else { "disabled" });
    if let Some(w) = &env.config.wechat_oa {
        let mode = match (w.mode, w.encoding_aes_key.is_some()) {
            (zhibu_wechat_oa::Mode::Safe, _) => "safe mode only",
            (_, true) => "plaintext and safe mode",
            (_, false) => "plaintext only",
        };
        println!("  wechat_oa adapter: callback http://{}{} ({mode}), API {}", w.listen, w.path, w.api_base);
    }
    if let Some(w) = &env.config.wecom {
        println!("  wecom adapter: {} robot(s), at most {} message(s) a minute each", w.robots.len(), w.per_minute);
        for r in &w.robots {
            // `Webhook` shows the address without its key.
            let format = match r.format {
                zhibu_wecom::Format::Text => "text",
                zhibu_wecom::Format::Markdown => "markdown",
            };
            println!("    wecom:{} → {} ({format})", r.name, r.webhook);
        }
    }
    Ok(ExitCode::SUCCESS)
}
