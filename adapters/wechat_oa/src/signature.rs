//! WeChat's request signatures: the SHA-1 of the sorted, concatenated parts, in lowercase hex.
//!
//! `signature` (every callback) signs `[token, timestamp, nonce]`; `msg_signature` (safe mode)
//! signs `[token, timestamp, nonce, Encrypt]`.

use sha1::{Digest, Sha1};

/// The signature of `parts`: sorted as byte strings, concatenated, SHA-1, lowercase hex.
pub fn sign(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the signature of `parts`. Case-insensitive (WeChat sends lowercase), and
/// compared without an early exit so that timing tells nothing about how much of it was right.
pub fn verify(given: &str, parts: &[&str]) -> bool {
    let expected = sign(parts);
    if given.len() != expected.len() {
        return false;
    }
    given.bytes().zip(expected.bytes()).fold(0u8, |diff, (a, b)| diff | (a.to_ascii_lowercase() ^ b)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signs_the_sorted_parts() {
        // sha1("1409304348" + "xxxxxx" + "zhibu-token") computed independently (Python hashlib).
        assert_eq!(sign(&["zhibu-token", "1409304348", "xxxxxx"]), "b2f02951cd0162e0b957496495c42767ca06c734");
        assert_eq!(sign(&["b", "a"]), sign(&["a", "b"]));
    }

    #[test]
    fn verifies_and_refuses() {
        let parts = ["zhibu-token", "1409304348", "xxxxxx"];
        let good = sign(&parts);
        assert!(verify(&good, &parts));
        assert!(verify(&good.to_uppercase(), &parts));
        assert!(!verify(&good[1..], &parts));
        assert!(!verify("", &parts));
        let mut bad = good.into_bytes();
        bad[39] = if bad[39] == b'0' { b'1' } else { b'0' };
        assert!(!verify(std::str::from_utf8(&bad).unwrap(), &parts));
    }
}
