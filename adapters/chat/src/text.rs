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
}
