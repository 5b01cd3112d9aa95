//! In-line mode end to end in simulation: a card shown to the simulated card
//! reader starts the check, and the same card leaves on the simulated twin of the
//! Wiegand output (read back with the core's decoder, as a panel would) only after
//! a pass. Real time against the stand-in, as in `tests/gate.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use livegate::config::{Config, Performer};
use livegate::daemon::{GateEvent, Observer};
use livegate::simulate::{Endpoint, SimError, SimOutcome, Simulation};
use livegate::standin::StandinOptions;
use livegate::trigger::Cast;
use livegate_core::wiegand::{Card, Format};

mod common;
use common::fast::fast_config;

/// `cfg` simulated against the stand-in, every visitor playing `performer` (and
/// showing `card`, when set).
async fn simulation(
    cfg: Config,
    performer: Performer,
    card: Option<Card>,
) -> Result<Simulation, SimError> {
    Simulation::in_line(
        cfg,
        Endpoint::Standin(StandinOptions::default()),
        Cast::All(performer),
        None,
        card,
    )
    .await
}

async fn in_line(
    cfg: Config,
    performer: Performer,
    card: Card,
    sessions: u64,
) -> (SimOutcome, Vec<GateEvent>) {
    let sim = simulation(cfg, performer, Some(card))
        .await
        .expect("simulation starts");
    let events: Arc<Mutex<Vec<GateEvent>>> = Arc::default();
    let sink = events.clone();
    let obs: Observer = Arc::new(move |e: &GateEvent| sink.lock().unwrap().push(e.clone()));
    let (_, outcome) = tokio::time::timeout(
        Duration::from_secs(120),
        sim.run(Some(sessions), Some(obs), None),
    )
    .await
    .expect("the run ends")
    .expect("the run succeeds");
    let events = events.lock().unwrap().clone();
    (outcome, events)
}

fn cards_out(events: &[GateEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            GateEvent::CardOut { card, bits, .. } => Some(format!("{card}/{bits}")),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_sends_the_same_card_on_after_the_verdict() {
    let card = Card::new(Format::W26, 0, 12345).unwrap();
    let (out, events) = in_line(fast_config(), Performer::Pass, card, 1).await;
    assert_eq!(out.cards_out.len(), 1, "{events:#?}");
    assert_eq!(out.cards_out[0].card, Ok(card));
    assert_eq!(cards_out(&events), ["0:12345/26"]);
    // The card in, shown only as show_card says (last 4 digits by default).
    let started = events
        .iter()
        .find_map(|e| match e {
            GateEvent::SessionStarted { card, .. } => Some(card.clone()),
            _ => None,
        })
        .expect("a session started");
    assert_eq!(started.as_deref(), Some("…2345"));
    // The card leaves after the pass, never before.
    let verdict = events
        .iter()
        .position(|e| {
            matches!(
                e,
                GateEvent::Verdict {
                    verdict: "pass",
                    ..
                }
            )
        })
        .expect("a pass");
    let sent = events
        .iter()
        .position(|e| matches!(e, GateEvent::CardOut { .. }))
        .expect("the card left");
    assert!(verdict < sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoof_sends_nothing() {
    let card = Card::new(Format::W26, 7, 4242).unwrap();
    let (out, events) = in_line(fast_config(), Performer::Spoof, card, 1).await;
    assert!(events.iter().any(|e| matches!(
        e,
        GateEvent::Verdict {
            verdict: "deny",
            ..
        }
    )));
    assert!(out.cards_out.is_empty(), "{:?}", out.cards_out);
    assert!(cards_out(&events).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_sends_only_the_configured_deny_card() {
    let mut cfg = fast_config();
    cfg.reader.deny_card = Some("1:1".into());
    cfg.reader.format = "34".into();
    let card = Card::new(Format::W34, 300, 60000).unwrap();
    let (out, events) = in_line(cfg, Performer::Fail, card, 1).await;
    assert_eq!(cards_out(&events), ["1:1/34"]);
    assert_eq!(out.cards_out.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_reader_sends_its_fixed_card_on_a_pass() {
    let mut cfg = fast_config();
    cfg.reader.output = "wiegand".into();
    cfg.reader.on_pass = "fixed".into();
    cfg.reader.fixed_card = Some("18:500".into());
    cfg.reader.show_card = "full".into();
    let card = Card::new(Format::W26, 0, 1).unwrap();
    let (_, events) = in_line(cfg, Performer::Pass, card, 1).await;
    assert_eq!(cards_out(&events), ["18:500/26"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_card_is_shown_as_its_mark_and_an_open_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("livegate-reader-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("card-hash-key");
    std::fs::write(&key, b"a site's random bytes").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cfg = fast_config();
    cfg.reader.show_card = "hash".into();
    cfg.reader.show_card_key_file = Some(key.clone());
    let card = Card::new(Format::W26, 5, 31337).unwrap();
    let (_, events) = in_line(cfg.clone(), Performer::Pass, card, 1).await;
    let shown = events
        .iter()
        .find_map(|e| match e {
            GateEvent::SessionStarted { card, .. } => card.clone(),
            _ => None,
        })
        .expect("the card is shown");
    assert!(shown.starts_with('#') && shown.len() == 17, "{shown}");
    assert!(!shown.contains("31337"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = simulation(cfg, Performer::Pass, Some(card)).await;
    let sim = refused.expect("the devices are built; the key is read when the run starts");
    let err = sim.run(Some(1), None, None).await.err().expect("refused");
    assert!(
        err.to_string().contains("can be read by other users"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The panel's text (OSDP's text command, as the reader hands it on) shows on the
/// idle screen: here it arrives while a session runs, so it waits for the verdict
/// screen to end, then takes the idle screen's place, drawn by the same renderer
/// as every screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panels_text_takes_the_idle_screen_after_the_verdict() {
    use livegate::display::screens::render;
    use livegate::display::Screen;
    use livegate::reader::osdp::PanelCommand;
    use livegate::reader::ReaderOptions;

    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let sim = simulation(fast_config(), Performer::Pass, None)
        .await
        .expect("simulation starts")
        .with_reader(ReaderOptions {
            commands: Some(rx),
            ..Default::default()
        });
    // Cleaned where it enters (reader/osdp.rs); an escape stays visible.
    let text = livegate::untrusted::clean("GATE 2\u{1b}[2J");
    let sent = text.clone();
    let obs: Observer = Arc::new(move |e: &GateEvent| {
        if matches!(e, GateEvent::SessionStarted { .. }) {
            let _ = tx.try_send(PanelCommand::Text {
                reader: 0,
                temporary: false,
                wrap: false,
                hold: Duration::ZERO,
                row: 1,
                column: 1,
                text: sent.clone(),
            });
        }
    });
    let (_, out) =
        tokio::time::timeout(Duration::from_secs(120), sim.run(Some(1), Some(obs), None))
            .await
            .expect("the run ends")
            .expect("the run succeeds");
    let want = Screen::PanelText {
        text: "GATE 2\\u{1b}[2J".into(),
    };
    assert_eq!(want, Screen::PanelText { text });
    let screens = out.display.screens();
    let pass = screens
        .iter()
        .position(|s| *s == Screen::Pass)
        .expect("the pass shown");
    let first_text = screens
        .iter()
        .position(|s| *s == want)
        .unwrap_or_else(|| panic!("the panel's text never shown: {screens:?}"));
    assert!(pass < first_text, "the text over the session: {screens:?}");
    let (last, fb) = out.display.latest().expect("a screen shown");
    assert_eq!(last, want, "{screens:?}");
    assert_eq!(fb, render(&want, 128, 64), "drawn as the renderer draws it");
}
