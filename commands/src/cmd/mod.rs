//! The chat commands, one module each. [`all`] lists them for the registry; `/帮助` is built
//! from that list, so help can never drift from the commands.

mod checkin;
mod faq;
mod help;
mod members;
mod my_reports;
mod report_list;
mod role;
mod stats;
mod submit_report;
mod view_report;
mod week_arg;

pub use faq::reply as faq_reply;

use crate::framework::Command;

/// Every command, in the order `/帮助` shows them.
pub fn all() -> Vec<Box<dyn Command>> {
    vec![
        Box::new(checkin::CheckInCommand),
        Box::new(faq::FaqCommand),
        Box::new(submit_report::SubmitReport::THOUGHT),
        Box::new(submit_report::SubmitReport::STUDY_NOTE),
        Box::new(my_reports::MyReports),
        Box::new(view_report::ViewReport),
        Box::new(report_list::ReportList),
        Box::new(stats::StatsCommand),
        Box::new(members::MembersCommand),
        Box::new(role::RoleCommand),
        Box::new(help::HelpCommand),
    ]
}
