//! `zhibu member list|set-role`.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use zhibu_commands::domain::{change_role, find_member, FindError, Role, RoleChange};

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
            let role: Role = role
                .parse()
                .map_err(|e| UsageError(format!("{e} (one of: secretary, committee, member, probationary, candidate, activist, applicant, masses)")))?;
            let members = store.members(&branch.id)?;
            let found = find_member(&members, &member, None).map_err(|e| match e {
                FindError::NotFound => UsageError(format!("no member `{member}` in branch {}", branch.id)),
                FindError::Ambiguous(ids) => {
                    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                    UsageError(format!("`{member}` names several members ({}); give the id", ids.join(", ")))
                }
            })?;
            if change_role(&store, found, role)? == RoleChange::LastSecretary {
                return Err(UsageError(format!("{} is the branch's only secretary; appoint another first", found.name)).into());
            }
            store.flush()?;
            println!("{}\t{}\t{}", found.user, role.key(), found.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
