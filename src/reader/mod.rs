//! Reader outputs and inputs for access-control panels: Wiegand on two lines
//! ([`wiegand`]), OSDP as a reader on a serial port ([`osdp`]), and how a card number may be shown ([`CardShown`]): a card number
//! is personal data, so the journal and the audit line carry only what the site
//! chose.

pub mod osdp;
pub mod wiegand;

use livegate_core::wiegand::Card;

/// How much of a card number logs and audit lines show.
#[derive(Clone)]
pub enum CardShown {
    /// Facility code and number in full (`18:12345`).
    Full,
    /// The last four digits of the number (`…2345`).
    Last4,
    /// A keyed hash (HMAC-SHA-256 with the site's key, first 16 hex digits): the same
    /// card gives the same mark on this site, and the number cannot be read back.
    Hashed(ring::hmac::Key),
}

impl std::fmt::Debug for CardShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CardShown::Full => "Full",
            CardShown::Last4 => "Last4",
            CardShown::Hashed(_) => "Hashed(***)",
        })
    }
}

impl CardShown {
    /// The configuration's words, in order.
    pub const NAMES: [&'static str; 3] = ["full", "last4", "hash"];

    /// A keyed-hash rule from the site's key bytes.
    pub fn hashed(key: &[u8]) -> CardShown {
        CardShown::Hashed(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key))
    }

    /// The card as this rule shows it.
    pub fn show(&self, card: &Card) -> String {
        match self {
            CardShown::Full => format!("{}:{}", card.facility(), card.number()),
            CardShown::Last4 => {
                let n = card.number().to_string();
                let tail = &n[n.len().saturating_sub(4)..];
                format!("…{tail}")
            }
            CardShown::Hashed(key) => {
                let msg = format!(
                    "{}:{}:{}",
                    card.format().bits(),
                    card.facility(),
                    card.number()
                );
                let tag = ring::hmac::sign(key, msg.as_bytes());
                let hex: String = tag.as_ref()[..8]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("#{hex}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livegate_core::wiegand::Format;

    #[test]
    fn each_rule_shows_only_what_it_says() {
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        assert_eq!(CardShown::Full.show(&card), "18:12345");
        assert_eq!(CardShown::Last4.show(&card), "…2345");
        let short = Card::new(Format::W26, 18, 7).unwrap();
        assert_eq!(CardShown::Last4.show(&short), "…7");
        let h = CardShown::hashed(b"site key one");
        let mark = h.show(&card);
        assert_eq!(mark.len(), 17);
        assert!(!mark.contains("12345"));
        assert_eq!(mark, h.show(&card), "the same card gives the same mark");
        assert_ne!(mark, h.show(&short));
        assert_ne!(
            mark,
            CardShown::hashed(b"site key two").show(&card),
            "the key matters"
        );
        assert_eq!(format!("{h:?}"), "Hashed(***)");
    }
}
