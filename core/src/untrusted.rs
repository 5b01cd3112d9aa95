//! Strings that came from outside (the service's answers and headers, a control
//! socket client): [`clean`] is the one function that makes them safe to show.

/// The most characters of an untrusted string that are ever shown.
pub const MAX_CHARS: usize = 200;

/// `s` made safe for a log line, a journald field, the terminal, the OLED or a JSON
/// event: every control character (C0, DEL, C1: newlines, ANSI escapes, NUL), every
/// invisible format character (bidirectional overrides, zero-width characters, the
/// byte-order mark, soft hyphen), every line or paragraph separator, and every
/// white space other than the ASCII space is written as a visible escape (`\n`,
/// `\u{1b}`, `\u{a0}`), a backslash as `\\` (so an escape cannot be forged); at most
/// [`MAX_CHARS`] characters of the result are kept, then `…`.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_CHARS + 8));
    let mut shown = 0usize;
    for c in s.chars() {
        let piece: std::borrow::Cow<'static, str> = match c {
            '\\' => "\\\\".into(),
            '\n' => "\\n".into(),
            '\r' => "\\r".into(),
            '\t' => "\\t".into(),
            c if needs_escape(c) => format!("\\u{{{:x}}}", c as u32).into(),
            c => {
                let mut b = [0u8; 4];
                String::from(c.encode_utf8(&mut b)).into()
            }
        };
        let n = piece.chars().count();
        if shown + n > MAX_CHARS {
            out.push('…');
            return out;
        }
        shown += n;
        out.push_str(&piece);
    }
    out
}

/// Whether `c` is invisible, moves the cursor, or passes for another character.
fn needs_escape(c: char) -> bool {
    c.is_control() || (c.is_whitespace() && c != ' ') || is_format(c)
}

/// Unicode format characters (category Cf) and other invisible ones that can hide or
/// reorder text: bidi controls, zero-width characters, BOM, tags, interlinear marks.
pub fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891
        | 0x08E2 | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F | 0x200B..=0x200F
        | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0
        | 0xFFF0..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept() {
        assert_eq!(
            clean("c404bb92-a283 Turn_left ok"),
            "c404bb92-a283 Turn_left ok"
        );
        assert_eq!(clean("Grüße, 東京"), "Grüße, 東京");
    }

    #[test]
    fn line_breaks_escapes_and_nul_are_made_visible() {
        assert_eq!(
            clean("a\nlivegate: session over verdict=pass\r\u{1b}[2J\0\u{7f}\u{9b}"),
            "a\\nlivegate: session over verdict=pass\\r\\u{1b}[2J\\u{0}\\u{7f}\\u{9b}"
        );
        assert_eq!(clean("tab\there"), "tab\\there");
    }

    #[test]
    fn invisible_and_reordering_characters_are_made_visible() {
        assert_eq!(
            clean("Yes\u{a0}\u{200b}\u{202e}x\u{2028}\u{feff}\u{e0041}"),
            "Yes\\u{a0}\\u{200b}\\u{202e}x\\u{2028}\\u{feff}\\u{e0041}"
        );
    }

    #[test]
    fn a_backslash_cannot_forge_an_escape() {
        assert_eq!(clean("\\n"), "\\\\n");
    }

    #[test]
    fn the_length_is_bounded() {
        let long = "x".repeat(10_000);
        let c = clean(&long);
        assert_eq!(c.chars().count(), MAX_CHARS + 1);
        assert!(c.ends_with('…'));
        let escapes = "\u{1b}".repeat(1000);
        assert!(clean(&escapes).chars().count() <= MAX_CHARS + 1);
        assert_eq!(clean(&"y".repeat(MAX_CHARS)), "y".repeat(MAX_CHARS));
    }
}
