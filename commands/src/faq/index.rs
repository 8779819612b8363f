//! Finding the entry that answers a question, and knowing when none does.
//!
//! Each term is weighted by how rare it is across the library (BM25's idf), bigrams above single
//! characters, filler characters (的、吗、什么…) near zero. An entry's score blends two views:
//! how much of the question's weight the entry explains (coverage, with terms found only in the
//! answer counted at a discount), and how well the question matches the entry's single closest
//! phrasing (an F-measure). The bot answers only above a threshold; below it, it says it does not
//! know and offers the closest questions. A question made mostly of words no entry uses —
//! weather, the canteen, someone else's file — cannot reach the threshold.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::entry::{FaqEntry, FaqRules};
use super::segment::Segmenter;
use super::text::{is_cjk, is_filler, is_question_bigram, normalize, normalized_terms, Term};

/// Longest part of a question that is matched; the rest is ignored (a 1 MB question costs no
/// more than a 200-character one).
const MAX_QUERY_CHARS: usize = 200;

/// How many recent questions keep their outcome (see [`FaqIndex::search`]); the memory starts
/// over when it is full.
const REMEMBERED_QUESTIONS: usize = 1024;
/// Weight of a match found only in an entry's answer, relative to one in its question side.
const ANSWER_MATCH: f64 = 0.4;
/// Weight of a whole dictionary word (`预备党员`), relative to a bigram; its bigrams count too.
const SEGMENTED_WORD: f64 = 0.8;

