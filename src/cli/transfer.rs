//! `zhibu export` and `zhibu import`: every record as JSON lines; the round trip is exact.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use zhibu_commands::store::TransferError;

use super::{Env, UsageError};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file written by `zhibu export`.
    file: PathBuf,
}

pub fn export(args: ExportArgs, env: &Env) -> anyhow::Result<ExitCode> {
    let store = env.open_store()?;
    match args.output {
        Some(path) => {
            let mut out = BufWriter::new(File::create(&path).with_context(|| format!("cannot create {}", path.display()))?);
            store.export(&mut out)?;
            out.flush()?;
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            store.export(&mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(args: ImportArgs, env: &Env) -> anyhow::Result<ExitCode> {
    let file = File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let store = env.open_store()?;
    let summary = match store.import(&mut BufReader::new(file)) {
        Ok(summary) => summary,
        Err(e @ (TransferError::BadLine { .. } | TransferError::NoHeader | TransferError::NewerSchema { .. })) => {
            return Err(UsageError(format!("{}: {e}; nothing was imported", args.file.display())).into())
        }
        Err(e) => return Err(e.into()),
    };
    println!("imported {} member(s), {} check-in(s), {} report(s), {} FAQ entr(ies)", summary.members, summary.checkins, summary.reports, summary.faq);
    Ok(ExitCode::SUCCESS)
}
