//! The FAQ library: entries (question, other phrasings, keywords, answer, source), how they are
//! read from TOML, and how a member's question finds one.

mod entry;
mod import;
mod index;
mod segment;
mod text;

pub use entry::{parse_library, FaqEntry, FaqLibraryError, FaqRules, KeywordRule};
pub use import::{read_import, write_table, ImportError, ImportFile, ImportFormat, Rejected};
pub use index::{FaqIndex, FaqMatch, Thresholds, Verdict};
pub use segment::Segmenter;
