//! `zhibu job list` (each job, its next fire in local time and its last outcome, plus pending
//! quiz closes and reminders) and `zhibu job run NAME` (fire one now, e.g. to test a push).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use clap::Subcommand;
use tokio_util::sync::CancellationToken;
use zhibu::delivery::Adapters;
use zhibu::scheduler::Outbox;
use zhibu_commands::store::Outcome;

use super::{Env, UsageError};

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Each job with its schedule, next fire (local time) and last outcome.
    List,
    /// Fire a job now and send its messages (with the bot stopped: the data dir is locked while it runs).
    Run { name: String },
}

pub fn run(cmd: JobCommand, env: &Env) -> anyhow::Result<ExitCode> {
    match cmd {
        JobCommand::List => list(env),
        JobCommand::Run { name } => fire_now(env, &name),
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Registered => "not fired yet".into(),
        Outcome::Sending { messages } => format!("sending ({messages} message(s))"),
        Outcome::Sent { messages } => format!("sent {messages} message(s)"),
        Outcome::Failed { failed, messages, error } => format!("FAILED: {failed} of {messages} message(s) not delivered ({error})"),
        Outcome::Skipped => "skipped (missed outside the catch-up window)".into(),
    }
}

fn list(env: &Env) -> anyhow::Result<ExitCode> {
    let bot = env.open_bot()?;
    let now = Utc::now();
    if env.config.jobs.is_empty() {
        println!("no jobs configured (see [[job]] in zhibu.example.toml)");
    }
    for job in &env.config.jobs {
        let state = bot.store().job_state(&job.name)?;
        let from = state.as_ref().map_or(now, |s| s.last_fire.max(now));
        let local = |t: DateTime<Utc>| t.with_timezone(&job.timezone).format("%Y-%m-%d %H:%M %Z").to_string();
        let next = job.next_after(from).map_or_else(|| "never".into(), local);
        let last = match &state {
            Some(s) if s.outcome != Outcome::Registered => format!("{}: {}", local(s.last_fire), describe(&s.outcome)),
            _ => "not fired yet".into(),
        };
        println!("{}\t{}\t{} ({})\tnext {}\tlast {}", job.name, job.kind, job.cron, job.timezone, next, last);
    }
    if let Some(next) = bot.next_one_off()? {
        println!("pending quiz closes / reminders: next at {}", next.with_timezone(&env.config.settings.timezone).format("%Y-%m-%d %H:%M"));
    }
    Ok(ExitCode::SUCCESS)
}

fn fire_now(env: &Env, name: &str) -> anyhow::Result<ExitCode> {
    let Some(job) = env.config.jobs.iter().find(|j| j.name == name) else {
        let names: Vec<&str> = env.config.jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(UsageError(format!("no job `{name}` in the config (jobs: {})", names.join(", "))).into());
    };
    // Created first, so it outlives the adapters: they use it from sync calls (planning asks
    // for direct chats) and when their stores close.
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    let _context = tokio.enter();
    let bot = Arc::new(env.open_bot()?);
    let list = super::run::adapters(env, &bot);
    for adapter in &list {
        tokio.block_on(adapter.connect_for_sending()).with_context(|| format!("connecting to {}", adapter.platform()))?;
    }
    let adapters = Adapters::new(&list);
    let fire = Utc::now().trunc_subsecs(0);
    let plan = bot.plan_job(&job.kind, &job.branches, fire, &adapters)?;
    let Some(claimed) = bot.store().commit_run(&job.name, fire, plan.messages, &plan.effects)? else {
        return Err(UsageError(format!("job `{name}` already fired at {fire}")).into());
    };
    bot.store().flush()?;
    let entries = claimed.value;
    let count = entries.len();
    tokio.block_on(async {
        let mut outbox = Outbox::new(bot.store().clone(), adapters, CancellationToken::new());
        outbox.enqueue(entries);
        outbox.drain(std::time::Duration::from_secs(60)).await;
    });
    let outcome = bot.store().job_state(&job.name)?.map(|s| describe(&s.outcome)).unwrap_or_default();
    eprintln!("job {name}: {count} message(s) planned; {outcome}");
    Ok(ExitCode::SUCCESS)
}
