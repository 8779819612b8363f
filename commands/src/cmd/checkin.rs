//! `/签到 [备注]` (`/checkin`, `/打卡`): one check-in per member per local day; the reply gives
//! this week's count and the current streak. A second check-in the same day changes nothing.

use chrono::{Days, NaiveDate};

use crate::domain::{Capability, CheckIn, Member};
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::store::{Store, StoreError};

const MAX_NOTE_CHARS: usize = 200;
/// A streak is counted back at most this far (point reads, one a day).
const MAX_STREAK_DAYS: u64 = 3660;

pub struct CheckInCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "checkin",
    names: &["签到", "打卡", "checkin", "check-in"],
    args: Args::Optional,
    capability: Capability::CheckIn,
    chats: Where::Anywhere,
};

impl Command for CheckInCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let note = args.trim();
        let len = note.chars().count();
        if len > MAX_NOTE_CHARS {
            return Err(CommandError::TooLong { len, max: MAX_NOTE_CHARS });
        }
        let today = ctx.today();
        let checkin = CheckIn {
            branch: ctx.branch.id.clone(),
            user: ctx.member.user.clone(),
            date: today,
            at: ctx.sent_at,
            note: (!note.is_empty()).then(|| note.to_owned()),
        };
        let existing = ctx.store.insert_checkin(&checkin)?;
        let week = days_this_week(ctx, &ctx.member)?;
        let streak = streak(ctx.store, &ctx.member, today)?;
        let text = match existing {
            None => ctx.t("checkin.ok", &[("week", &week), ("streak", &streak)]),
            Some(first) => {
                let time = first.at.with_timezone(&ctx.settings.timezone).format("%H:%M").to_string();
                ctx.t("checkin.already", &[("time", &time), ("week", &week), ("streak", &streak)])
            }
        };
        Ok(Reply::text(text))
    }
}

fn days_this_week(ctx: &Ctx<'_>, member: &Member) -> Result<usize, StoreError> {
    let week = ctx.this_week();
    let all = ctx.store.checkins_between(&member.branch, week.monday(), week.sunday())?;
    Ok(all.iter().filter(|c| c.user == member.user).count())
}

/// Consecutive days with a check-in, ending today.
fn streak(store: &Store, member: &Member, today: NaiveDate) -> Result<u64, StoreError> {
    let mut days = 0;
    while days < MAX_STREAK_DAYS {
        let Some(day) = today.checked_sub_days(Days::new(days)) else { break };
        if store.checkin(&member.branch, day, &member.user)?.is_none() {
            break;
        }
        days += 1;
    }
    Ok(days)
}
