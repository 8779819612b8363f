//! `/回声 <文字>` (`/echo`): answers at once with the text quoted, so a secretary (or a load
//! test) can check that the bot is online on a platform. The quote is one line of at most
//! [`MAX_ECHO_CHARS`] characters and always framed, so the bot cannot be made to say arbitrary
//! things in its own voice.

use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

/// The longest quote the bot repeats.
pub const MAX_ECHO_CHARS: usize = 64;

pub static SPEC: CommandSpec = CommandSpec {
    key: "echo",
    names: &["回声", "echo", "ping"],
    args: Args::Optional,
    capability: Capability::Basic,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let line = args.lines().next().unwrap_or("").trim();
    let mut quote: String = line.chars().take(MAX_ECHO_CHARS).collect();
    if line.chars().count() > MAX_ECHO_CHARS {
        quote.push('…');
    }
    Ok(Reply::text(if quote.is_empty() { ctx.t("echo.online", &[]) } else { ctx.t("echo.quote", &[("text", &quote)]) }))
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn echo_quotes_one_short_line() {
        let t = BotTester::new();
        assert_eq!(t.say("alice", "/echo hab12n7"), "在线 ✓ 收到：「hab12n7」");
        assert_eq!(t.say("alice", "/回声"), "在线 ✓");
        let long = format!("/ping {}\n第二行", "长".repeat(100));
        assert_eq!(t.say("alice", &long), format!("在线 ✓ 收到：「{}…」", "长".repeat(64)));
    }
}
