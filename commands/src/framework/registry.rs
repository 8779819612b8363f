//! Command declarations and the registry that finds, checks and runs them.

use zhibu_chat::ChatKind;

use crate::domain::{allows, Capability, Role};
use crate::framework::context::{Ctx, Reply};
use crate::framework::error::CommandError;
use crate::framework::parse::ParsedCommand;
use crate::i18n::Lang;

/// What a command takes after its name: nothing, or the rest of the line as one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    None,
    Optional,
    Required,
}

/// Where a command may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Anywhere,
    GroupOnly,
    /// Commands that show personal records: never in a group.
    DirectOnly,
}

/// One command's declaration: everything the framework checks before running it, and the
/// catalog entries for its usage line and help (`cmd.<key>.usage`, `cmd.<key>.help`).
#[derive(Debug)]
pub struct CommandSpec {
    pub key: &'static str,
    /// The names it answers to; the first is the one shown (Chinese), then aliases.
    pub names: &'static [&'static str],
    pub args: Args,
    pub capability: Capability,
    pub chats: Where,
}

impl CommandSpec {
    pub fn catalog_key(&self, field: &str) -> String {
        format!("cmd.{}.{}", self.key, field)
    }

    /// The name to show in replies: the Chinese one, or the first ASCII alias in English.
    pub fn display_name(&self, lang: Lang) -> &'static str {
        let english = self.names.iter().find(|n| n.is_ascii());
        match (lang, english) {
            (Lang::En, Some(name)) => name,
            _ => self.names[0],
        }
    }

    pub fn allowed_for(&self, role: Role) -> bool {
        allows(role, self.capability)
    }

    pub fn usable_in(&self, kind: ChatKind) -> bool {
        match self.chats {
            Where::Anywhere => true,
            Where::GroupOnly => kind == ChatKind::Group,
            Where::DirectOnly => kind == ChatKind::Direct,
        }
    }
}

/// A chat command.
pub trait Command: Send + Sync {
    fn spec(&self) -> &'static CommandSpec;
    /// Runs the command; declared checks (role, chat, required argument) have passed.
    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError>;

    /// Whether running it with `args` writes nothing that must be durable (no fsync), so the
    /// runtime may answer it on its I/O thread. Wrong is costly (an fsync stalls every chat), so
    /// the default is no; commands that only read say yes.
    fn read_only(&self, args: &str) -> bool {
        let _ = args;
        false
    }
}

/// What a message turned out to be.
pub enum Lookup<'r> {
    Found(&'r dyn Command, String),
    /// `/` alone.
    Empty,
    /// No such command; the closest name, if one is close.
    Unknown { name: String, suggestion: Option<&'static str> },
}

/// Every command the bot knows.
pub struct Registry {
    commands: Vec<Box<dyn Command>>,
    /// Every name, ASCII letters in lower case, to its command's index: a command is looked up
    /// for every message.
    by_name: rustc_hash::FxHashMap<String, usize>,
}

impl Registry {
    pub fn new(commands: Vec<Box<dyn Command>>) -> Self {
        let mut by_name = rustc_hash::FxHashMap::default();
        for (i, cmd) in commands.iter().enumerate() {
            for name in cmd.spec().names {
                // The first command to claim a name keeps it, as the scan in order did.
                by_name.entry(name.to_ascii_lowercase()).or_insert(i);
            }
        }
        Self { commands, by_name }
    }

    pub fn commands(&self) -> impl Iterator<Item = &dyn Command> {
        self.commands.iter().map(|c| c.as_ref())
    }

    /// Finds a command by one of its names (ASCII names case-insensitively).
    pub fn by_name(&self, name: &str) -> Option<&dyn Command> {
        let index = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_name.get(&name.to_ascii_lowercase())
        } else {
            self.by_name.get(name)
        };
        index.map(|&i| self.commands[i].as_ref())
    }

    pub fn lookup(&self, parsed: &ParsedCommand<'_>) -> Lookup<'_> {
        if parsed.name.is_empty() {
            return Lookup::Empty;
        }
        if let Some(cmd) = self.by_name(parsed.name) {
            return Lookup::Found(cmd, parsed.args.to_owned());
        }
        // A Chinese name glued to its argument: `/问预备期多久`. Longest name first.
        let mut glued: Option<(&dyn Command, &str)> = None;
        for cmd in self.commands() {
            if cmd.spec().args == Args::None {
                continue;
            }
            for name in cmd.spec().names.iter().filter(|n| !n.is_ascii()) {
                if parsed.name.starts_with(name) && glued.is_none_or(|(_, best)| name.len() > best.len()) {
                    glued = Some((cmd, name));
                }
            }
        }
        if let Some((cmd, name)) = glued {
            let head = &parsed.name[name.len()..];
            let args = if parsed.args.is_empty() { head.to_owned() } else { format!("{head} {}", parsed.args) };
            return Lookup::Found(cmd, args);
        }
        Lookup::Unknown { name: parsed.name.to_owned(), suggestion: self.closest_name(parsed.name) }
    }

    /// The known name nearest to `name` by edit distance, if it is close enough to be a typo.
    fn closest_name(&self, name: &str) -> Option<&'static str> {
        let lower = name.to_lowercase();
        let len = lower.chars().count();
        let limit = if len <= 2 { 1 } else { len.div_ceil(3) };
        self.commands()
            .flat_map(|c| c.spec().names.iter().copied())
            .map(|n| (edit_distance(&lower, &n.to_lowercase()), n))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| n)
    }

    /// Runs a found command after its declared checks.
    pub fn run(&self, cmd: &dyn Command, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let spec = cmd.spec();
        if !spec.allowed_for(ctx.member.role) {
            return Err(CommandError::NotAllowed(spec.capability));
        }
        if !spec.usable_in(ctx.chat_kind) {
            return Err(CommandError::WrongChat(spec.chats));
        }
        if spec.args == Args::Required && args.trim().is_empty() {
            return Err(CommandError::Usage);
        }
        cmd.run(ctx, args)
    }
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("签道", "签到"), 1);
        assert_eq!(edit_distance("chekin", "checkin"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
