//! The chat commands, one module each. [`all`] lists them for the registry; `/帮助` is built
//! from that list, so help can never drift from the commands.

mod checkin;
mod echo;
mod faq;
mod help;
mod members;
mod my_reports;
mod points;
mod quiz;
mod remind;
mod report_list;
mod role;
mod stats;
mod study;
mod submit_report;
mod view_report;
mod week_arg;

pub use faq::{question as faq_question, reply as faq_reply};

use crate::framework::CommandSpec;

/// Every command, in the order `/帮助` shows them (each with its subcommands).
pub static ALL: &[&CommandSpec] = &[
    &checkin::SPEC,
    &study::STUDY_SPEC,
    &study::DONE_SPEC,
    &quiz::SPEC,
    &points::SPEC,
    &faq::SPEC,
    &submit_report::THOUGHT_SPEC,
    &submit_report::STUDY_NOTE_SPEC,
    &my_reports::SPEC,
    &view_report::SPEC,
    &report_list::SPEC,
    &stats::SPEC,
    &members::SPEC,
    &role::SPEC,
    &remind::SPEC,
    &echo::SPEC,
    &help::SPEC,
];

#[cfg(test)]
mod tests {
    use crate::domain::Role;
    use crate::framework::{Args, Where};
    use crate::testing::BotTester;

    /// Every command and subcommand × every role, through the real bot: refused exactly where
    /// the table says.
    /// Columns: secretary, committee, member, probationary, candidate, activist, applicant, masses.
    #[test]
    fn every_command_and_role_against_the_permission_table() {
        const T: bool = true;
        const F: bool = false;
        const COMMITTEE: [bool; 8] = [T, T, F, F, F, F, F, F];
        let expected: &[(&str, [bool; 8])] = &[
            ("checkin", [T, T, T, T, T, T, T, T]),
            ("faq", [T, T, T, T, T, T, T, T]),
            ("faq_add", COMMITTEE),
            ("faq_edit", COMMITTEE),
            ("faq_delete", COMMITTEE),
            ("faq_synonyms", COMMITTEE),
            ("faq_history", COMMITTEE),
            ("faq_unanswered", COMMITTEE),
            ("faq_confirm", COMMITTEE),
            ("faq_cancel", COMMITTEE),
            ("help", [T, T, T, T, T, T, T, T]),
            ("echo", [T, T, T, T, T, T, T, T]),
            ("thought_report", [T, T, T, T, T, T, T, F]),
            ("study_note", [T, T, T, T, T, T, T, F]),
            ("my_reports", [T, T, T, T, T, T, T, F]),
            ("view_report", [T, T, T, T, T, T, T, F]),
            ("report_list", COMMITTEE),
            ("stats", COMMITTEE),
            ("members", COMMITTEE),
            ("role", [T, F, F, F, F, F, F, F]),
            ("study", [T, T, T, T, T, T, T, T]),
            ("study_done", [T, T, T, T, T, T, T, T]),
            ("answer", [T, T, T, T, T, T, T, T]),
            ("points", [T, T, T, T, T, T, T, T]),
            ("remind", COMMITTEE),
        ];
        let t = BotTester::new();
        let all: Vec<_> = t.bot.registry().all().collect();
        assert_eq!(all.len(), expected.len(), "every command has a row");
        for (spec, parent) in all {
            let row = expected.iter().find(|(k, _)| *k == spec.key).unwrap_or_else(|| panic!("no row for {}", spec.key)).1;
            for (role, allowed) in Role::ALL.into_iter().zip(row) {
                let who = format!("u-{}", role.key());
                t.set_role(&who, role);
                let arg = if spec.args == Args::Required { " x y" } else { "" };
                let name = match parent {
                    Some(parent) => format!("{} {}", parent.names[0], spec.names[0]),
                    None => spec.names[0].to_owned(),
                };
                let text = format!("/{name}{arg}");
                let reply = if spec.chats == Where::DirectOnly { t.dm(&who, &text) } else { t.say(&who, &text) };
                let refused = reply.starts_with("只有");
                assert_eq!(!refused, allowed, "{} as {role:?}: {reply}", spec.key);
                if !allowed {
                    assert!(reply.contains(&format!("/{name}")), "the refusal names the command: {reply}");
                }
            }
        }
    }

    #[test]
    fn command_names_are_unique() {
        let mut names: Vec<String> = super::ALL.iter().flat_map(|c| c.names.iter().map(|n| n.to_lowercase())).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total);
    }
}
