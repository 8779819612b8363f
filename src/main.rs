//! `zhibu`: the bot's command line. `zhibu run` starts the bot; the other subcommands manage
//! the FAQ, members, statistics and the data, on the same store.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zhibu: {}", cli::describe(&e));
            cli::exit_code(&e)
        }
    }
}
