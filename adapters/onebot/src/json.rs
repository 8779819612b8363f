//! Action frames written as JSON text straight into one `String`, sized once.
//!
//! An action frame is a few fixed keys around the reply's text. Through serde_json it was
//! written into a byte buffer that regrew and then became a `String`, and the text was escaped
//! one byte at a time: a tenth of the bot's instructions per FAQ reply (callgrind). Here the
//! text is copied in runs, eight bytes checked at a time, and only `"`, `\` and control
//! characters are escaped, exactly as serde_json escapes them (a test compares the two).

/// Appends `s` as a JSON string literal.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    // `s[start..i]` is copied as it is once an escape (or the end) is reached. Every byte that
    // needs escaping is ASCII, so `start` and `i` are always on character boundaries.
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !any_needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if needs_escape(b) {
            out.push_str(&s[start..i]);
            push_escape(out, b);
            start = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends an id as a JSON number when it is a decimal integer (QQ numbers), else as a string
/// (the ids of some WeChat bridges).
pub fn push_id(out: &mut String, id: &str) {
    match id.parse::<i64>() {
        Ok(n) => out.push_str(itoa::Buffer::new().format(n)),
        Err(_) => push_str(out, id),
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of the eight bytes needs escaping. May say yes for a word that needs none (the
/// bytes are then checked one by one); never says no for one that does.
fn any_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x20, or a zero byte after XOR with `"` or `\`.
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    (below_space | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) & HIGHS != 0
}

fn push_escape(out: &mut String, b: u8) {
    match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        0x08 => out.push_str("\\b"),
        0x0c => out.push_str("\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn literal(s: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, s);
        out
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        let cases = [
            String::new(),
            "签到成功".into(),
            "问：预备期多长？\n答：一年。\t（出处：\"党章\"）\\".into(),
            every_ascii.clone(),
            every_ascii.chars().rev().collect(),
            // Escapes at every offset within and across eight-byte words, next to 3-byte characters.
            (0..24).map(|i| format!("{}\"{}", "党".repeat(i % 5), "x".repeat(i))).collect(),
            "\u{7f}\u{80}\u{2028}\u{1f600}".into(),
        ];
        for s in &cases {
            assert_eq!(literal(s), serde_json::to_string(s).unwrap(), "{s:?}");
            assert_eq!(serde_json::from_str::<String>(&literal(s)).unwrap(), *s);
        }
    }

    #[test]
    fn the_word_test_never_misses_a_byte_to_escape() {
        for b in 0u8..=255 {
            for pos in 0..8 {
                let mut word = *b"abcdefgh";
                word[pos] = b;
                assert!(any_needs_escape(u64::from_le_bytes(word)) || !needs_escape(b), "byte {b:#x} at {pos}");
            }
        }
        assert!(!any_needs_escape(u64::from_le_bytes(*b"plain ok")));
    }

    #[test]
    fn ids_are_numbers_when_they_are_integers() {
        let id = |s: &str| {
            let mut out = String::new();
            push_id(&mut out, s);
            out
        };
        assert_eq!(id("200001"), "200001");
        assert_eq!(id("007"), "7");
        assert_eq!(id("wxid_a\"b"), r#""wxid_a\"b""#);
        assert_eq!(id("99999999999999999999"), r#""99999999999999999999""#);
    }
}
