//! Chinese word segmentation for the FAQ: jieba over a dictionary of the branch's own vocabulary
//! (party terms shipped in `data/faq-dict.txt`, plus every keyword and synonym of the library),
//! not jieba's general 350,000-word dictionary: the words that decide which entry a question is
//! about are these, and the general dictionary would cost more memory than the rest of the bot.
//! Bigrams still carry the rest of the text (see [`super::text`]); a word adds weight when a
//! question uses a whole term (`预备党员`) rather than characters that happen to meet
//! (`预备` + `党员` across a boundary is still found as `预备党员`, but `备党` is not a word).

use jieba_rs::Jieba;

/// Frequency given to the library's own keywords and synonyms: as common as the dictionary's
/// everyday party terms, so that a keyword is kept whole.
const LIBRARY_WORD_FREQ: usize = 1000;

/// The shipped dictionary (`word freq` per line, jieba's format).
pub const SHIPPED_DICT: &str = include_str!("../../../data/faq-dict.txt");

/// A word segmenter for one library.
pub struct Segmenter {
    jieba: Jieba,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter").finish_non_exhaustive()
    }
}

impl Segmenter {
    /// The shipped dictionary plus `extra` words (already normalized).
    pub fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        let mut jieba = Jieba::empty();
        for line in SHIPPED_DICT.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(word), freq) = (parts.next(), parts.next().and_then(|f| f.parse().ok())) else { continue };
            jieba.add_word(word, Some(freq.unwrap_or(LIBRARY_WORD_FREQ)), None);
        }
        for word in extra {
            if word.chars().count() >= 2 && word.chars().all(super::text::is_cjk) {
                jieba.add_word(word, Some(LIBRARY_WORD_FREQ), None);
            }
        }
        Self { jieba }
    }

    /// The dictionary words (two characters or more) in a run of Chinese characters.
    pub fn words<'t>(&self, run: &'t str) -> impl Iterator<Item = &'t str> {
        self.jieba.cut(run, false).into_iter().filter(|w| w.chars().nth(1).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_terms_are_kept_whole() {
        let s = Segmenter::new(["学生党员"]);
        assert_eq!(s.words("预备党员的预备期多久").collect::<Vec<_>>(), ["预备党员", "预备期"]);
        assert_eq!(s.words("三会一课是什么").collect::<Vec<_>>(), ["三会一课"]);
        assert_eq!(s.words("学生党员交多少党费").collect::<Vec<_>>(), ["学生党员", "党费"]);
        assert!(s.words("明天食堂吃什么").next().is_none());
    }
}
