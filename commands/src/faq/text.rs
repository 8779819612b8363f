//! Turning text into match terms: NFKC, lower case, Chinese characters as unigrams and bigrams,
//! Latin words whole. Bigrams carry most of the meaning; unigrams let a question with one wrong
//! character (`预被期`) still meet its entry.

use unicode_normalization::UnicodeNormalization;

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
pub fn is_filler(c: char) -> bool {
    "的了吗呢啊吧呀么是有在和与及或就都也还要会能可以请问一下个这那些哪怎什啥多少几吗嘛我你他她它们".contains(c)
}

/// Words of asking, not of the topic: their bigrams weigh little.
const QUESTION_WORDS: &[&str] = &[
    "一般", "大概", "通常", "需要", "可以", "应该", "怎么", "什么", "多少", "哪些", "为什么", "如何", "请问", "一下",
    "知道", "想问", "有没有", "是不是", "能不能", "要不要", "关于", "时候", "这个", "那个", "现在", "还是", "的话",
    "具体", "主要", "吗", "一个", "有哪", "是什", "是怎", "怎样", "样的",
];

/// Whether a bigram is part of how people ask rather than what they ask about.
pub fn is_question_bigram(a: char, b: char) -> bool {
    QUESTION_WORDS.iter().any(|w| {
        let mut cs = w.chars();
        match (cs.next(), cs.next(), cs.next()) {
            (Some(x), Some(y), None) => x == a && y == b,
            (Some(x), Some(y), Some(z)) => (x == a && y == b) || (y == a && z == b),
            _ => false,
        }
    })
}

pub fn normalize(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
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
}
