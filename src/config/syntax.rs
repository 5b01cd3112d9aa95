//! TOML syntax: every syntax error of the file found (one per line, echoes of an
//! open list or a broken table kept quiet), its position kept, and worded for a
//! person (`readable_syntax`); the key a broken line belongs to (`context_label`).

use std::collections::BTreeSet;

use toml::de::DeTable;

use super::checker::Checker;
use super::decl::Span;

/// The table named by a `[table]` or `[[table]]` line.
pub(super) fn header_name(line: &str) -> Option<String> {
    let t = line.trim_start().strip_prefix('[')?;
    let t = t.strip_prefix('[').unwrap_or(t);
    let end = t.find([']', '#']).unwrap_or(t.len());
    Some(t[..end].trim().replace(['"', '\''], ""))
}

/// The bare key a `key = value` line starts with.
pub(super) fn line_key(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    let before = t.split('=').next().unwrap_or("");
    let k = before.split_whitespace().next()?;
    k.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .then(|| k.to_owned())
}

/// A parser message in plain words, with what would be valid.
pub(super) fn readable_syntax(desc: &str, expected: Option<&str>, raw: &str) -> String {
    let raw = raw.trim();
    match desc {
        "invalid basic string"
        | "invalid multi-line basic string"
        | "invalid literal string"
        | "invalid multi-line literal string"
            if expected.is_some_and(|e| e.contains('"') || e.contains('\'')) =>
        {
            "the text has no closing quote; valid: text between two double quotes on one line, \
             such as \"face\""
                .to_owned()
        }
        "key with no value" => {
            "missing \"=\" after the key; valid: key = value, such as mode = 3".to_owned()
        }
        "string values must be quoted" | "missing value" | "missing value for key"
            if raw.is_empty() =>
        {
            "the value is missing after \"=\"; valid: key = value, such as mode = 3".to_owned()
        }
        "string values must be quoted" => format!(
            "{raw} is not a number, true/false or text in quotes; valid: text in double \
             quotes, such as \"{raw}\""
        ),
        "invalid boolean" => format!(
            "{raw} is not valid; valid: true or false (in lower case), or text in double \
             quotes, such as \"{raw}\""
        ),
        "unclosed table" => "missing \"]\" after the table name; valid: a table name in \
                             brackets, such as [session]"
            .to_owned(),
        "unclosed array" => "the list has no closing \"]\"; valid: a list in brackets, such as \
                             [\"Turn_left\", \"Smile\"]"
            .to_owned(),
        "missing comma between array elements" => "missing \",\" between two list items; \
                                                   valid: items separated by commas, such as \
                                                   [\"Turn_left\", \"Smile\"]"
            .to_owned(),
        "extra comma in array" => {
            "two commas in a row; valid: one comma between list items".to_owned()
        }
        "unexpected key or value" => "unexpected text after the value; valid: one key = value \
                                      per line, comments after #"
            .to_owned(),
        "extra `=`" => "one \"=\" too many; valid: key = value, such as mode = 3".to_owned(),
        "unquoted keys cannot be empty" => {
            "the key name is missing; valid: key = value, such as mode = 3".to_owned()
        }
        "unexpected leading zero" => "a number cannot start with 0; valid: a whole number \
                                      without leading zeros, such as 8"
            .to_owned(),
        "missing escaped value" => "unknown escape after a backslash in quoted text; valid: \
                                    \\\\ for one backslash"
            .to_owned(),
        _ => {
            let desc = desc.replace('`', "\"");
            match expected {
                Some(e) => format!("{desc}; valid: {}", e.replace('`', "\"")),
                None => desc,
            }
        }
    }
}

