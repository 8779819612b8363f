//! Who may do what: the one table every command's permission check goes through.

use crate::domain::role::Role;

/// Something a command lets a person do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Use the bot at all: help, FAQ.
    Basic,
    /// Check in for the day.
    CheckIn,
    /// Submit thought reports and study notes, list one's own.
    SubmitReports,
    /// Read other members' reports and see who has not submitted.
    ReviewReports,
    /// See the branch's weekly statistics.
    ViewStats,
    /// Change members' roles.
    ManageRoles,
    /// Schedule reminders and notices for the branch.
    Announce,
    /// Edit the FAQ library, read its history and the questions it could not answer.
    ManageFaq,
}

impl Capability {
    pub const ALL: [Capability; 8] = [
        Capability::Basic,
        Capability::CheckIn,
        Capability::SubmitReports,
        Capability::ReviewReports,
        Capability::ViewStats,
        Capability::ManageRoles,
        Capability::Announce,
        Capability::ManageFaq,
    ];
}

/// The permission table. Reading across a row: what that role may do.
///
/// Thought reports are part of the path to membership, so everyone from 入党申请人 up writes
/// them; 群众 check in and ask questions but have no reports to file. Reviewing reports and
/// stats is committee work; only the secretary assigns roles.
pub fn allows(role: Role, capability: Capability) -> bool {
    use Capability::*;
    match capability {
        Basic | CheckIn => true,
        SubmitReports => role != Role::Masses,
        ReviewReports | ViewStats | Announce | ManageFaq => role.is_committee(),
        ManageRoles => role == Role::Secretary,
    }
}

/// The roles that have a capability, most senior first (for "only 书记、支委 may ..." replies).
pub fn roles_with(capability: Capability) -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| allows(*r, capability)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_as_intended() {
        use Capability::*;
        // Rows: Secretary, Committee, Member, Probationary, Candidate, Activist, Applicant, Masses.
        let expected: [(Capability, [bool; 8]); 8] = [
            (Basic, [true; 8]),
            (CheckIn, [true; 8]),
            (SubmitReports, [true, true, true, true, true, true, true, false]),
            (ReviewReports, [true, true, false, false, false, false, false, false]),
            (ViewStats, [true, true, false, false, false, false, false, false]),
            (ManageRoles, [true, false, false, false, false, false, false, false]),
            (Announce, [true, true, false, false, false, false, false, false]),
            (ManageFaq, [true, true, false, false, false, false, false, false]),
        ];
        for (cap, row) in expected {
            for (role, want) in Role::ALL.into_iter().zip(row) {
                assert_eq!(allows(role, cap), want, "{role:?} / {cap:?}");
            }
        }
    }
}
