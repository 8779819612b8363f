//! `zhibu member list|set-role`.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use zhibu_commands::domain::Role;

use super::{Env, UsageError};

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// List a branch's members: id, role, name.
    List {
        /// Branch id (default: the first configured branch).
        #[arg(long)]
        branch: Option<String>,
    },
    /// Set a member's role (secretary, committee, member, probationary, candidate, activist,
    /// applicant, masses; Chinese names work too).
    SetRole {
        /// Member id (console:alice) or name.
        member: String,
        role: String,
        #[arg(long)]
        branch: Option<String>,
    },
}

pub fn run(cmd: MemberCommand, env: &Env) -> anyhow::Result<ExitCode> {
    let store = env.open_store()?;
    match cmd {
        MemberCommand::List { branch } => {
            let branch = env.branch(branch.as_deref())?;
            let mut out = std::io::stdout().lock();
            for m in store.members(&branch.id)? {
                writeln!(out, "{}\t{}\t{}", m.user, m.role.key(), m.name)?;
            }
        }
        MemberCommand::SetRole { member, role, branch } => {
            let branch = env.branch(branch.as_deref())?;
            let role: Role = role.parse().map_err(|e| UsageError(format!("{e} (one of: secretary, committee, member, probationary, candidate, activist, applicant, masses)")))?;
            let members = store.members(&branch.id)?;
            let found: Vec<_> = members.iter().filter(|m| m.user.as_str() == member || m.name == member || m.user.local() == member).collect();
            let mut m = match found.as_slice() {
                [one] => (*one).clone(),
                [] => return Err(UsageError(format!("no member `{member}` in branch {}", branch.id)).into()),
                many => {
                    let ids: Vec<String> = many.iter().map(|m| m.user.to_string()).collect();
                    return Err(UsageError(format!("`{member}` names several members ({}); give the id", ids.join(", "))).into());
                }
            };
            if m.role == Role::Secretary && role != Role::Secretary && members.iter().filter(|o| o.role == Role::Secretary).count() <= 1 {
                return Err(UsageError(format!("{} is the branch's only secretary; appoint another first", m.name)).into());
            }
            m.role = role;
            store.put_member(&m)?;
            println!("{}\t{}\t{}", m.user, m.role.key(), m.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
