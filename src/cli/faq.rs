//! `zhibu faq ask|list|import|export`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use zhibu_commands::cmd::faq_reply;
use zhibu_commands::faq::{parse_library, FaqEntry, FaqLibraryError, FaqRules};

use super::{read_file, Env, UsageError};

#[derive(Debug, Subcommand)]
pub enum FaqCommand {
    /// Answer a question (or one question per stdin line) as the bot would.
    Ask {
        /// One JSON object per question: {"q", "answer" (null when the bot would not know), "id", "score", "question"}.
        #[arg(long)]
        json: bool,
        /// The question; read one per line from stdin when absent.
        question: Vec<String>,
    },
    /// List the library's entries: id, topic, question.
    List,
    /// Add and update entries from a TOML file ([[entry]] tables, optional synonyms and decline rules); all or nothing.
    Import { file: PathBuf },
    /// Print the library as TOML (the format `import` reads).
    Export,
}

pub fn run(cmd: FaqCommand, env: &Env) -> anyhow::Result<ExitCode> {
    match cmd {
        FaqCommand::Ask { json, question } => ask(env, json, question),
        FaqCommand::List => {
            let store = env.open_store()?;
            let mut out = std::io::stdout().lock();
            for e in store.faq_entries()? {
                writeln!(out, "{}\t{}\t{}", e.id, e.topic, e.question)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        FaqCommand::Import { file } => import(env, &file),
        FaqCommand::Export => {
            #[derive(Serialize)]
            struct LibraryOut {
                synonyms: Vec<Vec<String>>,
                decline: Vec<String>,
                entry: Vec<FaqEntry>,
            }
            let store = env.open_store()?;
            let rules = store.faq_rules()?;
            let out = LibraryOut { synonyms: rules.synonyms, decline: rules.decline, entry: store.faq_entries()? };
            print!("{}", toml::to_string(&out).context("writing the library as TOML")?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn ask(env: &Env, json: bool, question: Vec<String>) -> anyhow::Result<ExitCode> {
    let bot = env.open_bot()?;
    let questions: Vec<String> = if question.is_empty() {
        let mut lines = Vec::new();
        for line in std::io::stdin().lock().split(b'\n') {
            let line = String::from_utf8_lossy(&line?).trim_end_matches('\r').to_owned();
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        lines
    } else {
        vec![question.join(" ")]
    };
    let mut out = std::io::stdout().lock();
    for q in questions {
        if json {
            serde_json::to_writer(&mut out, &bot.ask(&q))?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}\n", faq_reply(&bot, &q))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn import(env: &Env, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text = read_file(file)?;
    let (entries, rules) = match parse_library(&text) {
        Ok(parsed) => parsed,
        Err(FaqLibraryError::Syntax(e)) => return Err(UsageError(format!("{}: {e}", file.display())).into()),
        Err(FaqLibraryError::Invalid(problems)) => {
            eprintln!("{}: nothing imported; {} problem(s):", file.display(), problems.len());
            for p in problems {
                eprintln!("  rejected: {p}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    let store = env.open_store()?;
    let rules = (rules != FaqRules::default()).then_some(rules);
    let changes = store.upsert_faq(&entries, rules.as_ref())?;
    store.mark_faq_seeded()?;
    println!(
        "{}: {} added, {} changed, {} unchanged",
        file.display(),
        changes.added.len(),
        changes.changed.len(),
        changes.unchanged
    );
    for id in &changes.added {
        println!("  added: {id}");
    }
    for id in &changes.changed {
        println!("  changed: {id}");
    }
    Ok(ExitCode::SUCCESS)
}
