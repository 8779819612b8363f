//! Quizzes (每日一题): a bank of multiple-choice questions; a quiz job posts the next one a branch
//! has not had, members answer with `/答 B` (once each), and at the close time the bot posts the
//! answer, the explanation and how many answered right, and awards points.

use serde::{Deserialize, Serialize};

/// One question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuizQuestion {
    pub id: String,
    pub question: String,
    pub options: Vec<String>,
    /// The correct option's letter.
    pub answer: String,
    pub explanation: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl QuizQuestion {
    /// The correct option's index.
    pub fn answer_index(&self) -> Option<usize> {
        letter_index(&self.answer).filter(|i| *i < self.options.len())
    }
}

/// `A`/`a`/`Ａ` → 0, … (up to `D`).
pub fn letter_index(letter: &str) -> Option<usize> {
    let mut chars = letter.trim().chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    let c = match c {
        'Ａ'..='Ｄ' => char::from_u32(c as u32 - 'Ａ' as u32 + 'A' as u32)?,
        'ａ'..='ｄ' => char::from_u32(c as u32 - 'ａ' as u32 + 'A' as u32)?,
        c => c.to_ascii_uppercase(),
    };
    ('A'..='D').contains(&c).then(|| c as usize - 'A' as usize)
}

/// A stable 64-bit FNV-1a hash (std's hasher may change between releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The letter of option `i`.
pub fn letter(i: usize) -> char {
    char::from(b'A' + (i as u8).min(25))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BankFile {
    #[serde(default)]
    question: Vec<QuizQuestion>,
}

/// The quiz bank.
#[derive(Debug, Clone, Default)]
pub struct QuizBank {
    questions: Vec<QuizQuestion>,
}

impl QuizBank {
    /// Reads a bank file, refusing it whole on any bad question.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: BankFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut problems = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for q in &file.question {
            if !(2..=4).contains(&q.options.len()) {
                problems.push(format!("{}: needs 2 to 4 options", q.id));
            }
            if q.answer_index().is_none() {
                problems.push(format!("{}: answer `{}` is not one of the options", q.id, q.answer));
            }
            if !ids.insert(q.id.as_str()) {
                problems.push(format!("{}: id used twice", q.id));
            }
        }
        if problems.is_empty() {
            Ok(Self { questions: file.question })
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn shipped() -> Result<Self, String> {
        Self::parse(crate::shipped::QUIZ_TOML)
    }

    pub fn questions(&self) -> &[QuizQuestion] {
        &self.questions
    }

    pub fn get(&self, id: &str) -> Option<&QuizQuestion> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// The next question for a branch that was asked `asked` (id → date): the first not asked
    /// in a fixed order that mixes the bank's topics (by a hash of the id, so it does not change
    /// when questions are added), or once all were, the one asked longest ago.
    pub fn next_for(&self, asked: &std::collections::HashMap<String, chrono::NaiveDate>) -> Option<&QuizQuestion> {
        let order = |q: &&QuizQuestion| (fnv1a(&q.id), q.id.clone());
        let not_asked = self.questions.iter().filter(|q| !asked.contains_key(&q.id)).min_by_key(order);
        not_asked.or_else(|| self.questions.iter().min_by_key(|q| (asked.get(&q.id).copied(), fnv1a(&q.id))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(letter_index("b"), Some(1));
        assert_eq!(letter_index(" Ｃ "), Some(2));
        assert_eq!(letter_index("E"), None);
        assert_eq!(letter_index("AB"), None);
        assert_eq!(letter(3), 'D');
    }

    #[test]
    fn a_bad_bank_is_refused() {
        let bad = "[[question]]\nid = \"x\"\nquestion = \"q\"\noptions = [\"a\"]\nanswer = \"C\"\nexplanation = \"e\"\n";
        let err = QuizBank::parse(bad).unwrap_err();
        assert!(err.contains("2 to 4 options") && err.contains("not one of the options"), "{err}");
    }

    #[test]
    fn the_shipped_bank_is_valid() {
        let bank = QuizBank::shipped().unwrap();
        assert!(crate::shipped::QUIZ_TOML.is_empty() || bank.questions().len() >= 50);
    }
}
