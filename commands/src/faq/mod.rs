//! The FAQ library: entries (question, other phrasings, keywords, answer, source), how they are
//! read from TOML, and how a member's question finds one.

mod entry;
mod index;
mod text;

pub use entry::{parse_library, FaqEntry, FaqLibraryError, FaqRules};
pub use index::{FaqIndex, FaqMatch, Verdict};
