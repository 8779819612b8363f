//! Store key layout. Parts are joined with NUL, which no id may contain (ids are validated), so
//! a key prefix selects exactly one branch, date or author. Numbers are big-endian so that byte
//! order is numeric order.

use chrono::{DateTime, NaiveDate, Utc};

pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        key.extend_from_slice(part);
    }
    key
}

/// A prefix that matches every key whose leading parts are `parts`.
pub fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = join(parts);
    key.push(0);
    key
}

pub fn date(d: NaiveDate) -> [u8; 10] {
    let s = d.format("%Y-%m-%d").to_string();
    let mut out = [b'0'; 10];
    out.copy_from_slice(&s.as_bytes()[..10]);
    out
}

pub fn id(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// A timestamp as 8 bytes that sort in time order (sign bit flipped).
pub fn instant(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_sort_in_time_order() {
        let a: DateTime<Utc> = "1969-12-31T00:00:00Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-11-25T00:00:00Z".parse().unwrap();
        let c: DateTime<Utc> = "2026-11-25T00:00:01Z".parse().unwrap();
        assert!(instant(a) < instant(b) && instant(b) < instant(c));
    }

    #[test]
    fn prefixes_do_not_leak_into_longer_names() {
        let k = join(&[b"demo2", b"x"]);
        assert!(!k.starts_with(&prefix(&[b"demo"])));
        assert!(join(&[b"demo", b"x"]).starts_with(&prefix(&[b"demo"])));
    }
}
