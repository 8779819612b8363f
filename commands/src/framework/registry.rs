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

/// What a command runs, once the checks its declaration names have passed.
pub type Run = fn(&Ctx<'_>, &str) -> Result<Reply, CommandError>;

/// One command's declaration: everything the framework checks before running it, the function
/// that runs it, its subcommands, and the catalog entries for its usage line and help
/// (`cmd.<key>.usage`, `cmd.<key>.help`).
#[derive(Debug)]
pub struct CommandSpec {
    pub key: &'static str,
    /// The names it answers to; the first is the one shown (Chinese), then aliases.
    pub names: &'static [&'static str],
    pub args: Args,
    pub capability: Capability,
    pub chats: Where,
    pub run: Run,
    /// Commands named by the first word of this one's arguments (`/faq 添加 …`), each checked
    /// by its own declaration. Arguments whose first word names none go to `run`.
    pub subcommands: &'static [CommandSpec],
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

    /// The subcommand named by the first word of `args`, with the rest of them.
    fn subcommand<'a>(&self, args: &'a str) -> Option<(&'static CommandSpec, &'a str)> {
        let args = args.trim_start();
        let end = args.find(char::is_whitespace).unwrap_or(args.len());
        let (word, rest) = (&args[..end], args[end..].trim());
        let sub = self.subcommands.iter().find(|s| s.names.iter().any(|n| n.eq_ignore_ascii_case(word)))?;
        Some((sub, rest))
    }
}

/// A command found in a message, ready to be checked and run.
#[derive(Debug, Clone)]
pub struct Found {
    pub spec: &'static CommandSpec,
    /// The command it is a subcommand of.
    pub parent: Option<&'static CommandSpec>,
    pub args: String,
}

impl Found {
    /// The command as a member writes it: `问`, or `问 添加` for a subcommand.
    pub fn display_name(&self, lang: Lang) -> String {
        match self.parent {
            Some(parent) => format!("{} {}", parent.display_name(lang), self.spec.display_name(lang)),
            None => self.spec.display_name(lang).to_owned(),
        }
    }
}

/// What a message turned out to be.
pub enum Lookup {
    Found(Found),
    /// `/` alone.
    Empty,
    /// No such command; the closest name, if one is close.
    Unknown {
        name: String,
        suggestion: Option<&'static str>,
    },
}

/// Every command the bot knows.
pub struct Registry {
    commands: &'static [&'static CommandSpec],
    /// Every name, ASCII letters in lower case, to its command's index: a command is looked up
    /// for every message.
    by_name: rustc_hash::FxHashMap<String, usize>,
}

impl Registry {
    pub fn new(commands: &'static [&'static CommandSpec]) -> Self {
        let mut by_name = rustc_hash::FxHashMap::default();
        for (i, spec) in commands.iter().enumerate() {
            for name in spec.names {
                // The first command to claim a name keeps it.
                by_name.entry(name.to_ascii_lowercase()).or_insert(i);
            }
        }
        Self { commands, by_name }
    }

    /// The top-level commands, in the order `/帮助` shows them.
    pub fn commands(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.commands.iter().copied()
    }

    /// Every command and subcommand, each with the command it belongs to.
    pub fn all(&self) -> impl Iterator<Item = (&'static CommandSpec, Option<&'static CommandSpec>)> + '_ {
        self.commands().flat_map(|c| std::iter::once((c, None)).chain(c.subcommands.iter().map(move |s| (s, Some(c)))))
    }

    /// Finds a command by one of its names (ASCII names case-insensitively).
    pub fn by_name(&self, name: &str) -> Option<&'static CommandSpec> {
        let index = if name.bytes().any(|b| b.is_ascii_uppercase()) { self.by_name.get(&name.to_ascii_lowercase()) } else { self.by_name.get(name) };
        index.map(|&i| self.commands[i])
    }

    pub fn lookup(&self, parsed: &ParsedCommand<'_>) -> Lookup {
        if parsed.name.is_empty() {
            return Lookup::Empty;
        }
        if let Some(spec) = self.by_name(parsed.name) {
            return Lookup::Found(Self::with_subcommand(spec, parsed.args));
        }
        // A Chinese name glued to its argument: `/问预备期多久`. Longest name first.
        let mut glued: Option<(&'static CommandSpec, &str)> = None;
        for spec in self.commands() {
            if spec.args == Args::None {
                continue;
            }
            for name in spec.names.iter().filter(|n| !n.is_ascii()) {
                if parsed.name.starts_with(name) && glued.is_none_or(|(_, best)| name.len() > best.len()) {
                    glued = Some((spec, name));
                }
            }
        }
        if let Some((spec, name)) = glued {
            let head = &parsed.name[name.len()..];
            let args = if parsed.args.is_empty() { head.to_owned() } else { format!("{head} {}", parsed.args) };
            return Lookup::Found(Self::with_subcommand(spec, &args));
        }
        Lookup::Unknown { name: parsed.name.to_owned(), suggestion: self.closest_name(parsed.name) }
    }

    fn with_subcommand(spec: &'static CommandSpec, args: &str) -> Found {
        match spec.subcommand(args) {
            Some((sub, rest)) => Found { spec: sub, parent: Some(spec), args: rest.to_owned() },
            None => Found { spec, parent: None, args: args.to_owned() },
        }
    }

    /// The known name nearest to `name` by edit distance, if it is close enough to be a typo.
    fn closest_name(&self, name: &str) -> Option<&'static str> {
        let lower = name.to_lowercase();
        let len = lower.chars().count();
        let limit = if len <= 2 { 1 } else { len.div_ceil(3) };
        self.commands()
            .flat_map(|c| c.names.iter().copied())
            .map(|n| (edit_distance(&lower, &n.to_lowercase()), n))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| n)
    }

    /// Runs a found command after the checks its declaration names.
    pub fn run(&self, found: &Found, ctx: &Ctx<'_>) -> Result<Reply, CommandError> {
        let spec = found.spec;
        if !spec.allowed_for(ctx.member.role) {
            return Err(CommandError::NotAllowed(spec.capability));
        }
        if !spec.usable_in(ctx.chat_kind) {
            return Err(CommandError::WrongChat(spec.chats));
        }
        if spec.args == Args::Required && found.args.trim().is_empty() {
            return Err(CommandError::Usage);
        }
        (spec.run)(ctx, &found.args)
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
