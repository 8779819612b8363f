//! Identifiers that carry their platform, so ids from two protocols can never collide.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a usable id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id contains a control character")]
    Control,
    #[error("id is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("id `{0}` has no `platform:` prefix")]
    NoPlatform(String),
}

const MAX_ID_BYTES: usize = 255;

fn check_part(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_BYTES {
        return Err(IdError::TooLong { max: MAX_ID_BYTES });
    }
    // Ids become parts of store keys, separated by NUL: no control characters at all.
    if has_control(s) {
        return Err(IdError::Control);
    }
    Ok(())
}

/// Whether `s` holds a control character (`char::is_control`: C0, DEL, C1), by its UTF-8
/// bytes: an id is checked for every incoming message.
fn has_control(s: &str) -> bool {
    let bytes = s.as_bytes();
    // C1 controls (U+0080..=U+009F) are the only ones outside ASCII: 0xC2 0x80..=0x9F.
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f) || bytes.windows(2).any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
}

/// A chat platform, by its short lowercase name (`console`, `matrix`, `onebot`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Platform(String);

impl Platform {
    pub fn new(name: &str) -> Result<Self, IdError> {
        check_part(name)?;
        if name.contains(':') {
            return Err(IdError::NoPlatform(name.to_owned()));
        }
        Ok(Self(name.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! platform_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name {
            full: String,
            split: usize,
        }

        impl $name {
            /// Builds an id from its platform and the platform's own id.
            pub fn new(platform: &Platform, local: &str) -> Result<Self, IdError> {
                Self::from_parts(platform, &[local])
            }

            /// The id whose local part is `parts` joined: one allocation and no formatting, for
            /// the ids made from every incoming message.
            pub fn from_parts(platform: &Platform, parts: &[&str]) -> Result<Self, IdError> {
                let split = platform.as_str().len();
                let mut full = String::with_capacity(split + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
                full.push_str(platform.as_str());
                full.push(':');
                parts.iter().for_each(|p| full.push_str(p));
                check_part(&full[split + 1..])?;
                Ok(Self { full, split })
            }

            /// Parses the `platform:local` form.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let (platform, local) = s.split_once(':').ok_or_else(|| IdError::NoPlatform(s.to_owned()))?;
                Self::new(&Platform::new(platform)?, local)
            }

            pub fn platform(&self) -> Platform {
                Platform(self.full[..self.split].to_owned())
            }

            /// The platform's own id, without the prefix.
            pub fn local(&self) -> &str {
                &self.full[self.split + 1..]
            }

            pub fn as_str(&self) -> &str {
                &self.full
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.full)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.full
            }
        }
    };
}

platform_id!(
    /// A user on some platform, written `platform:local` (`console:alice`, `matrix:@a:hs.org`).
    UserId
);
platform_id!(
    /// A chat (group or direct) on some platform, written `platform:local`.
    ChatId
);
platform_id!(
    /// A message's id as its platform gave it; used to drop duplicates and to reply to it.
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_platform() {
        let id = UserId::parse("matrix:@alice:example.org").unwrap();
        assert_eq!(id.platform().as_str(), "matrix");
        assert_eq!(id.local(), "@alice:example.org");
        assert_eq!(id.to_string(), "matrix:@alice:example.org");
    }

    #[test]
    fn bad_ids_are_refused() {
        assert_eq!(UserId::parse("alice"), Err(IdError::NoPlatform("alice".into())));
        assert_eq!(UserId::parse("console:"), Err(IdError::Empty));
        assert_eq!(UserId::parse("console:a\0b"), Err(IdError::Control));
        assert!(matches!(UserId::parse(&format!("console:{}", "x".repeat(300))), Err(IdError::TooLong { .. })));
    }

    #[test]
    fn control_characters_are_found_by_their_bytes_as_char_is_control_finds_them() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert_eq!(has_control(&s), c.is_control(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn an_id_from_parts_is_the_id_of_the_joined_parts() {
        let platform = Platform::new("onebot").unwrap();
        let joined = ChatId::from_parts(&platform, &["1", "/group/", "2"]).unwrap();
        assert_eq!(joined, ChatId::new(&platform, "1/group/2").unwrap());
        assert_eq!(joined.local(), "1/group/2");
        assert_eq!(ChatId::from_parts(&platform, &["", ""]), Err(IdError::Empty));
        assert_eq!(ChatId::from_parts(&platform, &["a", "\n"]), Err(IdError::Control));
    }

    #[test]
    fn ids_convert_to_and_from_their_string_form() {
        let id = ChatId::parse("console:group").unwrap();
        let s = String::from(id.clone());
        assert_eq!(s, "console:group");
        assert_eq!(ChatId::try_from(s).unwrap(), id);
    }
}
