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

use crate::framework::Command;

/// Every command, in the order `/帮助` shows them.
pub fn all() -> Vec<Box<dyn Command>> {
    vec![
        Box::new(checkin::CheckInCommand),
        Box::new(study::StudyCommand),
        Box::new(study::StudyDone),
        Box::new(quiz::AnswerCommand),
        Box::new(points::PointsCommand),
        Box::new(faq::FaqCommand),
        Box::new(submit_report::SubmitReport::THOUGHT),
        Box::new(submit_report::SubmitReport::STUDY_NOTE),
        Box::new(my_reports::MyReports),
        Box::new(view_report::ViewReport),
        Box::new(report_list::ReportList),
        Box::new(stats::StatsCommand),
        Box::new(members::MembersCommand),
        Box::new(role::RoleCommand),
        Box::new(remind::RemindCommand),
        Box::new(echo::EchoCommand),
        Box::new(help::HelpCommand),
    ]
}

#[cfg(test)]
mod tests {
    use crate::domain::Role;
    use crate::framework::{Args, Where};
    use crate::testing::BotTester;

    /// Every command × every role, through the real bot: refused exactly where the table says.
    /// Columns: secretary, committee, member, probationary, candidate, activist, applicant, masses.
    #[test]
    fn every_command_and_role_against_the_permission_table() {
        const T: bool = true;
        const F: bool = false;
        let expected: &[(&str, [bool; 8])] = &[
            ("checkin", [T, T, T, T, T, T, T, T]),
            ("faq", [T, T, T, T, T, T, T, T]),
            ("help", [T, T, T, T, T, T, T, T]),
            ("echo", [T, T, T, T, T, T, T, T]),
            ("thought_report", [T, T, T, T, T, T, T, F]),
            ("study_note", [T, T, T, T, T, T, T, F]),
            ("my_reports", [T, T, T, T, T, T, T, F]),
            ("view_report", [T, T, T, T, T, T, T, F]),
            ("report_list", [T, T, F, F, F, F, F, F]),
            ("stats", [T, T, F, F, F, F, F, F]),
            ("members", [T, T, F, F, F, F, F, F]),
            ("role", [T, F, F, F, F, F, F, F]),
            ("study", [T, T, T, T, T, T, T, T]),
            ("study_done", [T, T, T, T, T, T, T, T]),
            ("answer", [T, T, T, T, T, T, T, T]),
            ("points", [T, T, T, T, T, T, T, T]),
            ("remind", [T, T, F, F, F, F, F, F]),
        ];
        let t = BotTester::new();
        let commands: Vec<_> = super::all();
        assert_eq!(commands.len(), expected.len(), "every command has a row");
        for cmd in &commands {
            let spec = cmd.spec();
            let row = expected.iter().find(|(k, _)| *k == spec.key).unwrap_or_else(|| panic!("no row for {}", spec.key)).1;
            for (role, allowed) in Role::ALL.into_iter().zip(row) {
                let who = format!("u-{}", role.key());
                t.set_role(&who, role);
                let arg = if spec.args == Args::Required { " x y" } else { "" };
                let text = format!("/{}{arg}", spec.names[0]);
                let reply = if spec.chats == Where::DirectOnly { t.dm(&who, &text) } else { t.say(&who, &text) };
                let refused = reply.starts_with("只有");
                assert_eq!(!refused, allowed, "{} as {role:?}: {reply}", spec.key);
            }
        }
    }

    #[test]
    fn command_names_are_unique() {
        let mut names: Vec<String> = super::all().iter().flat_map(|c| c.spec().names.iter().map(|n| n.to_lowercase())).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total);
    }
}
