//! Command-line parsing and the subcommands, one module each.

mod check_config;
mod faq;
mod job;
mod member;
mod run;
mod stats;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use zhibu_commands::domain::{BranchId, SystemClock};
use zhibu_commands::store::Store;
use zhibu_commands::Bot;

use zhibu::config::{Config, ConfigError};

/// zhibu 支部: a chat bot for Party branch groups.
#[derive(Debug, Parser)]
#[command(name = "zhibu", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML). Without one, zhibu runs the demo branch on the console.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default: the config's data_dir, else ./zhibu-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bot (the console adapter when no other is configured).
    Run(run::RunArgs),
    /// Check the config file and report every problem with its key.
    CheckConfig,
    /// Ask, list, import and export the FAQ library.
    #[command(subcommand)]
    Faq(faq::FaqCommand),
    /// List members and set their roles.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// List the scheduled jobs, or fire one now.
    #[command(subcommand)]
    Job(job::JobCommand),
    /// A branch's weekly statistics.
    Stats(stats::StatsArgs),
    /// Write every record as JSON lines (to stdout, or --output).
    Export(transfer::ExportArgs),
    /// Read records written by `zhibu export`.
    Import(transfer::ImportArgs),
}

/// An error the user caused (bad config, bad argument): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Warnings and errors, without the SDK's per-request errors (expected 404s such as "account
/// data not found"; the adapter logs the failures that matter) and its key-backup warnings (the
/// bot keeps no server-side key backup).
const DEFAULT_LOG: &str = "warn,zhibu_onebot=info,sled=error,matrix_sdk::http_client=off,matrix_sdk_crypto::backups=error";

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZHIBU_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::demo(),
    };
    let data_dir = cli.data_dir.clone().or_else(|| config.data_dir.clone()).unwrap_or_else(|| PathBuf::from("zhibu-data"));
    let env = Env { config, data_dir };
    match cli.command {
        Command::Run(args) => run::run(args, env),
        Command::CheckConfig => check_config::check(cli.config.as_deref(), &env),
        Command::Faq(cmd) => faq::run(cmd, &env),
        Command::Member(cmd) => member::run(cmd, &env),
        Command::Job(cmd) => job::run(cmd, &env),
        Command::Stats(args) => stats::run(args, &env),
        Command::Export(args) => transfer::export(args, &env),
        Command::Import(args) => transfer::import(args, &env),
    }
}

/// What every subcommand works with.
pub struct Env {
    pub config: Config,
    pub data_dir: PathBuf,
}

impl Env {
    /// The store, with the shipped FAQ loaded if it is new.
    pub fn open_store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.data_dir)?;
        zhibu_commands::shipped::seed_faq(&store, chrono::Utc::now())?;
        Ok(store)
    }

    /// The bot over the store, with the system clock.
    pub fn open_bot(&self) -> anyhow::Result<Bot> {
        let store = self.open_store()?;
        Bot::new(store, self.config.settings.clone(), Arc::new(SystemClock)).context("starting the bot")
    }

    /// The branch named by `--branch`, or the only/first one.
    pub fn branch(&self, name: Option<&str>) -> anyhow::Result<&zhibu_commands::BranchSettings> {
        let branches = &self.config.settings.branches;
        match name {
            None => branches.first().ok_or_else(|| UsageError("no branch is configured".into()).into()),
            Some(name) => {
                let id = BranchId::new(name).map_err(|e| UsageError(e.to_string()))?;
                let known: Vec<&str> = branches.iter().map(|b| b.id.as_str()).collect();
                self.config.settings.branch(&id).ok_or_else(|| UsageError(format!("no branch `{name}` in the config (branches: {})", known.join(", "))).into())
            }
        }
    }
}

/// One line for the user: the error and its causes.
pub fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    let usage = e.chain().any(|c| c.is::<UsageError>() || c.is::<ConfigError>() || c.is::<zhibu::runtime::StartupError>());
    ExitCode::from(if usage { 2 } else { 1 })
}
