//! The optional week argument of `/统计` and `/汇报列表`.

use crate::domain::Week;
use crate::framework::{CommandError, Ctx};

pub fn week_from_arg(ctx: &Ctx<'_>, arg: &str) -> Result<Week, CommandError> {
    Week::parse_relative(arg, ctx.today()).map_err(|_| CommandError::BadWeek(arg.trim().to_owned()))
}
