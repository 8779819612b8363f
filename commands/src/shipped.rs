//! Content shipped inside the binary, so it is found from any working directory: the FAQ
//! library and its synonyms (the catalogs are embedded by [`crate::i18n`]).

use crate::faq::{parse_library, FaqEntry, FaqLibraryError, Synonyms};

pub const FAQ_TOML: &str = include_str!("../../data/faq.toml");
pub const FAQ_SYNONYMS_TOML: &str = include_str!("../../data/faq-synonyms.toml");

/// The shipped FAQ library and synonym groups.
pub fn faq_library() -> Result<(Vec<FaqEntry>, Synonyms), FaqLibraryError> {
    let (entries, _) = parse_library(FAQ_TOML)?;
    let (_, synonyms) = parse_library(FAQ_SYNONYMS_TOML)?;
    Ok((entries, synonyms))
}
