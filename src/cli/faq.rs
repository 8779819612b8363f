//! `zhibu faq ask|list|import|export`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use zhibu_commands::cmd::faq_reply;
use zhibu_commands::faq::{read_import, write_table, FaqEntry, ImportFormat, Rejected};
use zhibu_commands::store::{FaqAuthor, FaqChanges};

use super::{Env, UsageError};

#[derive(Debug, Subcommand)]
pub enum FaqCommand {
    /// Answer a question (or one question per stdin line) as the bot would.
    Ask {
        /// One JSON object per question: {"q", "answer" (null when the bot would not know), "id", "score", "question",
        /// "status" ("answer", "suggest" for the "did you mean" grey zone, or "unknown")}.
        #[arg(long)]
        json: bool,
        /// The question; read one per line from stdin when absent.
        question: Vec<String>,
    },
    /// List the library's entries: id, topic, question.
    List,
    /// Add and update entries from a TOML file ([[entry]] tables, optional synonyms, decline and
    /// keyword rules) or a spreadsheet saved as CSV or tab-separated text (columns 问题, 答案 and
    /// optionally 编号, 其他问法, 关键词, 来源, 分类). Broken rows are reported and skipped; the
    /// others are written in one transaction. Exit status 1 when any row was rejected.
    Import {
        file: PathBuf,
        /// Check and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the library: TOML (the format `import` reads, with the rules) or CSV for a spreadsheet.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Toml)]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Toml,
    Csv,
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
        FaqCommand::Import { file, dry_run } => import(env, &file, dry_run),
        FaqCommand::Export { format } => {
            #[derive(Serialize)]
            struct LibraryOut {
                synonyms: Vec<Vec<String>>,
                decline: Vec<String>,
                keyword: Vec<zhibu_commands::faq::KeywordRule>,
                entry: Vec<FaqEntry>,
            }
            let store = env.open_store()?;
            let entries = store.faq_entries()?;
            match format {
                ExportFormat::Toml => {
                    let rules = store.faq_rules()?;
                    let out = LibraryOut { synonyms: rules.synonyms, decline: rules.decline, keyword: rules.keywords, entry: entries };
                    print!("{}", toml::to_string(&out).context("writing the library as TOML")?);
                }
                ExportFormat::Csv => std::io::stdout().lock().write_all(&write_table(&entries).context("writing the library as CSV")?)?,
            }
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

fn import(env: &Env, file: &std::path::Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    let parsed = read_import(&bytes, ImportFormat::from_path(file)).map_err(|e| UsageError(format!("{}: nothing imported; {e}", file.display())))?;
    let store = env.open_store()?;
    let mut rejected = parsed.rejected;
    // Keyword rules must name an entry that will exist.
    let mut rules = parsed.rules;
    if let Some(rules) = rules.as_mut() {
        let mut known: std::collections::HashSet<String> = store.faq_entries()?.into_iter().map(|e| e.id).collect();
        known.extend(parsed.entries.iter().map(|e| e.id.clone()));
        let (ok, bad): (Vec<_>, Vec<_>) = std::mem::take(&mut rules.keywords).into_iter().partition(|k| known.contains(&k.entry));
        rules.keywords = ok;
        for k in bad {
            rejected.push(Rejected { row: 0, id: None, reasons: vec![format!("keyword rule `{}` names no entry `{}`", k.text, k.entry)] });
        }
    }
    let author = FaqAuthor { id: "cli".into(), name: format!("zhibu faq import {}", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()) };
    let changes = if dry_run {
        let mut changes = FaqChanges::default();
        for e in &parsed.entries {
            match store.faq_entry(&e.id)? {
                None => changes.added.push(e.id.clone()),
                Some(old) if &old == e => changes.unchanged += 1,
                Some(_) => changes.changed.push(e.id.clone()),
            }
        }
        changes
    } else {
        let changes = store.upsert_faq(&parsed.entries, rules.as_ref(), Some(&author), chrono::Utc::now())?;
        store.mark_faq_seeded()?;
        changes
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {}{} added, {} changed, {} unchanged, {} rejected",
        file.display(),
        if dry_run { "dry run, nothing written; would be " } else { "" },
        changes.added.len(),
        changes.changed.len(),
        changes.unchanged,
        rejected.len()
    )?;
    for id in &changes.added {
        writeln!(out, "  added: {id}")?;
    }
    for id in &changes.changed {
        writeln!(out, "  changed: {id}")?;
    }
    for r in &rejected {
        let place = if r.row > 0 { format!("row {}", r.row) } else { "rules".to_owned() };
        let id = r.id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default();
        writeln!(out, "  rejected: {place}{id}: {}", r.reasons.join("; "))?;
    }
    for note in &parsed.notes {
        writeln!(out, "  note: {note}")?;
    }
    Ok(if rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
