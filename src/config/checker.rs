//! The checker: walks the parsed file against the declarations (`keys.rs`) and
//! collects every problem at its `FILE:LINE:COL`: unknown tables and keys (with
//! suggestions), a device table's `kind` and the keys of that kind, and each value
//! against its key's rule.

use std::collections::BTreeSet;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::decl::{Device, Fields, Rule, Span, Spec, Val};
use super::keys::{keys_of_table, SIM_KIND, TABLES};
use super::words::*;
use super::{ConfigError, Problem, DEFAULT_BASE_URL};
use crate::gpio::line::{LineSpec, LineSpecError, MAX_OFFSET};

/// Permission bits the control socket may have: owner read/write, at most read/write for
/// its group, nothing for others.
const MODE_MIN: i64 = 0o600;
const MODE_MAX: i64 = 0o660;

/// What the rules between keys need to know of a checked device table.
#[derive(Debug, Default)]
pub(super) struct DeviceKeys {
    /// The table's checked keys (of the chosen kind).
    pub(super) fields: Fields,
    /// The position of the `kind` value, when the file sets it.
    pub(super) kind: Option<Span>,
    /// False when `kind` names no known kind (the first kind's defaults were used).
    pub(super) kind_ok: bool,
}

pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) file: &'a str,
    /// Byte offset of the start of each line.
    pub(super) line_starts: Vec<usize>,
    pub(super) problems: Vec<Problem>,
    /// Lines (1-based) holding a syntax error: their keys are not checked again.
    pub(super) syntax_lines: BTreeSet<usize>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(text: &'a str, file: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Checker {
            text,
            file,
            line_starts,
            problems: Vec::new(),
            syntax_lines: BTreeSet::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(super) fn pos(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }

    /// The source text of a span.
    pub(super) fn raw(&self, span: &Span) -> &'a str {
        self.text.get(span.clone()).unwrap_or("")
    }

    pub(super) fn line_text(&self, line: usize) -> &'a str {
        self.text.lines().nth(line.saturating_sub(1)).unwrap_or("")
    }

    pub(super) fn report(&mut self, span: &Span, key: &str, message: String) {
        let (line, column) = self.pos(span.start);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            key: key.to_owned(),
            message,
        });
    }

    /// True when a syntax error sits on any line from `start` to `end`.
    pub(super) fn touches_syntax(&self, start: usize, end: usize) -> bool {
        let (a, _) = self.pos(start.min(end));
        let (b, _) = self.pos(start.max(end));
        self.syntax_lines.range(a..=b).next().is_some()
    }

    pub(super) fn finish(mut self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.problems.sort_by_key(|p| (p.line, p.column));
        Err(ConfigError::Invalid(self.problems))
    }
}

