//! Words for messages: durations and numbers as the file writes them, lists of
//! choices, suggestions for misspelt words, hints for a value written the wrong
//! way, and how a value looks to a person.

use std::time::Duration;

use toml::de::DeValue;

use super::decl::{HOUR, MINUTE, SEC};
use super::keys::TABLES;
use crate::gpio::header;

/// Highest BCM GPIO number on the 40-pin header.
pub(super) const MAX_BCM: i64 = header::MAX_BCM as i64;

/// A duration the way the file writes it: `200ms`, `10s`, `3min`, `24h`.
pub(super) fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        humantime::format_duration(d).to_string()
    } else if ms == 0 {
        "0s".to_owned()
    } else if ms % u128::from(HOUR) == 0 {
        format!("{}h", ms / u128::from(HOUR))
    } else if ms % u128::from(MINUTE) == 0 && ms > u128::from(MINUTE) {
        format!("{}min", ms / u128::from(MINUTE))
    } else if ms % u128::from(SEC) == 0 {
        format!("{}s", ms / u128::from(SEC))
    } else {
        format!("{ms}ms")
    }
}

/// A number as the file would write it: `60`, or `0x3C` when `hex`.
pub(super) fn number(n: i64, hex: bool) -> String {
    if hex {
        format!("0x{n:02X}")
    } else {
        n.to_string()
    }
}

/// A number in octal, as the file would write it: `0o660`.
pub(super) fn number_octal(n: i64) -> String {
    format!("0o{n:o}")
}

/// Advice for a whole number written in quotes: `"3"`.
pub(super) fn decimal_hint(s: &str) -> Option<String> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(format!("write it without quotes: {n}"));
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    i64::from_str_radix(hex, 16)
        .ok()
        .map(|_| format!("write it without quotes: 0x{hex}"))
}

/// Advice for a pin written in quotes: `"17"`, `"GPIO17"`, `"BCM 17"`.
pub(super) fn pin_hint(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let digits = ["gpio", "bcm"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower)
        .trim();
    digits
        .parse::<u8>()
        .ok()
        .map(|n| format!("write the BCM number without quotes: {n}"))
}

/// Advice for a permission mode written in quotes: `"0660"`, `"660"`, `"0o660"`.
pub(super) fn mode_hint(s: &str) -> Option<String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let digits = digits.trim_start_matches('0');
    i64::from_str_radix(digits, 8)
        .ok()
        .map(|_| format!("write it without quotes, as an octal number: 0o{digits}"))
}

/// The BCM GPIO number on a pin of the 40-pin header, for the header pins above BCM 27.
pub(super) fn header_to_bcm(pin: i64) -> Option<i64> {
    let pin = u8::try_from(pin).ok().filter(|&p| i64::from(p) > MAX_BCM)?;
    header::bcm_at(pin).map(i64::from)
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
pub(super) fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `[api], [session], …`
pub(super) fn table_list() -> String {
    TABLES
        .iter()
        .map(|t| format!("[{t}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate to a misspelt word, when it is close enough to be a likely typo.
pub(super) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for c in candidates {
        let lc = c.to_lowercase();
        let score = strsim::normalized_damerau_levenshtein(&w, &lc);
        let len = w.chars().count();
        let edits = strsim::damerau_levenshtein(&w, &lc);
        let close = score >= 0.7 || (len >= 3 && edits <= 1) || (len >= 5 && edits <= 2);
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// How a value looks to a person: `text "3"`, `the number 3`, `a list`.
pub(super) fn describe(v: &DeValue<'_>, raw: &str) -> String {
    match v {
        DeValue::String(s) => format!("text {:?}", s.as_ref()),
        DeValue::Integer(_) | DeValue::Float(_) => format!("the number {raw}"),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(_) => "a date".to_owned(),
        DeValue::Array(_) => "a list".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// All action names in a compact form, for "what is valid".
pub(super) fn all_actions() -> String {
    let gestures: Vec<&str> = crate::actions::ALL
        .iter()
        .filter_map(|a| a.strip_suffix("_left_hand"))
        .collect();
    format!(
        "{}, Left_hand, Right_hand, or <gesture>_left_hand / <gesture>_right_hand \
         where <gesture> is one of {}",
        crate::actions::FACE.join(", "),
        gestures.join(", ")
    )
}
