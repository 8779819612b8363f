//! Times as secretaries write them for `/提醒`: `明天 9:00`, `2026-12-01 09:00`, `周五 18:00`,
//! `下周一 9点半`, `今天 下午3点`, `30分钟后`, `2小时后`, `3天后`.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// A time that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{0}` as a time")]
pub struct BadTime(pub String);

/// Splits `<time> <text>` into the instant meant (relative to `now`, in `tz`) and the text.
pub fn parse_when(input: &str, now: DateTime<Utc>, tz: Tz) -> Result<(DateTime<Utc>, String), BadTime> {
    let input = input.trim();
    let bad = || BadTime(input.chars().take(40).collect());
    let words: Vec<&str> = input.split_whitespace().collect();
    // Try the longest leading run of words that reads as a time: "2026-12-01 09:00", "周五 18:00".
    for take in (1..=words.len().min(3)).rev() {
        let head = words[..take].join(" ");
        if let Some(at) = read_time(&head, now, tz) {
            let text = words[take..].join(" ");
            return Ok((at, text));
        }
    }
    Err(bad())
}

fn read_time(s: &str, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let local_now = now.with_timezone(&tz);
    let today = local_now.date_naive();
    if let Some(rel) = relative(s) {
        return Some(now + rel);
    }
    // Absolute date and time.
    for fmt in ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return to_utc(dt, tz);
        }
    }
    let compact: String = s.split_whitespace().collect();
    let (day, time) = split_day(&compact, today)?;
    let time = clock_time(time)?;
    to_utc(day.and_time(time), tz)
}

fn relative(s: &str) -> Option<Duration> {
    let s = s.trim();
    let rest = s.strip_suffix("后").or_else(|| s.strip_suffix("以后"))?;
    let (num, unit): (String, String) = rest.chars().partition(|c| c.is_ascii_digit());
    let n: i64 = num.parse().ok()?;
    match unit.as_str() {
        "分钟" | "分" => Some(Duration::minutes(n)),
        "小时" | "个小时" | "钟头" => Some(Duration::hours(n)),
        "天" => Some(Duration::days(n)),
        _ => None,
    }
}

fn weekday(c: char) -> Option<Weekday> {
    Some(match c {
        '一' | '1' => Weekday::Mon,
        '二' | '2' => Weekday::Tue,
        '三' | '3' => Weekday::Wed,
        '四' | '4' => Weekday::Thu,
        '五' | '5' => Weekday::Fri,
        '六' | '6' => Weekday::Sat,
        '日' | '天' | '7' => Weekday::Sun,
        _ => return None,
    })
}

/// The day part (`明天`, `周五`, `下周一`, `12-01`, none = today) and what follows it.
fn split_day(s: &str, today: NaiveDate) -> Option<(NaiveDate, &str)> {
    for (word, days) in [("今天", 0), ("明天", 1), ("后天", 2)] {
        if let Some(rest) = s.strip_prefix(word) {
            return Some((today.checked_add_days(Days::new(days))?, rest));
        }
    }
    let (next_week, rest) = match s.strip_prefix("下周").or_else(|| s.strip_prefix("下星期")) {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let after_prefix = rest.strip_prefix("周").or_else(|| rest.strip_prefix("星期")).or_else(|| rest.strip_prefix("礼拜"));
    if let Some(rest) = after_prefix.or(if next_week { Some(rest) } else { None }) {
        let mut chars = rest.chars();
        let day = weekday(chars.next()?)?;
        let this_monday = today.checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))?;
        let date = if next_week {
            this_monday.checked_add_days(Days::new(7 + u64::from(day.num_days_from_monday())))?
        } else {
            let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
            today.checked_add_days(Days::new(u64::from(ahead)))?
        };
        return Some((date, chars.as_str()));
    }
    // `12-01 09:00` or `12月1日 9点`
    if let Some((md, rest)) = month_day(s) {
        let year = if md >= today { today.year() } else { today.year() + 1 };
        let date = NaiveDate::from_ymd_opt(year, md.month(), md.day())?;
        return Some((date, rest));
    }
    Some((today, s))
}

fn month_day(s: &str) -> Option<(NaiveDate, &str)> {
    let digits_end = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let m_end = digits_end(s);
    if m_end == 0 {
        return None;
    }
    let month: u32 = s[..m_end].parse().ok()?;
    let rest = s[m_end..].strip_prefix('-').or_else(|| s[m_end..].strip_prefix('月'))?;
    let d_end = digits_end(rest);
    let day: u32 = rest[..d_end].parse().ok()?;
    let rest = &rest[d_end..];
    let rest = rest.strip_prefix('日').or_else(|| rest.strip_prefix('号')).unwrap_or(rest);
    Some((NaiveDate::from_ymd_opt(2000, month, day)?.with_year(Utc::now().year())?, rest))
}

/// `9:00`, `09:30`, `9点`, `9点半`, `9点15分`, `下午3点`, `晚上8:00`.
fn clock_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let (pm, s) = match ["下午", "晚上", "傍晚"].iter().find_map(|p| s.strip_prefix(p)) {
        Some(rest) => (true, rest),
        None => (false, ["上午", "早上", "中午"].iter().find_map(|p| s.strip_prefix(p)).unwrap_or(s)),
    };
    let (h, m) = if let Some((h, m)) = s.split_once([':', '：']) {
        (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)
    } else {
        let (h, rest) = s.split_once('点').or_else(|| s.split_once('时'))?;
        let m = match rest {
            "" => 0,
            "半" => 30,
            r => r.trim_end_matches('分').parse().ok()?,
        };
        (h.parse().ok()?, m)
    };
    let h = if pm && h < 12 { h + 12 } else { h };
    NaiveTime::from_hms_opt(h, m, 0)
}

fn to_utc(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: &str, input: &str) -> Result<(String, String), BadTime> {
        let tz = chrono_tz::Asia::Shanghai;
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339(now).unwrap().with_timezone(&Utc);
        parse_when(input, now, tz).map(|(t, text)| (t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(), text))
    }

    #[test]
    fn the_forms_secretaries_write() {
        // Wednesday 2026-11-25, 10:00 Beijing time.
        let now = "2026-11-25T10:00:00+08:00";
        let ok = |input: &str, when: &str, text: &str| assert_eq!(at(now, input), Ok((when.into(), text.into())), "{input}");
        ok("明天 9:00 交思想汇报", "2026-11-26 09:00", "交思想汇报");
        ok("2026-12-01 09:00 支部大会", "2026-12-01 09:00", "支部大会");
        ok("周五 18:00 主题党日", "2026-11-27 18:00", "主题党日");
        ok("星期三 9点 例会", "2026-11-25 09:00", "例会");
        ok("下周一 9点半 党课", "2026-11-30 09:30", "党课");
        ok("今天 下午3点 开会", "2026-11-25 15:00", "开会");
        ok("12月1日 8:00 交党费", "2026-12-01 08:00", "交党费");
        ok("30分钟后 提醒", "2026-11-25 10:30", "提醒");
        ok("2小时后 提醒", "2026-11-25 12:00", "提醒");
        ok("明天9:00 无空格", "2026-11-26 09:00", "无空格");
    }

    #[test]
    fn nonsense_is_refused() {
        let now = "2026-11-25T10:00:00+08:00";
        for bad in ["", "下个月", "明天 25:00 x", "周八 9:00 x", "过几天 开会"] {
            assert!(at(now, bad).is_err(), "{bad}");
        }
    }
}
