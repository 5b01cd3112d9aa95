//! Reader outputs and inputs for access-control panels: Wiegand on two lines
//! ([`wiegand`]), OSDP as a reader on a serial port ([`osdp`]), and how a card number may be shown ([`CardShown`]): a card number
//! is personal data, so the journal and the audit line carry only what the site
//! chose.

pub mod osdp;
pub mod wiegand;

use livegate_core::wiegand::Card;

/// Where a card goes to the panel: the Wiegand sender thread, the OSDP reader, or
/// a simulated twin. A send only queues: it never blocks the daemon's loop.
pub trait CardOutput: Send + Sync {
    /// `"wiegand"` or `"osdp"`, for logs.
    fn kind(&self) -> &'static str;
    /// Queues `card` for the panel.
    fn send(&self, card: &Card) -> Result<(), String>;
}

impl CardOutput for wiegand::Sender {
    fn kind(&self) -> &'static str {
        "wiegand"
    }
    fn send(&self, card: &Card) -> Result<(), String> {
        wiegand::Sender::send(self, card.encode()).map_err(|e| e.to_string())
    }
}

impl CardOutput for osdp::Osdp {
    fn kind(&self) -> &'static str {
        "osdp"
    }
    fn send(&self, card: &Card) -> Result<(), String> {
        self.card_read(card).map_err(|e| e.to_string())
    }
}

/// What a pass sends to the panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnPass {
    /// The card that started the session (in-line mode); nothing when the
    /// session started without one.
    Card,
    /// This card, whatever started the session (a standalone liveness reader).
    Fixed(Card),
}

/// The output to an access-control panel and what it sends.
pub struct PanelOutput {
    pub out: Box<dyn CardOutput>,
    pub on_pass: OnPass,
    /// Sent on a deny, for a panel that logs failures; `None`: a deny sends nothing.
    pub on_deny: Option<Card>,
}

impl PanelOutput {
    /// The card a session's verdict sends, if any: on a pass the session's card (in
    /// line) or the fixed one, on a deny only the configured deny card.
    pub fn card_for(&self, pass: bool, session_card: Option<Card>) -> Option<Card> {
        match (pass, self.on_pass) {
            (true, OnPass::Card) => session_card,
            (true, OnPass::Fixed(c)) => Some(c),
            (false, _) => self.on_deny,
        }
    }
}

/// The daemon's card settings: the panel output (if any), how cards are shown, and
/// the panel's commands to the reader (OSDP: text for the idle screen, LED, buzzer).
#[derive(Default)]
pub struct ReaderOptions {
    pub panel: Option<PanelOutput>,
    pub shown: CardShown,
    pub commands: Option<tokio::sync::mpsc::Receiver<osdp::PanelCommand>>,
}

/// How much of a card number logs and audit lines show.
#[derive(Clone, Default)]
pub enum CardShown {
    /// Facility code and number in full (`18:12345`).
    Full,
    /// The last four digits of the number (`…2345`).
    #[default]
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

    /// The rule a configuration word names (`"full"`, `"last4"`, `"hash"` with the
    /// key's bytes); `None` for `"hash"` without a key or an unknown word.
    pub fn from_word(word: &str, key: Option<&[u8]>) -> Option<CardShown> {
        match (word, key) {
            ("full", _) => Some(CardShown::Full),
            ("last4", _) => Some(CardShown::Last4),
            ("hash", Some(k)) => Some(CardShown::hashed(k)),
            _ => None,
        }
    }

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

    struct Nowhere;
    impl CardOutput for Nowhere {
        fn kind(&self) -> &'static str {
            "none"
        }
        fn send(&self, _: &Card) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_deny_sends_only_the_deny_card_and_a_pass_the_right_one() {
        let card = Card::new(Format::W26, 1, 100).unwrap();
        let fixed = Card::new(Format::W26, 2, 200).unwrap();
        let deny = Card::new(Format::W26, 3, 300).unwrap();
        let mut p = PanelOutput {
            out: Box::new(Nowhere),
            on_pass: OnPass::Card,
            on_deny: None,
        };
        assert_eq!(p.card_for(true, Some(card)), Some(card));
        assert_eq!(p.card_for(true, None), None, "no card to pass on");
        assert_eq!(
            p.card_for(false, Some(card)),
            None,
            "no card leaves on a deny"
        );
        p.on_deny = Some(deny);
        assert_eq!(p.card_for(false, Some(card)), Some(deny));
        p.on_pass = OnPass::Fixed(fixed);
        assert_eq!(p.card_for(true, Some(card)), Some(fixed));
        assert_eq!(p.card_for(true, None), Some(fixed));
        assert_eq!(p.out.kind(), "none");
        assert!(CardShown::from_word("hash", None).is_none());
        assert!(matches!(
            CardShown::from_word("full", None),
            Some(CardShown::Full)
        ));
        assert!(matches!(CardShown::default(), CardShown::Last4));
    }

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
