//! The FAQ library as the bot serves it: `faq` holds `<entry id>` → [`FaqEntry`]; the synonym
//! rules (synonyms, declined phrases) and the "seeded" flag live in `meta`.

use super::{decode, encode, scan, Store, StoreError};
use crate::faq::{FaqEntry, FaqRules};

const FAQ_SEEDED: &[u8] = b"faq_seeded";
const FAQ_RULES: &[u8] = b"faq_rules";

/// What an FAQ import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaqChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
}

impl Store {
    /// Every entry, in id order.
    pub fn faq_entries(&self) -> Result<Vec<FaqEntry>, StoreError> {
        scan("faq", self.faq.iter())
    }

    pub fn faq_rules(&self) -> Result<FaqRules, StoreError> {
        Ok(self.meta.get(FAQ_RULES)?.map(|raw| decode("faq rules", &raw)).transpose()?.unwrap_or_default())
    }

    /// Adds new entries and replaces changed ones (by id), all at once, durably. Entries not
    /// named are kept.
    pub fn upsert_faq(&self, entries: &[FaqEntry], rules: Option<&FaqRules>) -> Result<FaqChanges, StoreError> {
        let mut changes = FaqChanges::default();
        let mut batch = sled::Batch::default();
        for entry in entries {
            let old: Option<FaqEntry> = self.faq.get(entry.id.as_bytes())?.map(|raw| decode("faq", &raw)).transpose()?;
            match old {
                None => changes.added.push(entry.id.clone()),
                Some(old) if &old == entry => {
                    changes.unchanged += 1;
                    continue;
                }
                Some(_) => changes.changed.push(entry.id.clone()),
            }
            batch.insert(entry.id.as_bytes(), encode(entry)?);
        }
        self.faq.apply_batch(batch)?;
        if let Some(rules) = rules {
            self.meta.insert(FAQ_RULES, encode(rules)?)?;
        }
        self.flush()?;
        Ok(changes)
    }

    /// Whether the shipped library was ever loaded (so deleting every entry doesn't bring the
    /// shipped ones back on the next start).
    pub fn faq_seeded(&self) -> Result<bool, StoreError> {
        Ok(self.meta.get(FAQ_SEEDED)?.is_some())
    }

    pub fn mark_faq_seeded(&self) -> Result<(), StoreError> {
        self.meta.insert(FAQ_SEEDED, &[1])?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    fn e(id: &str, answer: &str) -> FaqEntry {
        FaqEntry { id: id.into(), topic: String::new(), question: "q".into(), alternatives: vec![], keywords: vec![], answer: answer.into(), source: String::new() }
    }

    #[test]
    fn upserts_report_what_changed() {
        let (_dir, store) = temp_store();
        let first = store.upsert_faq(&[e("a", "1"), e("b", "1")], None).unwrap();
        assert_eq!(first.added, ["a", "b"]);
        let second = store.upsert_faq(&[e("a", "1"), e("b", "2"), e("c", "1")], None).unwrap();
        assert_eq!((second.added, second.changed, second.unchanged), (vec!["c".to_string()], vec!["b".to_string()], 1));
        assert_eq!(store.faq_entries().unwrap().len(), 3);
    }
}