/// A question or rule reduced to what a keyword rule compares: normalized, without spaces or
/// punctuation (`党费？` and `党 费` are `党费`).
fn compact(text: &str) -> String {
    normalize(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// How sure the library is about its best entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Confident: answer with the best entry.
    Answer,
    /// The grey zone: probably the best entry, so answer it as "did you mean …?".
    Suggest,
    /// Nothing matches well enough: say so and offer the closest questions.
    Unknown,
}

impl Verdict {
    /// `answer`, `suggest` or `unknown`, as `zhibu faq ask --json` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Answer => "answer",
            Verdict::Suggest => "suggest",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The scores at which the library answers, and below that, suggests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// The lowest score answered outright.
    pub answer: f64,
    /// The lowest score answered as "did you mean …?"; at or above `answer`, no grey zone.
    pub suggest: f64,
}

impl Thresholds {
    /// Calibrated on the project's own labelled questions (commands/tests/faq_shipped.rs) and
    /// checked on the shared dev set; see docs/design.md "FAQ confidence".
    pub const DEFAULT: Thresholds = Thresholds { answer: 0.5, suggest: 0.4 };
}

/// The outcome of asking the library a question.
#[derive(Debug, Clone)]
pub struct FaqMatch<'a> {
    pub verdict: Verdict,
    /// The best entry and its score in [0, 1], if any entry shares a term with the question.
    pub best: Option<(&'a FaqEntry, f64)>,
    /// Up to three closest entries, best first (includes `best`).
    pub closest: Vec<(&'a FaqEntry, f64)>,
    /// Whether a keyword rule chose `best` (its score is then 1).
    pub by_rule: bool,
}

/// What a search made of a question, by entry position: enough to give the same [`FaqMatch`]
/// again.
#[derive(Debug, Clone)]
struct Outcome {
    verdict: Verdict,
    closest: Vec<(usize, f64)>,
    by_rule: bool,
}

/// One entry's phrasings (question and alternatives), by their total term weight; the terms
/// themselves are in the index's postings.
struct Doc {
    /// Where this entry's phrasings start in the per-query phrasing table.
    first_phrasing: usize,
    phrasing_weights: Vec<f64>,
}

/// Where a term occurs; the search walks these lists instead of probing every entry's sets.
#[derive(Default)]
struct Postings {
    /// Entries with the term in their question side (question, alternatives, keywords).
    side: Vec<usize>,
    /// Entries with the term only in their answer.
    answer_only: Vec<usize>,
    /// (entry, phrasing) pairs whose phrasing has the term.
    phrasings: Vec<(usize, usize)>,
}

/// An in-memory index over the library, rebuilt whenever the library changes.
pub struct FaqIndex {
    entries: Vec<FaqEntry>,
    docs: Vec<Doc>,
    df: HashMap<Term, u32>,
    postings: HashMap<Term, Postings>,
    /// Phrasings over all entries, the length of the per-query table.
    phrasing_count: usize,
    /// Synonym replacements by their first character, longest first.
    synonyms: HashMap<char, Vec<(String, String)>>,
    /// Normalized phrases that make a question a request to decline.
    decline: Vec<String>,
    /// For each character, the characters that follow it in some known bigram (and precede it).
    followers: HashMap<char, HashSet<char>>,
    leaders: HashMap<char, HashSet<char>>,
    /// Number of entries, for idf.
    n: f64,
    thresholds: Thresholds,
    segmenter: Segmenter,
    /// Keyword rules, exact ones first, then longest first: (normalized text, contains, entry).
    rules: Vec<(String, bool, usize)>,
    /// Recent questions and their outcomes. Members ask the same things again and again; the
    /// memory lives and dies with the index, so a change to the library starts it over.
    recent: std::sync::Mutex<HashMap<String, Outcome>>,
}

impl FaqIndex {
    /// Builds the index.
    pub fn build(entries: Vec<FaqEntry>, rules: &FaqRules, thresholds: Thresholds) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for group in &rules.synonyms {
            let Some(canonical) = group.first().map(|c| normalize(c)) else { continue };
            for term in group.iter().skip(1) {
                pairs.push((normalize(term), canonical.clone()));
            }
        }
        // Longest first, so `入党介绍人` is replaced before `介绍人`.
        pairs.sort_by_key(|(from, _)| std::cmp::Reverse(from.chars().count()));
        let vocabulary: Vec<String> = rules.synonyms.iter().flatten().chain(entries.iter().flat_map(|e| &e.keywords)).map(|w| normalize(w)).collect();
        let segmenter = Segmenter::new(vocabulary.iter().map(String::as_str));
        let position: HashMap<&str, usize> = entries.iter().enumerate().map(|(i, e)| (e.id.as_str(), i)).collect();
        let mut keyword_rules: Vec<(String, bool, usize)> = rules
            .keywords
            .iter()
            .filter_map(|rule| {
                let Some(&entry) = position.get(rule.entry.as_str()) else {
                    tracing::warn!(keyword = %rule.text, entry = %rule.entry, "a keyword rule names no entry; ignored");
                    return None;
                };
                Some((compact(&rule.text), rule.contains, entry))
            })
            .filter(|(text, _, _)| !text.is_empty())
            .collect();
        keyword_rules.sort_by_key(|(text, contains, _)| (*contains, std::cmp::Reverse(text.chars().count())));
        let mut index = FaqIndex {
            entries: Vec::new(),
            docs: Vec::new(),
            df: HashMap::default(),
            postings: HashMap::default(),
            phrasing_count: 0,
            synonyms: {
                let mut by_first: HashMap<char, Vec<(String, String)>> = HashMap::default();
                for (from, to) in pairs {
                    if let Some(c) = from.chars().next() {
                        by_first.entry(c).or_default().push((from, to));
                    }
                }
                by_first
            },
            decline: rules.decline.iter().map(|d| normalize(d)).filter(|d| !d.is_empty()).collect(),
            followers: HashMap::default(),
            leaders: HashMap::default(),
            n: entries.len() as f64,
            thresholds,
            segmenter,
            rules: keyword_rules,
            recent: Default::default(),
        };
        let term_sets: Vec<(Vec<HashSet<Term>>, HashSet<Term>)> = entries
            .iter()
            .map(|e| {
                let mut phrasings: Vec<HashSet<Term>> = std::iter::once(&e.question).chain(&e.alternatives).map(|p| index.term_set(p)).collect();
                let keywords: HashSet<Term> = e.keywords.iter().flat_map(|k| index.term_set(k)).collect();
                let mut side: HashSet<Term> = phrasings.iter().flatten().cloned().collect();
                side.extend(keywords.iter().cloned());
                phrasings.retain(|p| !p.is_empty());
                (phrasings, side)
            })
            .collect();
        for (i, (_, side)) in term_sets.iter().enumerate() {
            for t in side {
                if let Term::Bigram(a, b) = t {
                    index.followers.entry(*a).or_default().insert(*b);
                    index.leaders.entry(*b).or_default().insert(*a);
                }
                *index.df.entry(t.clone()).or_default() += 1;
                index.postings.entry(t.clone()).or_default().side.push(i);
            }
        }
        for (i, (e, (phrasings, side))) in entries.iter().zip(term_sets).enumerate() {
            // Answers match by characters and bigrams: whole words there add little, and an
            // answer is the longest text of an entry.
            for t in index.unsegmented_term_set(&e.answer) {
                if !side.contains(&t) {
                    index.postings.entry(t).or_default().answer_only.push(i);
                }
            }
            let first_phrasing = index.phrasing_count;
            let mut phrasing_weights = Vec::with_capacity(phrasings.len());
            for (p, terms) in phrasings.into_iter().enumerate() {
                phrasing_weights.push(terms.iter().map(|t| index.weight(t)).sum());
                for t in terms {
                    index.postings.entry(t).or_default().phrasings.push((i, p));
                }
            }
            index.phrasing_count += phrasing_weights.len();
            index.docs.push(Doc { first_phrasing, phrasing_weights });
        }
        index.entries = entries;
        index
    }

    pub fn entries(&self) -> &[FaqEntry] {
        &self.entries
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&FaqEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    fn canonical(&self, text: &str) -> String {
        let norm = normalize(text);
        if self.synonyms.is_empty() {
            return norm;
        }
        let mut out = String::with_capacity(norm.len());
        let mut rest = norm.as_str();
        'outer: while let Some(c) = rest.chars().next() {
            for (from, to) in self.synonyms.get(&c).into_iter().flatten() {
                if rest.starts_with(from.as_str()) {
                    out.push_str(to);
                    out.push(' ');
                    rest = &rest[from.len()..];
                    continue 'outer;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    fn term_set(&self, text: &str) -> HashSet<Term> {
        normalized_terms(&self.canonical(text), Some(&self.segmenter)).into_iter().collect()
    }

    fn unsegmented_term_set(&self, text: &str) -> HashSet<Term> {
        normalized_terms(&self.canonical(text), None).into_iter().collect()
    }

    /// The entry a keyword rule gives for this question, if one applies.
    fn rule_for(&self, question: &str) -> Option<usize> {
        if self.rules.is_empty() {
            return None;
        }
        let q = compact(question);
        self.rules.iter().find(|(text, contains, _)| if *contains { q.contains(text.as_str()) } else { &q == text }).map(|r| r.2)
    }

    /// Replaces a character no entry uses by the one that makes known pairs with both its
    /// neighbours, if there is exactly one best such character: `预被期` → `预备期`.
    fn correct_typos(&self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for i in 1..chars.len().saturating_sub(1) {
            let c = chars[i];
            if self.known(&Term::Char(c)) || !c.is_alphabetic() || c.is_ascii() {
                continue;
            }
            let (Some(after_prev), Some(before_next)) = (self.followers.get(&chars[i - 1]), self.leaders.get(&chars[i + 1])) else {
                continue;
            };
            let best = after_prev.intersection(before_next).max_by_key(|&&fix| {
                let df = |t: Term| self.df.get(&t).copied().unwrap_or(0);
                (df(Term::Bigram(chars[i - 1], fix)) + df(Term::Bigram(fix, chars[i + 1])), std::cmp::Reverse(fix))
            });
            if let Some(&fix) = best {
                chars[i] = fix;
            }
        }
        chars.into_iter().collect()
    }

    fn idf(&self, t: &Term) -> f64 {
        let n = self.n;
        let df = f64::from(self.df.get(t).copied().unwrap_or(0));
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn known(&self, t: &Term) -> bool {
        matches!(t, Term::Char(c) if is_filler(*c)) || self.df.contains_key(t)
    }

    fn weight(&self, t: &Term) -> f64 {
        let kind = match t {
            Term::Word(w) if w.starts_with(is_cjk) => SEGMENTED_WORD,
            Term::Word(_) => 1.0,
            Term::Bigram(a, b) if (is_filler(*a) && is_filler(*b)) || is_question_bigram(*a, *b) => 0.1,
            // A pair no entry has, of two characters the library knows, is usually two words
            // side by side (`期一` in `预备期一般`), not a new word: weigh it lightly. A pair
            // with an unknown character is new vocabulary and keeps its full weight.
            Term::Bigram(a, b) if !self.known(t) && self.known(&Term::Char(*a)) && self.known(&Term::Char(*b)) => 0.3,
            Term::Bigram(..) => 1.0,
            Term::Char(c) if is_filler(*c) => 0.05,
            Term::Char(_) => 0.35,
        };
        kind * self.idf(t)
    }

    /// Looks a question up.
    pub fn search(&self, question: &str) -> FaqMatch<'_> {
        let clipped: String = question.chars().take(MAX_QUERY_CHARS).collect();
        let remembered = self.recent().get(&clipped).cloned();
        let outcome = match remembered {
            Some(outcome) => outcome,
            None => {
                let outcome = self.evaluate(&clipped);
                let mut recent = self.recent();
                if recent.len() >= REMEMBERED_QUESTIONS {
                    recent.clear();
                }
                recent.insert(clipped, outcome.clone());
                outcome
            }
        };
        let closest: Vec<(&FaqEntry, f64)> = outcome.closest.iter().map(|&(i, s)| (&self.entries[i], s)).collect();
        FaqMatch { verdict: outcome.verdict, best: closest.first().copied(), closest, by_rule: outcome.by_rule }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, HashMap<String, Outcome>> {
        // A panic while holding it leaves outcomes that are still true.
        self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The search itself, for a question of at most [`MAX_QUERY_CHARS`].
    fn evaluate(&self, clipped: &str) -> Outcome {
        if let Some(i) = self.rule_for(clipped) {
            return Outcome { verdict: Verdict::Answer, closest: vec![(i, 1.0)], by_rule: true };
        }
        let corrected = self.correct_typos(&self.canonical(clipped));
        let query: Vec<(Term, f64)> = self
            .term_set(&corrected)
            .into_iter()
            .map(|t| {
                let w = self.weight(&t);
                (t, w)
            })
            .collect();
        let total: f64 = query.iter().map(|(_, w)| w).sum();
        let mut scored = if total > 0.0 { self.score_all(&query, total) } else { Vec::new() };
        // The three best, without sorting every candidate (a large library has thousands).
        let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > 3 {
            scored.select_nth_unstable_by(2, order);
            scored.truncate(3);
        }
        scored.sort_by(order);
        let normalized = normalize(clipped);
        let declined = self.decline.iter().any(|d| normalized.contains(d.as_str()));
        let verdict = match scored.first() {
            _ if declined => Verdict::Unknown,
            Some(&(_, s)) if s >= self.thresholds.answer => Verdict::Answer,
            Some(&(_, s)) if s >= self.thresholds.suggest => Verdict::Suggest,
            _ => Verdict::Unknown,
        };
        Outcome { verdict, closest: scored, by_rule: false }
    }

    /// Scores every entry that shares a question-side term with the query: half how much of
    /// the query the entry covers (answer-only matches count less), half the F1 of its best
    /// phrasing against the query.
    fn score_all(&self, query: &[(Term, f64)], total: f64) -> Vec<(usize, f64)> {
        let mut covered = vec![0.0; self.docs.len()];
        let mut candidate = vec![false; self.docs.len()];
        let mut matched = vec![0.0; self.phrasing_count];
        for (t, w) in query {
            let Some(p) = self.postings.get(t) else { continue };
            for &d in &p.side {
                covered[d] += w;
                candidate[d] = true;
            }
            for &d in &p.answer_only {
                covered[d] += w * ANSWER_MATCH;
            }
            for &(d, i) in &p.phrasings {
                matched[self.docs[d].first_phrasing + i] += w;
            }
        }
        (0..self.docs.len())
            .filter(|&d| candidate[d])
            .map(|d| {
                let doc = &self.docs[d];
                let best_phrasing = doc
                    .phrasing_weights
                    .iter()
                    .enumerate()
                    .map(|(i, weight)| {
                        let matched = matched[doc.first_phrasing + i];
                        if matched <= 0.0 || *weight <= 0.0 {
                            return 0.0;
                        }
                        let recall = matched / total;
                        let precision = matched / weight;
                        2.0 * recall * precision / (recall + precision)
                    })
                    .fold(0.0, f64::max);
                (d, 0.5 * covered[d] / total + 0.5 * best_phrasing)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faq::KeywordRule;

    fn entry(id: &str, q: &str, alts: &[&str], kw: &[&str], a: &str) -> FaqEntry {
        FaqEntry {
            id: id.into(),
            topic: String::new(),
            question: q.into(),
            alternatives: alts.iter().map(|s| s.to_string()).collect(),
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            answer: a.into(),
            source: String::new(),
        }
    }

    fn library() -> FaqIndex {
        let synonyms = FaqRules { synonyms: vec![vec!["入党介绍人".into(), "介绍人".into(), "introducer".into()]], ..FaqRules::default() };
        FaqIndex::build(
            vec![
                entry("probation", "预备党员的预备期是多长时间？", &["预备期多久", "预备期有几年"], &["预备期"], "预备党员的预备期为一年。"),
                entry("sponsors", "入党介绍人需要几名？", &["要几个介绍人"], &["介绍人"], "要有两名正式党员作介绍人。"),
                entry("dues-student", "学生党员每月交多少党费？", &["学生党费标准"], &["党费", "学生"], "学生党员每月交纳党费0.2元。"),
            ],
            &synonyms,
            // Calibrated for this tiny library; the shipped one is calibrated in the bot's tests.
            Thresholds { answer: 0.35, suggest: 0.25 },
        )
    }

    #[test]
    fn answers_paraphrases_and_typos() {
        let lib = library();
        for (q, id) in
            [("预备期是多久啊", "probation"), ("预被期多长", "probation"), ("入党introducer要几个", "sponsors"), ("学生的党费交多少", "dues-student")]
        {
            let m = lib.search(q);
            assert_eq!(m.verdict, Verdict::Answer, "{q}: {:?}", m.best.map(|b| b.1));
            assert_eq!(m.best.map(|b| b.0.id.as_str()), Some(id), "{q}");
        }
    }

    #[test]
    fn declines_what_it_does_not_cover() {
        let lib = library();
        for q in ["明天会下雨吗", "how is the weather", "", "？？？", "的的的的"] {
            assert_eq!(lib.search(q).verdict, Verdict::Unknown, "{q}");
        }
    }

    #[test]
    fn a_huge_question_is_clipped_not_slow() {
        let lib = library();
        let q = "预备期多久".repeat(200_000);
        let m = lib.search(&q);
        assert_eq!(m.best.map(|b| b.0.id.as_str()), Some("probation"));
    }

    #[test]
    fn keyword_rules_come_first_exact_then_contained() {
        let rules = FaqRules {
            keywords: vec![
                KeywordRule { text: "党费".into(), entry: "dues-student".into(), contains: false },
                KeywordRule { text: "介绍人".into(), entry: "probation".into(), contains: true },
                KeywordRule { text: "无此条".into(), entry: "missing".into(), contains: false },
            ],
            ..FaqRules::default()
        };
        let entries = library().entries().to_vec();
        let lib = FaqIndex::build(entries, &rules, Thresholds { answer: 0.35, suggest: 0.25 });
        let m = lib.search(" 党费？");
        assert_eq!((m.best.map(|b| b.0.id.as_str()), m.by_rule, m.verdict), (Some("dues-student"), true, Verdict::Answer));
        // Not exact: ranked as usual.
        assert!(!lib.search("党费交多少").by_rule);
        // Contained, deliberately pointing elsewhere to show the rule wins over ranking.
        assert_eq!(lib.search("入党介绍人要几名").best.map(|b| b.0.id.as_str()), Some("probation"));
        assert!(!lib.search("无此条").by_rule, "a rule naming no entry is ignored");
    }

    #[test]
    fn a_score_between_the_thresholds_is_a_suggestion() {
        let lib = library();
        let m = lib.search("预备期多久");
        let score = m.best.unwrap().1;
        let at = |answer: f64, suggest: f64| {
            FaqIndex::build(lib.entries().to_vec(), &FaqRules::default(), Thresholds { answer, suggest }).search("预备期多久").verdict
        };
        assert_eq!(at(score + 0.01, score - 0.01), Verdict::Suggest);
        assert_eq!(at(score - 0.01, score - 0.02), Verdict::Answer);
        assert_eq!(at(score + 0.02, score + 0.01), Verdict::Unknown);
    }

    #[test]
    fn a_question_asked_again_gets_the_same_outcome_from_memory() {
        let lib = library();
        let summary = |m: &FaqMatch| (m.verdict, m.by_rule, m.closest.iter().map(|(e, s)| (e.id.clone(), s.to_bits())).collect::<Vec<_>>());
        for q in ["预被期多长", "明天会下雨吗", "学生的党费交多少"] {
            let first = summary(&lib.search(q));
            assert!(lib.recent().contains_key(q), "{q}");
            assert_eq!(summary(&lib.search(q)), first, "{q}");
        }
        for i in 0..REMEMBERED_QUESTIONS + 3 {
            lib.search(&format!("问题{i}"));
        }
        assert!(lib.recent().len() <= REMEMBERED_QUESTIONS);
    }
}
