//! The roles a person can hold in a branch, from 书记 down to 群众.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role in the branch. Ordered from most to least responsibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 书记: leads the branch.
    Secretary,
    /// 支委: a member of the branch committee.
    Committee,
    /// 正式党员: a full Party member.
    Member,
    /// 预备党员: a probationary member.
    Probationary,
    /// 发展对象: a candidate for membership.
    Candidate,
    /// 入党积极分子: an activist applying for membership.
    Activist,
    /// 入党申请人: has handed in an application.
    Applicant,
    /// 群众: not in the membership pipeline.
    Masses,
}

impl Role {
    pub const ALL: [Role; 8] =
        [Role::Secretary, Role::Committee, Role::Member, Role::Probationary, Role::Candidate, Role::Activist, Role::Applicant, Role::Masses];

    /// The stable English name used in config files, CLI arguments and exports.
    pub fn key(self) -> &'static str {
        match self {
            Role::Secretary => "secretary",
            Role::Committee => "committee",
            Role::Member => "member",
            Role::Probationary => "probationary",
            Role::Candidate => "candidate",
            Role::Activist => "activist",
            Role::Applicant => "applicant",
            Role::Masses => "masses",
        }
    }

    /// The Chinese name, as members write it in a command.
    pub fn chinese(self) -> &'static str {
        match self {
            Role::Secretary => "书记",
            Role::Committee => "支委",
            Role::Member => "正式党员",
            Role::Probationary => "预备党员",
            Role::Candidate => "发展对象",
            Role::Activist => "入党积极分子",
            Role::Applicant => "入党申请人",
            Role::Masses => "群众",
        }
    }

    /// Extra spellings people use for a role.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Role::Secretary => &["支部书记", "党支部书记"],
            Role::Committee => &["支部委员", "委员"],
            Role::Member => &["党员"],
            Role::Probationary => &["预备"],
            Role::Candidate => &[],
            Role::Activist => &["积极分子"],
            Role::Applicant => &["申请人"],
            Role::Masses => &[],
        }
    }

    /// Secretary and committee run the branch: stats, report review, roles.
    pub fn is_committee(self) -> bool {
        matches!(self, Role::Secretary | Role::Committee)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A role name that matches no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Accepts the English key, the Chinese name or a common alias.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Role::ALL.into_iter().find(|r| r.key().eq_ignore_ascii_case(s) || r.chinese() == s || r.aliases().contains(&s)).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_parses_from_each_of_its_names() {
        for role in Role::ALL {
            assert_eq!(role.key().parse::<Role>(), Ok(role));
            assert_eq!(role.chinese().parse::<Role>(), Ok(role));
            for alias in role.aliases() {
                assert_eq!(alias.parse::<Role>(), Ok(role));
            }
        }
        assert_eq!("Secretary".parse::<Role>(), Ok(Role::Secretary));
        assert!("boss".parse::<Role>().is_err());
    }
}
