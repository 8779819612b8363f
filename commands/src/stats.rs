//! Weekly statistics for a branch: check-in days per member, the check-in rate, reports by
//! kind, and who did nothing. Shared by `/统计`, `zhibu stats` and (later) the weekly digest.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;
use unicode_width::UnicodeWidthStr;
use zhibu_chat::UserId;

use crate::domain::{ReportKind, Role, Week};
use crate::i18n::Catalog;
use crate::settings::BranchSettings;
use crate::store::{engagement_counts, Store, StoreError};

/// One member's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberWeek {
    pub name: String,
    pub user: UserId,
    pub role: Role,
    pub checkin_days: u32,
    pub thought_reports: u32,
    pub study_notes: u32,
    /// Study items recorded with `/学了`.
    pub studies: u32,
    /// Of the week's pushes to the branch's groups, how many the member read (read receipts,
    /// where the platform sends them) and acknowledged (a 👍 reaction).
    pub pushes_read: u32,
    pub pushes_acknowledged: u32,
}

/// A branch's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyStats {
    pub branch: String,
    pub branch_name: String,
    pub week: Week,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Days of the week counted so far (7 for a past week, fewer for the current one).
    pub days_counted: u32,
    pub members: Vec<MemberWeek>,
    pub checkin_days: u32,
    pub possible_checkin_days: u32,
    /// `checkin_days / possible_checkin_days`, 0 when nothing was possible.
    pub checkin_rate: f64,
    pub thought_reports: u32,
    pub study_notes: u32,
    /// Scheduled messages sent to the branch's groups in the week (study pushes, quizzes,
    /// reminders) whose platform gave them an id, so reads and reactions can be counted.
    pub pushes: u32,
    /// Members with no check-in and no report in the week.
    pub idle: Vec<String>,
}

/// Computes the stats of `week` for `branch`, as of `today` (both in `tz`).
pub fn weekly_stats(store: &Store, branch: &BranchSettings, week: Week, tz: Tz, today: NaiveDate) -> Result<WeeklyStats, StoreError> {
    let days_counted = if today < week.monday() {
        0
    } else if today > week.sunday() {
        7
    } else {
        (today - week.monday()).num_days() as u32 + 1
    };
    let mut checkins: BTreeMap<UserId, u32> = BTreeMap::new();
    for c in store.checkins_between(&branch.id, week.monday(), week.sunday())? {
        *checkins.entry(c.user).or_default() += 1;
    }
    let (from, until) = week.bounds(tz);
    let mut reports: BTreeMap<(UserId, ReportKind), u32> = BTreeMap::new();
    for r in store.reports_between(&branch.id, from, until)? {
        *reports.entry((r.author, r.kind)).or_default() += 1;
    }
    let mut studies: BTreeMap<UserId, u32> = BTreeMap::new();
    for (user, at) in store.study_records(&branch.id)? {
        if at >= from && at < until {
            *studies.entry(user).or_default() += 1;
        }
    }
    let pushes = store.engagement_between(&branch.groups, from, until)?;
    let engagement = engagement_counts(&pushes);
    let mut members: Vec<MemberWeek> = store
        .members(&branch.id)?
        .into_iter()
        .map(|m| MemberWeek {
            checkin_days: checkins.get(&m.user).copied().unwrap_or(0),
            thought_reports: reports.get(&(m.user.clone(), ReportKind::Thought)).copied().unwrap_or(0),
            study_notes: reports.get(&(m.user.clone(), ReportKind::StudyNote)).copied().unwrap_or(0),
            studies: studies.get(&m.user).copied().unwrap_or(0),
            pushes_read: engagement.get(&m.user).map_or(0, |e| e.0),
            pushes_acknowledged: engagement.get(&m.user).map_or(0, |e| e.1),
            name: m.name,
            user: m.user,
            role: m.role,
        })
        .collect();
    members.sort_by(|a, b| b.checkin_days.cmp(&a.checkin_days).then_with(|| a.name.cmp(&b.name)));
    let checkin_days: u32 = members.iter().map(|m| m.checkin_days).sum();
    let possible = days_counted * members.len() as u32;
    let idle =
        members.iter().filter(|m| m.checkin_days == 0 && m.thought_reports == 0 && m.study_notes == 0 && m.studies == 0).map(|m| m.name.clone()).collect();
    Ok(WeeklyStats {
        branch: branch.id.to_string(),
        branch_name: branch.name.clone(),
        week,
        from: week.monday(),
        to: week.sunday(),
        days_counted,
        checkin_rate: if possible == 0 { 0.0 } else { f64::from(checkin_days) / f64::from(possible) },
        thought_reports: members.iter().map(|m| m.thought_reports).sum(),
        study_notes: members.iter().map(|m| m.study_notes).sum(),
        checkin_days,
        pushes: pushes.len() as u32,
        possible_checkin_days: possible,
        members,
        idle,
    })
}

