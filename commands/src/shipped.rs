//! Content shipped inside the binary, so it is found from any working directory: the FAQ
//! library and its rules (the catalogs are embedded by [`crate::i18n`]).

use crate::faq::{parse_library, FaqEntry, FaqLibraryError, FaqRules};
use crate::store::Store;
use crate::BotError;

include!(concat!(env!("OUT_DIR"), "/study_files.rs"));

pub const FAQ_TOML: &str = include_str!("../../data/faq.toml");
pub const FAQ_RULES_TOML: &str = include_str!("../../data/faq-rules.toml");

/// The shipped FAQ library and its matching rules.
pub fn faq_library() -> Result<(Vec<FaqEntry>, FaqRules), FaqLibraryError> {
    let (entries, _) = parse_library(FAQ_TOML)?;
    let (_, rules) = parse_library(FAQ_RULES_TOML)?;
    Ok((entries, rules))
}

/// Loads the shipped library into a store that never had one (a fresh data dir). A library
/// the secretary emptied on purpose stays empty.
pub fn seed_faq(store: &Store, at: chrono::DateTime<chrono::Utc>) -> Result<(), BotError> {
    if !store.faq_seeded()? {
        let (entries, rules) = faq_library()?;
        let shipped = crate::store::FaqAuthor { id: "zhibu".into(), name: "内置题库".into() };
        store.upsert_faq(&entries, Some(&rules), Some(&shipped), at)?;
        store.mark_faq_seeded()?;
    }
    Ok(())
}
