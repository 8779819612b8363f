//! `zhibu stats [--week YYYY-Www] [--format text|csv|json]`.

use std::process::ExitCode;

use chrono::Utc;
use clap::{Args, ValueEnum};
use zhibu_commands::domain::{local_date, Week};
use zhibu_commands::i18n::Catalog;
use zhibu_commands::stats::weekly_stats;

use super::{Env, UsageError};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The week: YYYY-Www, 本周/this or 上周/last (default: this week).
    #[arg(long)]
    week: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Branch id (default: the first configured branch).
    #[arg(long)]
    branch: Option<String>,
}

pub fn run(args: StatsArgs, env: &Env) -> anyhow::Result<ExitCode> {
    let settings = &env.config.settings;
    let branch = env.branch(args.branch.as_deref())?;
    let today = local_date(Utc::now(), settings.timezone);
    let week = Week::parse_relative(args.week.as_deref().unwrap_or(""), today).map_err(|e| UsageError(e.to_string()))?;
    let store = env.open_store()?;
    let stats = weekly_stats(&store, branch, week, settings.timezone, today)?;
    match args.format {
        Format::Text => println!("{}", stats.render_text(&Catalog::load(settings.language)?)),
        Format::Csv => print!("{}", stats.to_csv()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
    }
    Ok(ExitCode::SUCCESS)
}
