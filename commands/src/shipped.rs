//! Content shipped inside the binary, so it is found from any working directory: the FAQ
//! library and its rules (the catalogs are embedded by [`crate::i18n`]).

use crate::faq::{parse_library, FaqEntry, FaqLibraryError, FaqRules};

pub const FAQ_TOML: &str = include_str!("../../data/faq.toml");
pub const FAQ_RULES_TOML: &str = include_str!("../../data/faq-rules.toml");

/// The shipped FAQ library and its matching rules.
pub fn faq_library() -> Result<(Vec<FaqEntry>, FaqRules), FaqLibraryError> {
    let (entries, _) = parse_library(FAQ_TOML)?;
    let (_, rules) = parse_library(FAQ_RULES_TOML)?;
    Ok((entries, rules))
}
