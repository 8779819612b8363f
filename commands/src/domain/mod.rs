//! The branch's domain: who is in it, what they record, and the rules about it.

pub mod clock;
pub mod permission;
pub mod records;
pub mod role;
pub mod roster;
pub mod week;
pub mod when;

pub use clock::{Clock, ManualClock, SystemClock};
pub use permission::{allows, roles_with, Capability};
pub use records::{BranchId, CheckIn, Member, Report, ReportKind};
pub use role::{Role, UnknownRole};
pub use roster::{change_role, find_member, FindError, RoleChange};
pub use week::{local_date, BadWeek, Week};
pub use when::{parse_when, BadTime};
