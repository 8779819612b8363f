//! Quiz state: `quiz` holds `a\0<branch>\0<question>` → the date asked, `o\0<branch>` → the
//! open quiz, `r\0<branch>\0<question>\0<user>` → a member's answer.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhibu_chat::{ChatId, UserId};

use super::{decode, encode, keys, Effect, EffectTree, Insert, Store, StoreError};
use crate::domain::BranchId;

/// A question posted and not yet closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenQuiz {
    pub branch: BranchId,
    pub question: String,
    pub posted_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// The groups it was posted to (the results go there too).
    pub chats: Vec<ChatId>,
}

/// A member's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizAnswer {
    pub user: UserId,
    pub choice: usize,
    pub at: DateTime<Utc>,
}

fn asked_key(branch: &BranchId, question: &str) -> Vec<u8> {
    keys::join(&[b"a", branch.as_str().as_bytes(), question.as_bytes()])
}

fn open_key(branch: &BranchId) -> Vec<u8> {
    keys::join(&[b"o", branch.as_str().as_bytes()])
}

fn answer_key(branch: &BranchId, question: &str, user: &UserId) -> Vec<u8> {
    keys::join(&[b"r", branch.as_str().as_bytes(), question.as_bytes(), user.as_str().as_bytes()])
}

impl Store {
    pub fn quiz_asked(&self, branch: &BranchId) -> Result<HashMap<String, NaiveDate>, StoreError> {
        let prefix = keys::prefix(&[b"a", branch.as_str().as_bytes()]);
        let mut out = HashMap::new();
        for kv in self.quiz.scan_prefix(&prefix) {
            let (k, v) = kv?;
            out.insert(String::from_utf8_lossy(&k[prefix.len()..]).into_owned(), decode("quiz asked", &v)?);
        }
        Ok(out)
    }

    pub fn open_quiz(&self, branch: &BranchId) -> Result<Option<OpenQuiz>, StoreError> {
        self.quiz.get(open_key(branch))?.map(|raw| decode("open quiz", &raw)).transpose()
    }

    /// Every open quiz, in every branch.
    pub fn open_quizzes(&self) -> Result<Vec<OpenQuiz>, StoreError> {
        let mut out = Vec::new();
        for kv in self.quiz.scan_prefix(keys::prefix(&[b"o"])) {
            let (_, v) = kv?;
            out.push(decode("open quiz", &v)?);
        }
        Ok(out)
    }

    pub fn quiz_open_effects(&self, quiz: &OpenQuiz, date: NaiveDate) -> Result<Vec<Effect>, StoreError> {
        Ok(vec![
            Effect { tree: EffectTree::Quiz, key: asked_key(&quiz.branch, &quiz.question), value: Some(encode(&date)?) },
            Effect { tree: EffectTree::Quiz, key: open_key(&quiz.branch), value: Some(encode(quiz)?) },
        ])
    }

    pub fn quiz_close_effect(&self, branch: &BranchId) -> Effect {
        Effect { tree: EffectTree::Quiz, key: open_key(branch), value: None }
    }

    /// Records a member's answer unless they already answered; returns the first answer then.
    pub fn record_quiz_answer(&self, branch: &BranchId, question: &str, answer: &QuizAnswer) -> Result<Insert<QuizAnswer>, StoreError> {
        let k = answer_key(branch, question, &answer.user);
        match self.quiz.compare_and_swap(&k, None as Option<&[u8]>, Some(encode(answer)?))? {
            Ok(()) => Ok(Insert::Written(self.wrote())),
            Err(conflict) => match conflict.current {
                Some(raw) => Ok(Insert::Existing(decode("quiz answer", &raw)?)),
                None => Ok(Insert::Written(self.wrote())),
            },
        }
    }

    pub fn quiz_answers(&self, branch: &BranchId, question: &str) -> Result<Vec<QuizAnswer>, StoreError> {
        let prefix = keys::prefix(&[b"r", branch.as_str().as_bytes(), question.as_bytes()]);
        super::scan("quiz answer", self.quiz.scan_prefix(prefix))
    }
}
