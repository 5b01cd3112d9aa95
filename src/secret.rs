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
}
