//! Text hygiene shared by every adapter: what the bot accepts as message text.

/// The largest message the runtime accepts from any adapter (256 KiB); adapters reject larger
/// input with [`crate::RejectReason::TooLong`] before it reaches the bot.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Removes terminal escape sequences and control characters (keeping newlines and tabs), so that
/// nothing a user typed can move a cursor, ring a bell or hide text when the bot shows it again.
pub fn sanitize_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // ESC [ ... final byte: an ANSI CSI sequence; drop it whole.
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Splits `text` into parts of at most `max` bytes, for platforms that limit a message's size,
/// breaking between lines (a line longer than `max` is broken between characters). Blank lines at a break are dropped; empty parts too.
pub fn split_lines(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        for piece in pieces(line, max) {
            if !current.is_empty() && current.len() + 1 + piece.len() > max {
                parts.push(std::mem::take(&mut current));
            }
            if current.is_empty() && piece.trim().is_empty() {
                continue;
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(piece);
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim_matches('\n').to_owned()).filter(|p| !p.trim().is_empty()).collect()
}

/// `line` in pieces of at most `max` bytes, each ending on a character boundary.
fn pieces(line: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while rest.len() > max {
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out.push(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(sanitize_text("/签\u{7}到"), "/签到");
        assert_eq!(sanitize_text("\u{1b}[31m红色\u{1b}[0m"), "红色");
        assert_eq!(sanitize_text("a\r\nb\tc\u{0}"), "a\nb\tc");
        assert_eq!(sanitize_text("\u{85}x"), "x");
    }

    #[test]
    fn long_text_splits_at_line_ends() {
        assert_eq!(split_lines("a\nb", 10), vec!["a\nb"]);
        assert_eq!(split_lines("", 10), Vec::<String>::new());
        assert_eq!(split_lines("\n\n", 10), Vec::<String>::new());
        assert_eq!(split_lines("aaaa\nbbbb\ncccc", 9), vec!["aaaa\nbbbb", "cccc"]);
        assert_eq!(split_lines("aaaa\n\nbbbb\n\ncccc", 10), vec!["aaaa\n\nbbbb", "cccc"]);
        // A line longer than a part is broken between characters, never inside one.
        assert_eq!(split_lines("学习强国", 7), vec!["学习", "强国"]);

        let lines: Vec<String> = (0..300).map(|i| format!("第{i}行：学习党章，牢记使命。")).collect();
        let text = lines.join("\n");
        let parts = split_lines(&text, 2048);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= 2048));
        assert_eq!(parts.join("\n"), text, "nothing lost, nothing reordered");
        assert!(parts.iter().all(|p| !p.starts_with('\n') && !p.ends_with('\n')));
    }
}