/// A permission mode written with a leading zero (`mode = 0660`, as for chmod): TOML
/// wants `0o660`.
pub(super) fn octal_message(line: &str) -> String {
    let value = line.split_once('=').map_or("", |(_, v)| v);
    let value = value.split('#').next().unwrap_or("").trim();
    let digits = value.trim_start_matches('0');
    let example = if !digits.is_empty() && digits.chars().all(|c| ('0'..='7').contains(&c)) {
        format!("0o{digits}")
    } else {
        "0o660".to_owned()
    };
    format!(
        "{value} starts with 0; valid: an octal number written with 0o in front, such as \
         {example}"
    )
}

/// `[` minus `]` on a line, outside quoted text and comments.
pub(super) fn open_brackets(line: &str) -> i64 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => break,
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

/// A syntax error: where, and the parser's message.
#[derive(Debug)]
pub(super) struct SyntaxError {
    pub(super) span: Span,
    pub(super) message: String,
}

impl Checker<'_> {
    // -- syntax ------------------------------------------------------------

    /// Every syntax error of the file, sorted, and the text with their lines blanked.
    ///
    /// After an error the parser's recovery may skip the rest of the file (a key without
    /// `=`) or report errors that are only echoes of the first (an unclosed list). So
    /// only the first error is taken, its line blanked (byte for byte, keeping every
    /// offset), and the text parsed again, until it parses cleanly.
    pub(super) fn syntax_errors(&self) -> (String, Vec<SyntaxError>) {
        const MAX_ROUNDS: usize = 200;
        let mut clean = self.text.to_owned();
        let mut errors: Vec<SyntaxError> = Vec::new();
        let mut blank: BTreeSet<usize> = BTreeSet::new();
        for _ in 0..MAX_ROUNDS {
            let (_, found) = DeTable::parse_recoverable(&clean);
            let Some(first) = found
                .into_iter()
                .min_by_key(|e| e.span().map_or(0, |s| s.start))
            else {
                break;
            };
            let mut err = SyntaxError {
                span: first.span().unwrap_or(0..0),
                message: first.message().to_owned(),
            };
            let mut line = self.pos(err.span.start).0;
            let unclosed = err.message.starts_with("unclosed array");
            if let Some(start) = self.list_start(line, unclosed) {
                // The error is only an echo of a list left open on an earlier line.
                let end = self.line_starts[start - 1] + self.line_text(start).trim_end().len();
                err = SyntaxError {
                    span: end..end,
                    message: "unclosed array, expected `]`".to_owned(),
                };
                // Its items run up to the next `key = value` or `[table]` line.
                let items_end = (start + 1..=self.line_starts.len())
                    .find(|&l| self.is_statement(l))
                    .unwrap_or(self.line_starts.len() + 1);
                blank.extend(start + 1..items_end);
                line = start;
            }
            if !blank.insert(line) {
                break;
            }
            errors.push(err);
            clean = self
                .text
                .split_inclusive('\n')
                .enumerate()
                .map(|(i, l)| {
                    if blank.contains(&(i + 1)) {
                        let body = l.trim_end_matches(['\n', '\r']).len();
                        format!("{}{}", " ".repeat(body), &l[body..])
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
        }
        errors.sort_by_key(|e| e.span.start);
        (clean, errors)
    }

    /// True for a `key = value` or `[table]` line.
    pub(super) fn is_statement(&self, line: usize) -> bool {
        let this = self.line_text(line);
        header_name(this).is_some() || (line_key(this).is_some() && this.contains('='))
    }

    /// The line where a list without its `]` starts, when the error on `line` comes
    /// from it: `line` is a `key = value` or `[table]` line the open list swallowed, or
    /// (`unclosed`) the parser's own "unclosed array" error, which it places at the
    /// list's last item or at the end of the file.
    pub(super) fn list_start(&self, line: usize, unclosed: bool) -> Option<usize> {
        let last = match (unclosed, self.is_statement(line)) {
            (true, _) => line,
            (false, true) => line - 1,
            (false, false) => return None,
        };
        let mut depth = 0i64;
        for k in (1..=last).rev() {
            let l = self.line_text(k);
            if header_name(l).is_some() {
                return None;
            }
            if line_key(l).is_some() {
                if let Some((_, value)) = l.split_once('=') {
                    depth += open_brackets(value);
                    return (depth > 0).then_some(k);
                }
            }
            depth += open_brackets(l);
        }
        None
    }

    /// After a broken `[table]` line, its keys would land in the table above: keep
    /// quiet about everything up to the next table line.
    pub(super) fn quiet_broken_tables(&mut self) {
        let lines: Vec<&str> = self.text.lines().collect();
        let broken: Vec<usize> = self
            .syntax_lines
            .iter()
            .copied()
            .filter(|&l| lines.get(l - 1).is_some_and(|t| header_name(t).is_some()))
            .collect();
        for start in broken {
            let end = (start..lines.len())
                .find(|&i| header_name(lines[i]).is_some())
                .unwrap_or(lines.len());
            self.syntax_lines.extend(start..=end);
        }
    }

    /// Reports one parser error (the first one of its line only).
    pub(super) fn syntax(&mut self, e: &SyntaxError) {
        let span = e.span.clone();
        let (line, _) = self.pos(span.start);
        if !self.syntax_lines.insert(line) {
            return;
        }
        let (desc, expected) = match e.message.split_once(", expected ") {
            Some((d, x)) => (d, Some(x)),
            None => (e.message.as_str(), None),
        };
        let label = self.context_label(line);
        let message = if desc == "duplicate key" {
            self.duplicate_message(line)
        } else if desc == "unexpected leading zero" && label == "trigger.mode" {
            octal_message(self.line_text(line))
        } else {
            readable_syntax(desc, expected, self.raw(&span))
        };
        self.report(&span, &label, message);
    }

    /// The table a line belongs to, from the last `[table]` line above it.
    pub(super) fn table_above(&self, line: usize) -> Option<String> {
        self.text
            .lines()
            .take(line.saturating_sub(1))
            .filter_map(header_name)
            .last()
    }

    /// A best guess of the dotted key on a line, for syntax errors.
    pub(super) fn context_label(&self, line: usize) -> String {
        let this = self.line_text(line);
        // Inside a list written over several lines, the key is on a line above.
        let key = line_key(this).or_else(|| {
            let above: Vec<&str> = self.text.lines().take(line.saturating_sub(1)).collect();
            above
                .iter()
                .rev()
                .take_while(|l| header_name(l).is_none())
                .find(|l| l.contains('='))
                .and_then(|l| line_key(l))
        });
        let name = match header_name(this) {
            Some(h) => Some(h),
            None => match (self.table_above(line), key) {
                (Some(t), Some(k)) => Some(format!("{t}.{k}")),
                (None, Some(k)) => Some(k),
                (t, None) => t,
            },
        };
        name.filter(|n| !n.is_empty())
            .unwrap_or_else(|| "syntax".to_owned())
    }

    /// "already set on line N" for a key or table given twice.
    pub(super) fn duplicate_message(&self, line: usize) -> String {
        let this = self.line_text(line);
        if let Some(h) = header_name(this) {
            let first = self
                .text
                .lines()
                .take(line - 1)
                .position(|l| header_name(l).as_deref() == Some(h.as_str()));
            return match first {
                Some(i) => format!(
                    "the table [{h}] already started on line {}; valid: each table once \
                     (move these keys below the first [{h}])",
                    i + 1
                ),
                None => format!("the table [{h}] is given twice; valid: each table once"),
            };
        }
        let table = self.table_above(line);
        let key = line_key(this);
        let mut current: Option<String> = None;
        let mut first = None;
        for (i, l) in self.text.lines().take(line - 1).enumerate() {
            if let Some(h) = header_name(l) {
                current = Some(h);
            } else if key.is_some() && line_key(l) == key && current == table {
                first = Some(i + 1);
                break;
            }
        }
        match first {
            Some(n) => format!(
                "this key is already set on line {n}; valid: each key once per table \
                 (delete one of the two lines)"
            ),
            None => "this key is set twice; valid: each key once per table".to_owned(),
        }
    }
}
