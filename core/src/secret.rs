//! The API key: a secret that never prints.

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
}
