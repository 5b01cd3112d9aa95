//! A livegate built without the `sim` feature (`cargo test --no-default-features
//! --test no_sim`): the simulated devices are not in it, and the configuration check
//! says so at the place of each `kind = "sim"`. With the default features this file
//! holds no test.
#![cfg(not(feature = "sim"))]

use livegate::config::{Config, ConfigError};

fn problems(text: &str) -> Vec<String> {
    match Config::parse(text, "livegate.toml") {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid(ps)) => ps.iter().map(|p| p.to_string()).collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// Every device table of a Pi's configuration, with one of them overridden.
const HARDWARE: &str = "[camera]\nkind = \"v4l2\"\n\n[display]\nkind = \"ssd1306\"\n\n\
[gpio]\nkind = \"rppal\"\n\n[trigger]\nkind = \"socket\"\n";

#[test]
fn a_sim_kind_needs_the_sim_feature() {
    let text = HARDWARE.replace("[camera]\nkind = \"v4l2\"", "[camera]\nkind = \"sim\"");
    assert_eq!(
        problems(&text),
        vec![
            "livegate.toml:2:8: camera.kind: \"sim\" needs livegate built with the sim feature \
             (the default); valid: \"v4l2\" or \"replay\""
        ]
    );
}

#[test]
fn every_sim_kind_is_named_where_it_is_written() {
    let text = "[camera]\nkind = \"sim\"\n[display]\nkind = \"sim\"\n[gpio]\nkind = \"sim\"\n\
                [trigger]\nkind = \"sim\"\n";
    assert_eq!(
        problems(text),
        vec![
            "livegate.toml:2:8: camera.kind: \"sim\" needs livegate built with the sim feature \
             (the default); valid: \"v4l2\" or \"replay\"",
            "livegate.toml:4:8: display.kind: \"sim\" needs livegate built with the sim feature \
             (the default); valid: \"ssd1306\"",
            "livegate.toml:6:8: gpio.kind: \"sim\" needs livegate built with the sim feature \
             (the default); valid: \"rppal\" or \"cdev\"",
            "livegate.toml:8:8: trigger.kind: \"sim\" needs livegate built with the sim feature \
             (the default); valid: \"gpio\", \"socket\", \"wiegand\" or \"camera\"",
        ]
    );
}

#[test]
fn a_missing_kind_defaults_to_sim_and_is_refused_too() {
    let text = HARDWARE.replace("[trigger]\nkind = \"socket\"\n", "");
    assert_eq!(
        problems(&text),
        vec![
            "livegate.toml:1:1: trigger.kind: not set, and its default \"sim\" needs livegate \
             built with the sim feature (the default); valid: \"gpio\", \"socket\", \"wiegand\" or \"camera\""
        ]
    );
}

#[test]
fn a_hardware_configuration_is_accepted() {
    assert_eq!(problems(HARDWARE), Vec::<String>::new());
}

#[test]
fn other_messages_do_not_offer_the_sim_kind() {
    let text = HARDWARE.replace("kind = \"socket\"", "kind = \"gpio\"");
    let ps = problems(&text);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert!(
        ps[0].ends_with("or another trigger kind: \"socket\""),
        "{}",
        ps[0]
    );
}

#[test]
fn an_unknown_kind_does_not_offer_sim() {
    let text = HARDWARE.replace("kind = \"v4l2\"", "kind = \"usb\"");
    assert_eq!(
        problems(&text),
        vec!["livegate.toml:2:8: camera.kind: \"usb\" is not valid; valid: \"v4l2\" or \"replay\""]
    );
}
