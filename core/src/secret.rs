//! Secrets that never print: the API key, and the OSDP secure-channel base key.

use std::fmt;

/// The AIGEN API key. `Debug` and `Display` print `***`; the only way to the bytes is
/// [`ApiKey::expose`], used in exactly one place: the request header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key read from a file or credential; surrounding white space is dropped.
    pub fn new(raw: impl AsRef<str>) -> Self {
        ApiKey(raw.as_ref().trim().to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `text` holds the key's value anywhere, as is or percent-encoded (the
    /// key is recognised by its value, whatever parameter, path or name carries it).
    pub fn is_in(&self, text: &str) -> bool {
        !self.0.is_empty() && (text.contains(&self.0) || percent_decode(text).contains(&self.0))
    }

    /// `text` with the key's value written as `***`. A text that holds the key only
    /// percent-encoded is replaced whole by `***`.
    pub fn mask(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_owned();
        }
        let masked = text.replace(&self.0, "***");
        if percent_decode(&masked).contains(&self.0) {
            return "***".to_owned();
        }
        masked
    }
}

/// A URL as it may be shown: any userinfo (`user:password@`) as `***@`, and the key's
/// value, when known, as `***` wherever it is. Every URL livegate prints goes through
/// here.
pub fn show_url(url: &str, key: Option<&ApiKey>) -> String {
    let shown = match url.find("://") {
        Some(i) => {
            let (scheme, rest) = url.split_at(i + 3);
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            match authority.rfind('@') {
                Some(at) => format!("{scheme}***{}{tail}", &authority[at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    };
    match key {
        Some(k) => k.mask(&shown),
        None => shown,
    }
}

/// `%XX` sequences decoded; anything undecodable kept as is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The OSDP secure-channel base key (SCBK) shared with the site's panel: 16 bytes.
/// `Debug` prints `ScbkKey(***)` and there is no `Display`; the only way to the bytes
/// is [`ScbkKey::expose`], used where the key is handed to the OSDP library. The
/// bytes are overwritten when the key is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct ScbkKey([u8; 16]);

/// Why a text is not an OSDP key. Never holds the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScbkKeyError {
    /// Not 32 hex digits once white space is dropped (the count found).
    Length(usize),
    /// A character that is not a hex digit.
    NotHex,
}

impl fmt::Display for ScbkKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScbkKeyError::Length(n) => write!(
                f,
                "an OSDP key is 32 hex digits (16 bytes), this one has {n} characters"
            ),
            ScbkKeyError::NotHex => f.write_str("an OSDP key is hex digits only (0-9, a-f)"),
        }
    }
}

impl std::error::Error for ScbkKeyError {}

impl ScbkKey {
    pub fn new(bytes: [u8; 16]) -> Self {
        ScbkKey(bytes)
    }

    /// Parses the key as panels print it: 32 hex digits, either case; white space
    /// anywhere (a trailing newline, groups of digits) is dropped.
    pub fn parse_hex(text: &str) -> Result<Self, ScbkKeyError> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() != 32 {
            return Err(ScbkKeyError::Length(digits.len()));
        }
        let mut out = [0u8; 16];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or(ScbkKeyError::NotHex)?;
            let lo = (pair[1] as char).to_digit(16).ok_or(ScbkKeyError::NotHex)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(ScbkKey(out))
    }

    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl Drop for ScbkKey {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference to a byte.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl fmt::Debug for ScbkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScbkKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_never_prints() {
        let k = ApiKey::new(" s3cret-key\n");
        assert_eq!(k.expose(), "s3cret-key");
        assert!(!format!("{k:?} {k} {k:#?}").contains("s3cret"));
    }

    #[test]
    fn the_key_is_found_by_value_anywhere_in_a_url() {
        let k = ApiKey::new("Zk9/q+3=");
        for url in [
            "https://h.example/v1?k=Zk9/q+3=",
            "https://h.example/Zk9/q+3=/v1",
            "https://Zk9/q+3=@h.example/v1",
            "https://h.example/v1?x=Zk9%2Fq%2B3%3D",
            "https://h.example/v1#Zk9/q+3=",
        ] {
            assert!(k.is_in(url), "{url}");
            let shown = show_url(url, Some(&k));
            assert!(!k.is_in(&shown), "{url} shown as {shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert!(!k.is_in("https://h.example/v1?mode=3"));
        assert_eq!(
            show_url("https://h.example/v1?k=Zk9/q+3=", Some(&k)),
            "https://h.example/v1?k=***"
        );
    }

    #[test]
    fn userinfo_is_never_shown() {
        assert_eq!(
            show_url("https://user:pw@h.example/v1?a=b@c", None),
            "https://***@h.example/v1?a=b@c"
        );
        assert_eq!(
            show_url("https://h.example/v1", None),
            "https://h.example/v1"
        );
        assert_eq!(show_url("no scheme", None), "no scheme");
    }

    #[test]
    fn scbk_key_parses_hex_and_never_prints() {
        let k = ScbkKey::parse_hex(" 944b8eddcbaa2b5f E2B0148D1B2F95C9\n").unwrap();
        assert_eq!(
            k.expose(),
            &[
                0x94, 0x4b, 0x8e, 0xdd, 0xcb, 0xaa, 0x2b, 0x5f, 0xe2, 0xb0, 0x14, 0x8d, 0x1b, 0x2f,
                0x95, 0xc9
            ]
        );
        let shown = format!("{k:?} {k:#?}");
        assert!(!shown.to_lowercase().contains("944b"), "{shown}");
        assert_eq!(format!("{k:?}"), "ScbkKey(***)");
        assert_eq!(ScbkKey::parse_hex("00"), Err(ScbkKeyError::Length(2)));
        assert_eq!(
            ScbkKey::parse_hex("zz4b8eddcbaa2b5fe2b0148d1b2f95c9"),
            Err(ScbkKeyError::NotHex)
        );
        let e = ScbkKey::parse_hex("944b8eddcbaa2b5fe2b0148d1b2f95c").unwrap_err();
        assert!(!e.to_string().contains("944b"), "{e}");
    }
}
