//! Finding a command in a message: a prefix (`/`, `／`, `!`, `！`), a name, then the arguments.
//! Chinese names may be glued to their argument (`/问预备期多久`).

/// The characters that start a command.
pub const PREFIXES: [char; 4] = ['/', '／', '!', '！'];

/// A message that is a command: the name as written and the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand<'a> {
    pub name: &'a str,
    pub args: &'a str,
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}'
}

/// Splits a command message into name and arguments; `None` when the text is not a command.
/// An empty name (`/` alone) gives `Some` with an empty name.
pub fn parse_command(text: &str) -> Option<ParsedCommand<'_>> {
    let text = text.trim_matches(is_space);
    let rest = text.strip_prefix(PREFIXES)?;
    let rest = rest.trim_start_matches(is_space);
    let end = rest.find(is_space).unwrap_or(rest.len());
    Some(ParsedCommand { name: &rest[..end], args: rest[end..].trim_matches(is_space) })
}

/// Splits a message without a prefix into its first word and the rest, for platforms without
/// slash commands (the caller checks that the word is a command's name). `None` for an empty
/// message.
/// A keyword may end in sentence punctuation (`签到。`, as WeChat's speech recognition writes
/// it, or `签到！`).
pub fn parse_keyword(text: &str) -> Option<ParsedCommand<'_>> {
    let text = text.trim_matches(is_space);
    let end = text.find(is_space).unwrap_or(text.len());
    let name = text[..end].trim_end_matches(KEYWORD_ENDINGS);
    (!name.is_empty()).then(|| ParsedCommand { name, args: text[end..].trim_matches(is_space) })
}

const KEYWORD_ENDINGS: [char; 6] = ['。', '！', '？', '.', '!', '?'];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_names_and_arguments() {
        let p = |s| parse_command(s).map(|c| (c.name, c.args));
        assert_eq!(p("/签到"), Some(("签到", "")));
        assert_eq!(p("／签到　今天在图书馆"), Some(("签到", "今天在图书馆")));
        assert_eq!(p("!checkin  note "), Some(("checkin", "note")));
        assert_eq!(p("！问 预备期 多久"), Some(("问", "预备期 多久")));
        assert_eq!(p("  /"), Some(("", "")));
        assert_eq!(p("签到"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("/思想汇报 第一行\n第二行"), Some(("思想汇报", "第一行\n第二行")));
    }

    #[test]
    fn keywords_are_the_first_word() {
        let k = |s| parse_keyword(s).map(|c| (c.name, c.args));
        assert_eq!(k("　积分 本周 "), Some(("积分", "本周")));
        assert_eq!(k("签到"), Some(("签到", "")));
        assert_eq!(k("  "), None);
        assert_eq!(k("签到。"), Some(("签到", "")));
        assert_eq!(k("积分！ 本周。"), Some(("积分", "本周。")));
        assert_eq!(k("？"), None);
    }
}