impl Checker<'_> {
    // -- tables ------------------------------------------------------------

    /// Checks the top level: known tables are returned, anything else is reported.
    pub(super) fn top_level<'t, 'i>(
        &mut self,
        root: &'t DeTable<'i>,
    ) -> Vec<(&'static str, &'t DeTable<'i>)> {
        let mut tables = Vec::new();
        for (k, v) in root.iter() {
            let name: &str = k.get_ref().as_ref();
            let (ks, vs) = (k.span(), v.span());
            if self.touches_syntax(ks.start, ks.end) {
                continue;
            }
            if let Some(t) = TABLES.iter().find(|t| **t == name) {
                match v.get_ref() {
                    DeValue::Table(tab) => tables.push((*t, tab)),
                    DeValue::Array(_) => self.report(
                        &ks,
                        name,
                        format!(
                            "written as [[{name}]]; valid: the line [{name}] with its keys \
                             below it"
                        ),
                    ),
                    other => {
                        let found = describe(other, self.raw(&vs));
                        self.report(
                            &vs,
                            name,
                            format!(
                                "expected a table, found {found}; valid: the line [{name}] \
                                 with its keys below it"
                            ),
                        );
                    }
                }
            } else if matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                let hint = suggest(name, TABLES)
                    .map(|s| format!(" did you mean [{s}]?"))
                    .unwrap_or_default();
                self.report(
                    &ks,
                    name,
                    format!("unknown table;{hint} valid tables: {}", table_list()),
                );
            } else {
                let homes: Vec<String> = TABLES
                    .iter()
                    .filter(|t| keys_of_table(t).contains(&name))
                    .map(|t| format!("[{t}]"))
                    .collect();
                let message = match homes.as_slice() {
                    [] => format!(
                        "unknown key outside any table; valid: keys below a table line; \
                         valid tables: {}",
                        table_list()
                    ),
                    [one] => format!("key outside any table; valid: put it below the {one} line"),
                    [rest @ .., last] => format!(
                        "key outside any table; valid: put it below the line of its table, \
                         {} or {last}",
                        rest.join(", ")
                    ),
                };
                self.report(&ks, name, message);
            }
        }
        tables
    }

    /// Checks a table with a fixed set of keys.
    pub(super) fn check_table(
        &mut self,
        table: &'static str,
        t: Option<&DeTable<'_>>,
        keys: &[Spec],
    ) -> Fields {
        let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
        let list = names.join(", ");
        self.check_keys(table, t, keys, &|name: &str| {
            let hint = suggest(name, names.iter().copied())
                .map(|s| format!(" did you mean \"{s}\"?"))
                .unwrap_or_default();
            Some(format!(
                "unknown key;{hint} valid keys in [{table}]: {list}"
            ))
        })
    }

    /// Checks a device table: its `kind` first, then the keys of that kind.
    pub(super) fn check_device<T>(
        &mut self,
        dev: &Device<T>,
        t: Option<&DeTable<'_>>,
    ) -> (T, DeviceKeys) {
        let table = dev.table;
        let kind_names: Vec<&str> = dev.kinds.iter().map(|k| k.name).collect();
        let kind_entry = t.and_then(|t| t.iter().find(|(k, _)| k.get_ref().as_ref() == "kind"));
        let chosen = match kind_entry {
            None => Some(0),
            Some((k, v)) => {
                let (ks, vs) = (k.span(), v.span());
                let sim_written =
                    matches!(v.get_ref(), DeValue::String(s) if s.as_ref() == SIM_KIND);
                if self.touches_syntax(ks.start, vs.end) {
                    None
                } else if sim_written && !cfg!(feature = "sim") {
                    // Reported below, with what this build offers instead.
                    kind_names.iter().position(|n| *n == SIM_KIND)
                } else {
                    // Without the `sim` feature, `sim` is not offered as valid.
                    let offered: Vec<&str> = kind_names
                        .iter()
                        .copied()
                        .filter(|n| cfg!(feature = "sim") || *n != SIM_KIND)
                        .collect();
                    self.check_choice(&format!("{table}.kind"), v, &offered)
                        .and_then(|i| kind_names.iter().position(|n| *n == offered[i]))
                }
            }
        };
        let Some(index) = chosen else {
            // Unknown kind: check the values of keys some kind knows, and say nothing
            // about other keys (they may belong to the kind that was meant).
            let mut all: Vec<Spec> = Vec::new();
            for k in dev.kinds.iter().flat_map(|k| k.keys) {
                if !all.iter().any(|a| a.name == k.name) {
                    all.push(*k);
                }
            }
            self.check_keys(table, t, &all, &|_: &str| None);
            return (
                (dev.kinds[0].build)(&Fields::default()),
                DeviceKeys::default(),
            );
        };
        let kind = &dev.kinds[index];
        if kind.name == SIM_KIND && !cfg!(feature = "sim") {
            self.sim_not_built(dev, kind_entry.map(|(_, v)| v.span()));
        }
        let names: Vec<&str> = std::iter::once("kind")
            .chain(kind.keys.iter().map(|k| k.name))
            .collect();
        let list = names.join(", ");
        let unknown = |name: &str| {
            if name == "kind" {
                return None;
            }
            let valid = format!(
                "valid keys in [{table}] with kind = \"{}\": {list}",
                kind.name
            );
            let owners: Vec<&str> = dev
                .kinds
                .iter()
                .filter(|k| k.keys.iter().any(|key| key.name == name))
                .map(|k| k.name)
                .collect();
            if !owners.is_empty() {
                let kinds: Vec<String> = owners.iter().map(|o| format!("kind = \"{o}\"")).collect();
                return Some(format!("applies only to {}; {valid}", kinds.join(" or ")));
            }
            let hint = suggest(name, names.iter().copied())
                .map(|s| format!(" did you mean \"{s}\"?"))
                .unwrap_or_default();
            Some(format!("unknown key;{hint} {valid}"))
        };
        let fields = self.check_keys(table, t, kind.keys, &unknown);
        let value = (kind.build)(&fields);
        let keys = DeviceKeys {
            fields,
            kind: kind_entry.map(|(_, v)| v.span()),
            kind_ok: true,
        };
        (value, keys)
    }

    /// A `sim` kind (written at `at`, or the default when `at` is `None`) in a livegate
    /// built without the `sim` feature: the simulated devices are not in this binary.
    pub(super) fn sim_not_built<T>(&mut self, dev: &Device<T>, at: Option<Span>) {
        let others: Vec<&str> = dev
            .kinds
            .iter()
            .map(|k| k.name)
            .filter(|n| *n != SIM_KIND)
            .collect();
        let valid = one_of(&others);
        let (span, what) = match at {
            Some(span) => (span, "\"sim\"".to_owned()),
            // No `kind` written: the default, reported at the top of the file.
            None => (0..0, "not set, and its default \"sim\"".to_owned()),
        };
        self.report(
            &span,
            &format!("{}.kind", dev.table),
            format!(
                "{what} needs livegate built with the sim feature (the default); valid: {valid}"
            ),
        );
    }

    /// Checks every entry of a table against `keys`; `unknown` words the problem for a
    /// key that is not among them (`None`: say nothing).
    pub(super) fn check_keys(
        &mut self,
        table: &str,
        t: Option<&DeTable<'_>>,
        keys: &[Spec],
        unknown: &dyn Fn(&str) -> Option<String>,
    ) -> Fields {
        let mut fields = Fields::default();
        let Some(t) = t else {
            return fields;
        };
        for (k, v) in t.iter() {
            let name: &str = k.get_ref().as_ref();
            let (ks, vs) = (k.span(), v.span());
            let dotted = format!("{table}.{name}");
            let spec = keys.iter().find(|s| s.name == name);
            if self.touches_syntax(ks.start, vs.end) {
                if let Some(spec) = spec {
                    fields.failed.insert(spec.name);
                }
                continue;
            }
            match spec {
                Some(spec) => match self.check_value(&dotted, spec.rule, v) {
                    Some(val) => {
                        fields.got.insert(spec.name, (val, vs));
                    }
                    None => {
                        fields.failed.insert(spec.name);
                    }
                },
                None => {
                    if let Some(message) = unknown(name) {
                        self.report(&ks, &dotted, message);
                    }
                }
            }
        }
        fields
    }

    // -- values ------------------------------------------------------------

    /// "expected X, found Y; valid: Z (hint)"
    pub(super) fn wrong_type(
        &mut self,
        dotted: &str,
        v: &Spanned<DeValue<'_>>,
        expected: &str,
        valid: &str,
        hint: Option<String>,
    ) {
        let span = v.span();
        let found = describe(v.get_ref(), self.raw(&span));
        let hint = hint.map(|h| format!(" ({h})")).unwrap_or_default();
        self.report(
            &span,
            dotted,
            format!("expected {expected}, found {found}; valid: {valid}{hint}"),
        );
    }

    /// Checks one value against its rule; reports and returns `None` when it fails.
    pub(super) fn check_value(
        &mut self,
        dotted: &str,
        rule: Rule,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<Val> {
        let span = v.span();
        let raw = self.raw(&span);
        match rule {
            Rule::Int { min, max } => {
                let valid = format!("a whole number from {min} to {max}");
                let n = self.whole(dotted, v, &valid, decimal_hint)?;
                if (min..=max).contains(&n) {
                    Some(Val::Int(n))
                } else {
                    self.report(
                        &span,
                        dotted,
                        format!("{raw} is out of range; valid: {valid}"),
                    );
                    None
                }
            }
            Rule::Fraction { min, max } => {
                let valid = format!("a number from {min} to {max}");
                let n = match v.get_ref() {
                    DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|n| n.is_finite()),
                    DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                        .ok()
                        .map(|n| n as f64),
                    DeValue::String(_) => {
                        self.wrong_type(dotted, v, "a number without quotes", &valid, None);
                        return None;
                    }
                    _ => {
                        self.wrong_type(dotted, v, "a number", &valid, None);
                        return None;
                    }
                };
                match n {
                    Some(n) if (min..=max).contains(&n) => Some(Val::Num(n)),
                    _ => {
                        self.report(
                            &span,
                            dotted,
                            format!("{raw} is out of range; valid: {valid}"),
                        );
                        None
                    }
                }
            }
            Rule::Dur { min, max } => {
                let valid = format!("a duration from {} to {}", show(min), show(max));
                let how = "write a duration such as \"10s\" or \"500ms\"";
                match v.get_ref() {
                    DeValue::String(s) => match humantime::parse_duration(s.trim()) {
                        Ok(d) if (min..=max).contains(&d) => Some(Val::Dur(d)),
                        Ok(_) => {
                            self.report(
                                &span,
                                dotted,
                                format!("{s:?} is out of range; valid: {valid}"),
                            );
                            None
                        }
                        Err(_) => {
                            let what = if s.trim().parse::<f64>().is_ok() {
                                "has no unit"
                            } else {
                                "is not a duration"
                            };
                            self.report(
                                &span,
                                dotted,
                                format!("{s:?} {what}; {how}; valid: {valid}"),
                            );
                            None
                        }
                    },
                    DeValue::Integer(_) | DeValue::Float(_) => {
                        self.report(
                            &span,
                            dotted,
                            format!("{raw} is a bare number; {how}; valid: {valid}"),
                        );
                        None
                    }
                    _ => {
                        self.wrong_type(dotted, v, "a duration in quotes", &valid, None);
                        None
                    }
                }
            }
            Rule::Bool => match v.get_ref() {
                DeValue::Boolean(b) => Some(Val::Bool(*b)),
                DeValue::String(s) => {
                    let t = s.trim().to_ascii_lowercase();
                    let hint = (t == "true" || t == "false")
                        .then(|| format!("write it without quotes: {t}"));
                    self.wrong_type(dotted, v, "true or false", "true or false", hint);
                    None
                }
                _ => {
                    self.wrong_type(dotted, v, "true or false", "true or false", None);
                    None
                }
            },
            Rule::Choice(words) => self
                .check_choice(dotted, v, words)
                .map(|i| Val::Text(words[i].to_owned())),
            Rule::Url => {
                let valid = format!("an https:// address, such as \"{DEFAULT_BASE_URL}\"");
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "an address in quotes", &valid, None);
                    return None;
                };
                let lower = s.to_ascii_lowercase();
                if s.contains('@') || lower.contains("aigen_key") || lower.contains("key=") {
                    // Never echoed: it may hold the key itself.
                    self.report(
                        &span,
                        dotted,
                        "the address carries a key or a password (shown here as ***); \
                         valid: the address alone: the key goes in the key file \
                         (api.key_file or /etc/livegate/aigen-key), never in the address"
                            .to_owned(),
                    );
                    return None;
                }
                let wrong = match reqwest::Url::parse(s) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                        return Some(Val::Text(s.to_string()));
                    }
                    Ok(_) => "is not an http(s) address".to_owned(),
                    Err(e) => format!("is not a web address ({e})"),
                };
                self.report(&span, dotted, format!("{s:?} {wrong}; valid: {valid}"));
                None
            }
            Rule::Path { absolute } => {
                let valid = if absolute {
                    "an absolute path, starting with \"/\""
                } else {
                    "a path in quotes"
                };
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a path in quotes", valid, None);
                    return None;
                };
                if s.is_empty() {
                    self.report(&span, dotted, format!("the path is empty; valid: {valid}"));
                    None
                } else if absolute && !Path::new(s.as_ref()).is_absolute() {
                    self.report(
                        &span,
                        dotted,
                        format!("{s:?} is a relative path; valid: {valid}"),
                    );
                    None
                } else {
                    Some(Val::Text(s.to_string()))
                }
            }
            Rule::Actions => self.check_actions(dotted, v),
            Rule::Ints { values, hex } => {
                let shown: Vec<String> = values.iter().map(|&n| number(n, hex)).collect();
                let words: Vec<&str> = shown.iter().map(String::as_str).collect();
                let valid = one_of(&words).replace('"', "");
                let n = self.whole(dotted, v, &valid, decimal_hint)?;
                if values.contains(&n) {
                    return Some(Val::Int(n));
                }
                let found = if hex && !raw.starts_with("0x") {
                    format!("{raw} ({})", number(n, true))
                } else {
                    raw.to_owned()
                };
                // Some boards print the 8-bit form of the address (shifted left by one).
                let hint = match values.iter().find(|&&a| hex && a << 1 == n) {
                    Some(&a) => format!(
                        " ({} is the 8-bit form of {} that some boards print; write {})",
                        number(n, true),
                        number(a, true),
                        number(a, true)
                    ),
                    None => String::new(),
                };
                self.report(
                    &span,
                    dotted,
                    format!("{found} is not valid; valid: {valid}{hint}"),
                );
                None
            }
            Rule::Pin => {
                let valid = format!(
                    "a BCM GPIO number from 0 to {MAX_BCM} (not the header pin number: header \
                     pin 11 is BCM 17)"
                );
                let n = self.whole(dotted, v, &valid, pin_hint)?;
                if (0..=MAX_BCM).contains(&n) {
                    return Some(Val::Int(n));
                }
                let valid = match header_to_bcm(n) {
                    Some(bcm) => format!(
                        "a BCM GPIO number from 0 to {MAX_BCM} (not the header pin number: \
                         header pin 11 is BCM 17, header pin {n} is BCM {bcm})"
                    ),
                    None => valid,
                };
                self.report(
                    &span,
                    dotted,
                    format!("{raw} is out of range; valid: {valid}"),
                );
                None
            }
            Rule::Line => {
                let valid = format!(
                    "a line offset from 0 to {MAX_OFFSET} on the chip, or a line name in quotes \
                     (such as \"GPIO17\"; `gpioinfo` lists them)"
                );
                let problem = match v.get_ref() {
                    DeValue::Integer(_) => {
                        let n = self.whole(dotted, v, &valid, decimal_hint)?;
                        // Negative: out of range too (the message shows what was written).
                        u64::try_from(n).map_or(Err(LineSpecError::OutOfRange(0)), LineSpec::offset)
                    }
                    DeValue::String(s) => LineSpec::parse(s),
                    _ => {
                        self.wrong_type(dotted, v, "a number or a name in quotes", &valid, None);
                        return None;
                    }
                };
                match problem {
                    Ok(LineSpec::Offset(o)) => return Some(Val::Int(i64::from(o))),
                    Ok(LineSpec::Name(n)) => return Some(Val::Text(n)),
                    Err(LineSpecError::Empty) => self.report(
                        &span,
                        dotted,
                        format!("the line name is empty; valid: {valid}"),
                    ),
                    Err(LineSpecError::OutOfRange(_)) => self.report(
                        &span,
                        dotted,
                        format!("{raw} is out of range; valid: {valid}"),
                    ),
                }
                None
            }
            Rule::Mode => {
                let valid = format!(
                    "an octal number from {} to {} with no permission for other users (last \
                     digit 0), such as 0o660",
                    number_octal(MODE_MIN),
                    number_octal(MODE_MAX)
                );
                let n = self.whole(dotted, v, &valid, mode_hint)?;
                if (MODE_MIN..=MODE_MAX).contains(&n) && n & 0o007 == 0 {
                    return Some(Val::Int(n));
                }
                let octal = raw.starts_with("0o");
                let found = if octal || n < 0 {
                    raw.to_owned()
                } else {
                    format!("{raw} ({} in octal)", number_octal(n))
                };
                let why = if n & 0o007 != 0 && (0..=0o777).contains(&n) {
                    "lets every user on the machine use the socket"
                } else {
                    "is out of range"
                };
                // 660 written in decimal: the digits were meant as octal.
                let hint = match i64::from_str_radix(raw, 8) {
                    Ok(m) if !octal && (MODE_MIN..=MODE_MAX).contains(&m) && m & 0o007 == 0 => {
                        format!(" (write it as an octal number: 0o{raw})")
                    }
                    _ => String::new(),
                };
                self.report(
                    &span,
                    dotted,
                    format!("{found} {why}; valid: {valid}{hint}"),
                );
                None
            }
            Rule::Device => {
                let valid = "a device path starting with /dev/, such as \"/dev/video0\" or \
                             \"/dev/v4l/by-id/usb-…-video-index0\"";
                let DeValue::String(s) = v.get_ref() else {
                    let hint = match v.get_ref() {
                        DeValue::Integer(_) => Some(format!("write it as \"/dev/video{raw}\"")),
                        _ => None,
                    };
                    self.wrong_type(dotted, v, "a path in quotes", valid, hint);
                    return None;
                };
                let s: &str = s.as_ref();
                let problem = if s.is_empty() {
                    "the path is empty".to_owned()
                } else if !s.starts_with('/') {
                    let hint = if s.starts_with("dev/") {
                        format!(" (did you mean \"/{s}\"?)")
                    } else if !s.contains('/') {
                        format!(" (did you mean \"/dev/{s}\"?)")
                    } else {
                        String::new()
                    };
                    format!("{s:?} is a relative path{hint}")
                } else if !s.starts_with("/dev/") {
                    format!("{s:?} is not under /dev/")
                } else {
                    return Some(Val::Text(s.to_owned()));
                };
                self.report(&span, dotted, format!("{problem}; valid: {valid}"));
                None
            }
            Rule::Group => {
                let valid = "the name of a group in quotes, such as \"livegate\" (letters, \
                             digits, \"_\", \"-\" or \".\", at most 32 characters)";
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a group name in quotes", valid, None);
                    return None;
                };
                let s: &str = s.as_ref();
                let ok = !s.is_empty()
                    && s.len() <= 32
                    && !s.starts_with('-')
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if ok {
                    return Some(Val::Text(s.to_owned()));
                }
                self.report(
                    &span,
                    dotted,
                    format!("{s:?} is not a group name; valid: {valid}"),
                );
                None
            }
            Rule::Card => {
                let valid = "a card number in quotes: \"NUMBER\" or \"FACILITY:NUMBER\", \
                             such as \"18:12345\"";
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a card number in quotes", valid, None);
                    return None;
                };
                let s: &str = s.as_ref();
                // The widest format here; the configured one is checked between keys.
                match livegate_core::wiegand::Card::parse(livegate_core::wiegand::Format::W34, s) {
                    Ok(_) => Some(Val::Text(s.trim().to_owned())),
                    Err(e) => {
                        self.report(&span, dotted, format!("{e}; valid: {valid}"));
                        None
                    }
                }
            }
            Rule::PromFile => {
                let valid = "an absolute path ending in .prom, in the folder node_exporter's \
                             textfile collector reads, such as \
                             \"/var/lib/prometheus/node-exporter/livegate.prom\"";
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a path in quotes", valid, None);
                    return None;
                };
                let s: &str = s.as_ref();
                let problem = if s.is_empty() {
                    "the path is empty".to_owned()
                } else if !Path::new(s).is_absolute() {
                    format!("{s:?} is a relative path")
                } else if !s.ends_with(".prom") {
                    format!(
                        "{s:?} does not end in .prom (node_exporter's textfile collector reads \
                         only *.prom files)"
                    )
                } else {
                    return Some(Val::Text(s.to_owned()));
                };
                self.report(&span, dotted, format!("{problem}; valid: {valid}"));
                None
            }
        }
    }

    /// The whole number a value holds; reports a value of another type, or one too
    /// large to hold. `hint` words advice for a number written as text.
    pub(super) fn whole(
        &mut self,
        dotted: &str,
        v: &Spanned<DeValue<'_>>,
        valid: &str,
        hint: fn(&str) -> Option<String>,
    ) -> Option<i64> {
        let span = v.span();
        let raw = self.raw(&span);
        match v.get_ref() {
            DeValue::Integer(i) => {
                let n = i64::from_str_radix(i.as_str(), i.radix()).ok();
                if n.is_none() {
                    self.report(
                        &span,
                        dotted,
                        format!("{raw} is out of range; valid: {valid}"),
                    );
                }
                n
            }
            DeValue::Float(_) => {
                self.report(
                    &span,
                    dotted,
                    format!("{raw} is not a whole number; valid: {valid}"),
                );
                None
            }
            DeValue::String(s) => {
                let hint = hint(s.trim());
                self.wrong_type(dotted, v, "a whole number", valid, hint);
                None
            }
            _ => {
                self.wrong_type(dotted, v, "a whole number", valid, None);
                None
            }
        }
    }

    /// Checks a value against a list of words; returns the index of the match.
    pub(super) fn check_choice(
        &mut self,
        dotted: &str,
        v: &Spanned<DeValue<'_>>,
        words: &[&str],
    ) -> Option<usize> {
        let valid = one_of(words);
        let DeValue::String(s) = v.get_ref() else {
            self.wrong_type(dotted, v, "a word in quotes", &valid, None);
            return None;
        };
        if let Some(i) = words.iter().position(|w| *w == s.as_ref()) {
            return Some(i);
        }
        let hint = suggest(s, words.iter().copied())
            .map(|w| format!(" (did you mean \"{w}\"?)"))
            .unwrap_or_default();
        self.report(
            &v.span(),
            dotted,
            format!("{s:?} is not valid; valid: {valid}{hint}"),
        );
        None
    }

    /// Checks `select`: a list of known, distinct actions, stored in canonical spelling.
    pub(super) fn check_actions(&mut self, dotted: &str, v: &Spanned<DeValue<'_>>) -> Option<Val> {
        let valid = "a list of action names, such as [\"Turn_left\", \"Turn_right\", \"Look_up\"]";
        let items = match v.get_ref() {
            DeValue::Array(items) => items,
            DeValue::String(s) => {
                let hint = Some(format!("write it in brackets: [{s:?}]"));
                self.wrong_type(dotted, v, "a list", valid, hint);
                return None;
            }
            _ => {
                self.wrong_type(dotted, v, "a list", valid, None);
                return None;
            }
        };
        let mut list: Vec<(String, Span)> = Vec::new();
        let mut bad = false;
        for item in items.iter() {
            let span = item.span();
            let DeValue::String(s) = item.get_ref() else {
                self.wrong_type(dotted, item, "an action name in quotes", valid, None);
                bad = true;
                continue;
            };
            match crate::actions::index_of(s) {
                Some(i) => {
                    let name = crate::actions::ALL[i];
                    if list.iter().any(|(a, _)| a == name) {
                        self.report(
                            &span,
                            dotted,
                            format!("{s:?} is listed twice; valid: each action once"),
                        );
                        bad = true;
                    } else {
                        list.push((name.to_owned(), span));
                    }
                }
                None => {
                    let message = match suggest(s, crate::actions::ALL) {
                        Some(a) => format!("{s:?} is not a known action; did you mean \"{a}\"?"),
                        None => format!("{s:?} is not a known action; valid: {}", all_actions()),
                    };
                    self.report(&span, dotted, message);
                    bad = true;
                }
            }
        }
        (!bad).then_some(Val::List(list))
    }
}
