//! The simulated gate with fast timings, for the tests that run the daemon in
//! process (tests/gate.rs, tests/edges.rs).
#![allow(dead_code)] // each test crate uses its own part

use std::time::Duration;

use livegate::config::{CameraConfig, Config, GpioConfig, TriggerConfig};

pub const GATE_PULSE: Duration = Duration::from_millis(300);
pub const FAIL_PULSE: Duration = Duration::from_millis(200);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fast timings: a person reacts in 150 ms and is done well within the 10 s an
/// action may take, however busy the machine (tests that need an action to time
/// out set a shorter one).
pub fn fast_config() -> Config {
    let mut cfg = Config::default();
    cfg.api.request_timeout = ms(10_000);
    cfg.api.connect_timeout = ms(5_000);
    cfg.api.retries = 0;
    cfg.session.action_timeout = ms(10_000);
    cfg.session.frame_interval = ms(100);
    cfg.session.first_frame_after = ms(100);
    cfg.session.max_restarts = 1;
    cfg.session.session_timeout = Duration::from_secs(60);
    cfg.session.cooldown = ms(20);
    cfg.session.verdict_screen = ms(20);
    // The face detector (the scene's twin here) looks often: a question is
    // answered within a few hundred milliseconds.
    cfg.presence.look_every = ms(100);
    cfg.presence.consecutive = 2;
    cfg.presence.empty_to_leave = 2;
    // The scene's held-up photo is a face of 44 pixels in 320: big enough here,
    // so that the spoof reaches the service, which denies it (at the default 0.15
    // the detector holds its frames back: "Move closer").
    cfg.presence.min_face = 0.125;
    if let CameraConfig::Sim(c) = &mut cfg.camera {
        c.reaction = ms(150);
        c.fps = 20;
        c.width = 320;
        c.height = 240;
    }
    let GpioConfig::Sim(g) = &mut cfg.gpio else {
        panic!("the default kinds are sim")
    };
    g.gate_pulse = GATE_PULSE;
    g.fail_pulse = FAIL_PULSE;
    let TriggerConfig::Sim(t) = &mut cfg.trigger else {
        panic!("the default kinds are sim")
    };
    t.arrival = ms(10);
    cfg
}
