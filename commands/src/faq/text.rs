//! Turning text into match terms: NFKC, lower case, Chinese characters as unigrams and bigrams,
//! Latin words whole. Bigrams carry most of the meaning; unigrams let a question with one wrong
//! character (`预被期`) still meet its entry.

use std::sync::LazyLock;

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use super::segment::Segmenter;

/// A match term: a word, a character pair, or a single character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Word(String),
    Bigram(char, char),
    Char(char),
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0x20000..=0x2ffff)
}

/// Characters too common in questions to say anything about the topic.
const FILLERS: &str = "的了吗呢啊吧呀么是有在和与及或就都也还要会能可以请问一下个这那些哪怎什啥多少几吗嘛我你他她它们";

/// [`FILLERS`] sorted, for a binary search: every term of every question is tested.
static FILLER_CHARS: LazyLock<Vec<char>> = LazyLock::new(|| {
    let mut chars: Vec<char> = FILLERS.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    chars
});

pub fn is_filler(c: char) -> bool {
    FILLER_CHARS.binary_search(&c).is_ok()
}

/// Words of asking, not of the topic: their bigrams weigh little.
const QUESTION_WORDS: &[&str] = &[
    "一般",
    "大概",
    "通常",
    "需要",
    "可以",
    "应该",
    "怎么",
    "什么",
    "多少",
    "哪些",
    "为什么",
    "如何",
    "请问",
    "一下",
    "知道",
    "想问",
    "有没有",
    "是不是",
    "能不能",
    "要不要",
    "关于",
    "时候",
    "这个",
    "那个",
    "现在",
    "还是",
    "的话",
    "具体",
    "主要",
    "吗",
    "一个",
    "有哪",
    "是什",
    "是怎",
    "怎样",
    "样的",
];

/// The bigrams of [`QUESTION_WORDS`], sorted, for a binary search.
static QUESTION_BIGRAMS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
    let mut pairs: Vec<(char, char)> = QUESTION_WORDS
        .iter()
        .flat_map(|w| {
            let chars: Vec<char> = w.chars().collect();
            chars.windows(2).map(|p| (p[0], p[1])).collect::<Vec<_>>()
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
});

/// Whether a bigram is part of how people ask rather than what they ask about.
pub fn is_question_bigram(a: char, b: char) -> bool {
    QUESTION_BIGRAMS.binary_search(&(a, b)).is_ok()
}

/// NFKC, then lower case. Most questions already are both (Chinese, lower-case Latin), and
/// are copied as they are.
pub fn normalize(text: &str) -> String {
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes && text.chars().all(is_own_lowercase) {
        return text.to_owned();
    }
    text.nfkc().flat_map(char::to_lowercase).collect()
}

fn is_own_lowercase(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_uppercase();
    }
    if is_cjk(c) {
        return true;
    }
    let mut lower = c.to_lowercase();
    lower.next() == Some(c) && lower.next().is_none()
}

/// The terms of a text already [`normalize`]d, in order, with repeats; with a segmenter, each
/// run of Chinese characters also gives its dictionary words as [`Term::Word`]s after its
/// characters and bigrams.
pub fn normalized_terms(norm: &str, segmenter: Option<&Segmenter>) -> Vec<Term> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let mut run_text = String::new();
    let mut flush_run = |run: &mut Vec<char>, out: &mut Vec<Term>| {
        for (i, &c) in run.iter().enumerate() {
            out.push(Term::Char(c));
            if let Some(&next) = run.get(i + 1) {
                out.push(Term::Bigram(c, next));
            }
        }
        if let (Some(segmenter), true) = (segmenter, run.len() >= 2) {
            run_text.clear();
            run_text.extend(run.iter());
            out.extend(segmenter.words(&run_text).map(|w| Term::Word(w.to_owned())));
        }
        run.clear();
    };
    let flush_word = |word: &mut String, out: &mut Vec<Term>| {
        if !word.is_empty() {
            out.push(Term::Word(std::mem::take(word)));
        }
    };
    for c in norm.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            run.push(c);
        } else if c.is_alphanumeric() || c == '.' && !word.is_empty() {
            flush_run(&mut run, &mut out);
            word.push(c);
        } else {
            flush_run(&mut run, &mut out);
            flush_word(&mut word, &mut out);
        }
    }
    flush_run(&mut run, &mut out);
    flush_word(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_latin_terms() {
        let terms = |t: &str| normalized_terms(&normalize(t), None);
        let t = terms("入党 FAQ？");
        assert_eq!(t, vec![Term::Char('入'), Term::Bigram('入', '党'), Term::Char('党'), Term::Word("faq".into())]);
        assert_eq!(terms("０.２元"), vec![Term::Word("0.2".into()), Term::Char('元')]);
        assert!(terms("   ").is_empty());
    }

    #[test]
    fn the_fast_paths_agree_with_the_definitions() {
        let slow = |t: &str| -> String { t.nfkc().flat_map(char::to_lowercase).collect() };
        for t in ["预备期多久", "入党 FAQ？", "０.２元", "ǅemal", "ﬁle", "Ⅻ章", "İstanbul", "ＡＢＣ", "預備期", "abc def", "①号", ""]
        {
            assert_eq!(normalize(t), slow(t), "{t}");
        }
        for c in FILLERS.chars() {
            assert!(is_filler(c), "{c}");
        }
        assert!(!is_filler('党') && !is_filler('a'));
        for w in QUESTION_WORDS {
            let chars: Vec<char> = w.chars().collect();
            for p in chars.windows(2) {
                assert!(is_question_bigram(p[0], p[1]), "{w}");
            }
        }
        assert!(!is_question_bigram('入', '党') && !is_question_bigram('么', '怎'));
    }
}