fn pad(cell: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(cell);
    format!("{cell}{}", " ".repeat(width.saturating_sub(w)))
}

impl WeeklyStats {
    /// A compact table for a chat. It names members and counts only: roles (political status)
    /// are left out, because `/统计` may be run in the group.
    pub fn render_text(&self, catalog: &Catalog) -> String {
        let progress = if self.days_counted < 7 { catalog.t("stats.progress", &[("days", &self.days_counted)]) } else { String::new() };
        let title =
            catalog.t("stats.title", &[("branch", &self.branch_name), ("week", &self.week), ("from", &self.from), ("to", &self.to), ("progress", &progress)]);
        let mut lines = vec![title.trim_end().to_owned()];
        if self.members.is_empty() {
            lines.push(catalog.t("stats.no_members", &[]));
            return lines.join("\n");
        }
        let mut header = vec![
            catalog.get("stats.member").to_owned(),
            catalog.get("stats.checkin_days").to_owned(),
            catalog.get("report.thought").to_owned(),
            catalog.get("report.study_note").to_owned(),
            catalog.get("stats.studies").to_owned(),
        ];
        // Read and acknowledged columns only in weeks with pushes (the console demo has none).
        if self.pushes > 0 {
            header.push(catalog.get("stats.pushes_read").to_owned());
            header.push(catalog.get("stats.pushes_acknowledged").to_owned());
        }
        let rows: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|m| {
                let mut row = vec![
                    m.name.clone(),
                    format!("{}/{}", m.checkin_days, self.days_counted),
                    m.thought_reports.to_string(),
                    m.study_notes.to_string(),
                    m.studies.to_string(),
                ];
                if self.pushes > 0 {
                    row.push(format!("{}/{}", m.pushes_read, self.pushes));
                    row.push(format!("{}/{}", m.pushes_acknowledged, self.pushes));
                }
                row
            })
            .collect();
        let widths: Vec<usize> =
            (0..header.len()).map(|i| std::iter::once(&header).chain(&rows).map(|r| UnicodeWidthStr::width(r[i].as_str())).max().unwrap_or(0)).collect();
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
            lines.push(cells.join("  ").trim_end().to_owned());
        }
        let rate = format!("{:.1}%", self.checkin_rate * 100.0);
        lines.push(catalog.t(
            "stats.summary",
            &[
                ("rate", &rate),
                ("done", &self.checkin_days),
                ("possible", &self.possible_checkin_days),
                ("thought", &self.thought_reports),
                ("note", &self.study_notes),
            ],
        ));
        if self.idle.is_empty() {
            lines.push(catalog.t("stats.idle_none", &[]));
        } else {
            lines.push(catalog.t("stats.idle", &[("names", &catalog.join(&self.idle))]));
        }
        lines.join("\n")
    }

    /// One row per member, for spreadsheets.
    pub fn to_csv(&self) -> String {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let mut out =
            String::from("week,member,user,role,checkin_days,days_counted,thought_reports,study_notes,studies,pushes,pushes_read,pushes_acknowledged\n");
        for m in &self.members {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{}\n",
                self.week,
                quote(&m.name),
                quote(m.user.as_str()),
                m.role.key(),
                m.checkin_days,
                self.days_counted,
                m.thought_reports,
                m.study_notes,
                m.studies,
                self.pushes,
                m.pushes_read,
                m.pushes_acknowledged
            ));
        }
        out
    }
}
