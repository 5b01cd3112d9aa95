//! Outputs: relays claimed at their inactive level, switched by name, returned to
//! it when dropped; the pulse that can never stick on ([`pulse`], [`Pulser`] and
//! their guards); the registry the panic hook drives inactive. Written once for
//! every backend: a backend only claims a line at a level ([`LineAddr`]) and writes
//! levels to it ([`OutputLine`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::line::{initial_level, level_for, Level, LineAddr};
use super::GpioError;

/// Shortest relay pulse.
pub const PULSE_MIN: Duration = Duration::from_millis(100);
/// Longest relay pulse.
pub const PULSE_MAX: Duration = Duration::from_secs(10);

/// Clamps a pulse length to [`PULSE_MIN`]..=[`PULSE_MAX`].
pub fn bounded_pulse(d: Duration) -> Duration {
    d.clamp(PULSE_MIN, PULSE_MAX)
}

/// One relay output: where it is wired and how it is driven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputOptions<A> {
    /// The line: [`Bcm`](super::line::Bcm) or [`ChipLine`](super::line::ChipLine).
    pub line: A,
    /// The relay is energised when the line is low (most opto-isolated boards).
    pub active_low: bool,
    /// Pulse length; clamped by [`bounded_pulse`] on use.
    pub pulse: Duration,
}

impl<A> OutputOptions<A> {
    /// The pulse length, clamped to the sane range.
    pub fn bounded_pulse(&self) -> Duration {
        bounded_pulse(self.pulse)
    }
}

/// The part of a claimed output line a relay drives.
pub trait OutputLine: Send + 'static {
    /// Drives the line to `level` (a physical level: active-low is mapped above).
    fn write(&mut self, level: Level) -> Result<(), String>;
}

/// A relay on a claimed line of any backend. Generic over the line so tests drive
/// a fake.
pub struct Output<L: OutputLine> {
    name: &'static str,
    /// Where the line is, for logs and errors ("BCM 17", "/dev/gpiochip0 line 17").
    label: String,
    active_low: bool,
    line: Mutex<L>,
}

impl<L: OutputLine> Output<L> {
    /// A relay on `line`, which the caller has already set to its inactive level.
    pub fn new(name: &'static str, label: String, active_low: bool, line: L) -> Self {
        Output {
            name,
            label,
            active_low,
            line: Mutex::new(line),
        }
    }

    /// Where the line is.
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Claims `opts`' line for output `name` ("gate" or "fail") at its inactive level,
/// in one step.
pub fn claim_output<A: LineAddr>(
    name: &'static str,
    opts: &OutputOptions<A>,
) -> Result<Output<A::Output>, GpioError> {
    let level = initial_level(opts.active_low);
    let (line, label) = opts.line.claim_output(name, level)?;
    tracing::info!(output = name, line = %label, active_low = opts.active_low, %level,
        "relay output claimed at its inactive level");
    Ok(Output::new(name, label, opts.active_low, line))
}

impl<L: OutputLine> Relay for Output<L> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn set(&self, active: bool) -> Result<(), GpioError> {
        let level = level_for(active, self.active_low);
        // A poisoned lock still holds a usable line: a relay must always be switchable.
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        line.write(level).map_err(|why| GpioError::Io {
            output: self.name,
            why: format!("{}: {why}", self.label),
        })?;
        tracing::debug!(output = self.name, line = %self.label, active, %level, "relay set");
        Ok(())
    }
}

impl<L: OutputLine> Drop for Output<L> {
    fn drop(&mut self) {
        let level = initial_level(self.active_low);
        let line = self.line.get_mut().unwrap_or_else(|p| p.into_inner());
        match line.write(level) {
            Ok(()) => {
                tracing::debug!(output = self.name, line = %self.label, %level, "relay released, driven inactive")
            }
            Err(e) => {
                tracing::error!(output = self.name, line = %self.label, error = %e, "cannot drive relay inactive before release")
            }
        }
    }
}

/// The gate and fail relays, in that order.
pub type Outputs = (Arc<dyn Relay>, Arc<dyn Relay>);

/// Claims the gate and fail relays at their inactive levels and registers each for
/// the panic hook as soon as it is claimed. Call this before anything else at start.
pub fn claim_outputs<A: LineAddr>(
    gate: &OutputOptions<A>,
    fail: &OutputOptions<A>,
) -> Result<Outputs, GpioError> {
    claim_outputs_with(gate, fail, claim_output)
}

/// [`claim_outputs`] with any claim function. If the fail relay cannot be claimed,
/// the gate relay is dropped (driven inactive) and the error is the fail relay's.
pub fn claim_outputs_with<A, L, F>(
    gate: &OutputOptions<A>,
    fail: &OutputOptions<A>,
    mut claim: F,
) -> Result<Outputs, GpioError>
where
    L: OutputLine,
    F: FnMut(&'static str, &OutputOptions<A>) -> Result<Output<L>, GpioError>,
{
    let g: Arc<dyn Relay> = Arc::new(claim("gate", gate)?);
    register(&g);
    let f: Arc<dyn Relay> = Arc::new(claim("fail", fail)?);
    register(&f);
    Ok((g, f))
}

/// One relay output. `set(false)` is the safe level; an implementation claims the
/// pin at that level when it is created and returns to it when dropped.
pub trait Relay: Send + Sync + 'static {
    /// `"gate"` or `"fail"`.
    fn name(&self) -> &'static str;
    fn set(&self, active: bool) -> Result<(), GpioError>;
}

/// Drives a relay inactive when dropped: a pulse whose task is cancelled, or that
/// unwinds from a panic, still ends.
struct OffGuard<'a>(&'a dyn Relay);

impl Drop for OffGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.set(false) {
            tracing::error!(output = self.0.name(), error = %e, "cannot return output to its safe level");
        }
    }
}

/// Energises `relay` for `length`, then de-energises it, whatever happens in between.
pub async fn pulse(relay: &Arc<dyn Relay>, length: Duration) -> Result<(), GpioError> {
    let guard = OffGuard(relay.as_ref());
    relay.set(true)?;
    tokio::time::sleep(length).await;
    drop(guard);
    Ok(())
}

/// The pulses of one relay. A pulse asked for while another runs extends it to the
/// later of the two ends: the relay switches on once and off once (a request-to-exit
/// during a pass pulse still gets its whole length), and it is never on past the end
/// of the latest pulse asked for. A cancelled or panicking pulse still ends.
#[derive(Clone)]
pub struct Pulser {
    relay: Arc<dyn Relay>,
    /// When the running pulse ends; `None` while the relay rests.
    until: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
}

/// Ends a [`Pulser`]'s pulse when dropped while still armed (cancelled, panicked).
struct PulseGuard {
    relay: Arc<dyn Relay>,
    until: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
    armed: bool,
}

impl PulseGuard {
    /// Relay off and the pulse over, in one step under the lock, so that a pulse
    /// asked for meanwhile starts afresh instead of extending one that is ending.
    fn end(&mut self, until: &mut Option<tokio::time::Instant>) {
        self.armed = false;
        *until = None;
        if let Err(e) = self.relay.set(false) {
            tracing::error!(output = self.relay.name(), error = %e, "cannot return output to its safe level");
        }
    }
}

impl Drop for PulseGuard {
    fn drop(&mut self) {
        if self.armed {
            let until = self.until.clone();
            let mut until = until.lock().unwrap_or_else(|p| p.into_inner());
            self.end(&mut until);
        }
    }
}

impl Pulser {
    pub fn new(relay: Arc<dyn Relay>) -> Self {
        Pulser {
            relay,
            until: Arc::default(),
        }
    }

    /// The relay's name (`"gate"`, `"fail"`).
    pub fn name(&self) -> &'static str {
        self.relay.name()
    }

    /// Energises the relay for `length` from now, or extends the pulse running to
    /// end no sooner than that. Returns the task of a new pulse (`None` when one was
    /// extended); aborting it ends the pulse.
    pub fn pulse(&self, length: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let end = tokio::time::Instant::now() + length;
        {
            let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(u) = *until {
                *until = Some(u.max(end));
                return None;
            }
            *until = Some(end);
        }
        let mut guard = PulseGuard {
            relay: self.relay.clone(),
            until: self.until.clone(),
            armed: true,
        };
        Some(tokio::spawn(async move {
            if let Err(e) = guard.relay.set(true) {
                tracing::warn!(relay = guard.relay.name(), error = %e, "relay pulse failed");
                return; // the guard drives it off and ends the pulse
            }
            {
                // The whole length from the moment it is on.
                let on_until = tokio::time::Instant::now() + length;
                let mut until = guard.until.lock().unwrap_or_else(|p| p.into_inner());
                *until = Some(until.map_or(on_until, |u| u.max(on_until)));
            }
            loop {
                let end = {
                    let until = guard.until.clone();
                    let mut until = until.lock().unwrap_or_else(|p| p.into_inner());
                    match *until {
                        Some(end) if end > tokio::time::Instant::now() => end,
                        _ => {
                            guard.end(&mut until);
                            return;
                        }
                    }
                };
                tokio::time::sleep_until(end).await;
            }
        }))
    }
}

/// Every output claimed by this process, so that a panic anywhere drives them all
/// to their safe level before the process unwinds or aborts.
static OUTPUTS: std::sync::Mutex<Vec<std::sync::Weak<dyn Relay>>> =
    std::sync::Mutex::new(Vec::new());

/// Registers an output for [`all_safe`] and the panic hook.
pub fn register(relay: &Arc<dyn Relay>) {
    let mut outs = OUTPUTS.lock().unwrap_or_else(|p| p.into_inner());
    outs.retain(|w| w.strong_count() > 0);
    outs.push(Arc::downgrade(relay));
}

/// Drives every registered output inactive. Errors are logged; the next output is
/// still tried.
pub fn all_safe() {
    let outs = OUTPUTS.lock().unwrap_or_else(|p| p.into_inner());
    for r in outs.iter().filter_map(|w| w.upgrade()) {
        if let Err(e) = r.set(false) {
            tracing::error!(output = r.name(), error = %e, "cannot return output to its safe level");
        }
    }
}

/// Installs a panic hook that drives every registered output inactive first, then
/// runs the previous hook.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // try_lock: a panic while the registry is held must not deadlock the hook.
        if let Ok(outs) = OUTPUTS.try_lock() {
            for r in outs.iter().filter_map(|w| w.upgrade()) {
                let _ = r.set(false);
            }
        }
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::super::sim::SimRelay;
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pulse_is_on_for_its_length_then_off() {
        let sim = SimRelay::new("gate");
        let relay: Arc<dyn Relay> = Arc::new(sim.clone());
        let t0 = tokio::time::Instant::now();
        pulse(&relay, Duration::from_millis(700)).await.ok();
        let p = sim.pulses();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].started, t0);
        assert_eq!(p[0].length, Duration::from_millis(700));
        assert!(!sim.is_active());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_pulse_still_ends() {
        let sim = SimRelay::new("gate");
        let relay: Arc<dyn Relay> = Arc::new(sim.clone());
        let task = tokio::spawn(async move { pulse(&relay, Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(sim.is_active());
        task.abort();
        let _ = task.await;
        assert!(!sim.is_active(), "the guard switched it off");
        assert_eq!(sim.pulses()[0].length, Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn an_overlapping_pulse_extends_the_running_one_to_the_later_end() {
        let sim = SimRelay::new("gate");
        let pulser = Pulser::new(Arc::new(sim.clone()));
        let t0 = tokio::time::Instant::now();
        let task = pulser
            .pulse(Duration::from_millis(1000))
            .expect("a new pulse");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(
            pulser.pulse(Duration::from_millis(1000)).is_none(),
            "extended"
        );
        // A shorter one inside the running pulse changes nothing.
        assert!(pulser.pulse(Duration::from_millis(100)).is_none());
        task.await.unwrap();
        let p = sim.pulses();
        assert_eq!(p.len(), 1, "on once, off once: {p:?}");
        assert_eq!(p[0].started, t0);
        assert_eq!(p[0].length, Duration::from_millis(1600));
        assert!(!sim.is_active());

        // Once over, the next pulse starts afresh.
        let t1 = tokio::time::Instant::now();
        pulser
            .pulse(Duration::from_millis(300))
            .unwrap()
            .await
            .unwrap();
        let p = sim.pulses();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[1].started, p[1].length),
            (t1, Duration::from_millis(300))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_aborted_pulse_ends_and_the_next_starts_afresh() {
        let sim = SimRelay::new("fail");
        let pulser = Pulser::new(Arc::new(sim.clone()));
        let task = pulser.pulse(Duration::from_secs(5)).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        task.abort();
        let _ = task.await;
        assert!(!sim.is_active(), "off when aborted");
        assert_eq!(sim.pulses()[0].length, Duration::from_millis(200));
        let again = pulser.pulse(Duration::from_millis(400));
        assert!(
            again.is_some(),
            "not taken for an extension of the aborted one"
        );
        again.unwrap().await.unwrap();
        assert_eq!(sim.pulses().len(), 2);
        assert_eq!(sim.pulses()[1].length, Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_relay_that_cannot_switch_on_ends_its_pulse() {
        let relay: Arc<dyn Relay> = Arc::new(Broken);
        let pulser = Pulser::new(relay);
        pulser.pulse(Duration::from_secs(1)).unwrap().await.unwrap();
        assert!(
            pulser.pulse(Duration::from_secs(1)).is_some(),
            "the failed pulse is over"
        );
    }

    struct Broken;

    impl Relay for Broken {
        fn name(&self) -> &'static str {
            "gate"
        }
        fn set(&self, _: bool) -> Result<(), GpioError> {
            Err(GpioError::Io {
                output: "gate",
                why: "unplugged".into(),
            })
        }
    }

    #[test]
    fn all_safe_switches_every_registered_output_off() {
        let sim = SimRelay::new("fail");
        let relay: Arc<dyn Relay> = Arc::new(sim.clone());
        register(&relay);
        relay.set(true).ok();
        all_safe();
        assert!(!sim.is_active());
        assert_eq!(sim.pulses().len(), 1);
    }

    // --- a relay on a claimed line, with a fake backend ---

    use crate::gpio::fake::{fake, levels, Fake, Log, Op};
    use tokio::time::Instant;

    fn opts(line: Fake, active_low: bool) -> OutputOptions<Fake> {
        OutputOptions {
            line,
            active_low,
            pulse: Duration::from_millis(500),
        }
    }

    #[test]
    fn pulse_bounds() {
        assert_eq!(bounded_pulse(Duration::ZERO), PULSE_MIN);
        assert_eq!(bounded_pulse(Duration::from_millis(99)), PULSE_MIN);
        assert_eq!(bounded_pulse(Duration::from_millis(100)), PULSE_MIN);
        assert_eq!(
            bounded_pulse(Duration::from_millis(750)),
            Duration::from_millis(750)
        );
        assert_eq!(bounded_pulse(Duration::from_secs(10)), PULSE_MAX);
        assert_eq!(bounded_pulse(Duration::from_secs(3600)), PULSE_MAX);
        let o = OutputOptions {
            pulse: Duration::from_secs(60),
            ..opts(fake(17, &Log::default()), true)
        };
        assert_eq!(o.bounded_pulse(), PULSE_MAX);
    }

    #[test]
    fn a_relay_is_first_configured_at_its_inactive_level() {
        for (active_low, rest) in [(true, Level::High), (false, Level::Low)] {
            let log = Log::default();
            let relay = claim_output("gate", &opts(fake(17, &log), active_low)).unwrap();
            assert_eq!(log.lock().unwrap()[0], Op::Output(17, rest));
            assert_eq!(
                log.lock().unwrap().len(),
                1,
                "nothing else written at claim"
            );
            assert_eq!(relay.label(), "fake line 17");
        }
    }

    #[test]
    fn active_low_maps_active_to_low() {
        let log = Log::default();
        let relay = claim_output("gate", &opts(fake(17, &log), true)).unwrap();
        relay.set(true).unwrap();
        relay.set(false).unwrap();
        relay.set(true).unwrap();
        assert_eq!(
            levels(&log),
            vec![
                "output 17 High",
                "write 17 Low",
                "write 17 High",
                "write 17 Low"
            ]
        );
        assert_eq!(relay.name(), "gate");
        let log = Log::default();
        let relay = claim_output("gate", &opts(fake(5, &log), false)).unwrap();
        relay.set(true).unwrap();
        drop(relay);
        assert_eq!(
            levels(&log),
            vec!["output 5 Low", "write 5 High", "write 5 Low", "drop 5"]
        );
    }

    #[test]
    fn dropping_a_relay_drives_it_inactive_and_keeps_it_an_output() {
        let log = Log::default();
        let relay = claim_output("fail", &opts(fake(27, &log), true)).unwrap();
        relay.set(true).unwrap();
        drop(relay);
        assert_eq!(
            levels(&log),
            vec!["output 27 High", "write 27 Low", "write 27 High", "drop 27"]
        );
    }

    #[test]
    fn a_write_that_fails_is_an_error_naming_the_line() {
        let log = Log::default();
        let line = Fake {
            broken: true,
            ..fake(27, &log)
        };
        let relay = claim_output("fail", &opts(line, true)).unwrap();
        let GpioError::Io { output, why } = relay.set(true).unwrap_err();
        assert_eq!(output, "fail");
        assert_eq!(why, "fake line 27: Input/output error");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pulse_on_an_active_low_relay_is_low_for_exactly_its_length() {
        let log = Log::default();
        let relay: Arc<dyn Relay> =
            Arc::new(claim_output("gate", &opts(fake(17, &log), true)).unwrap());
        let t0 = Instant::now();
        pulse(&relay, Duration::from_millis(750)).await.unwrap();
        let ops = log.lock().unwrap().clone();
        assert_eq!(
            ops,
            vec![
                Op::Output(17, Level::High),
                Op::Write(17, Level::Low, t0),
                Op::Write(17, Level::High, t0 + Duration::from_millis(750)),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_pulse_on_a_claimed_relay_still_ends_high() {
        let log = Log::default();
        let relay: Arc<dyn Relay> =
            Arc::new(claim_output("gate", &opts(fake(17, &log), true)).unwrap());
        let r = relay.clone();
        let task = tokio::spawn(async move { pulse(&r, Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        task.abort();
        let _ = task.await;
        assert_eq!(
            levels(&log),
            vec!["output 17 High", "write 17 Low", "write 17 High"]
        );
    }

    #[test]
    fn claim_outputs_claims_both_inactive_and_registers_them() {
        let log = Log::default();
        let (g, f) =
            claim_outputs(&opts(fake(17, &log), true), &opts(fake(27, &log), false)).unwrap();
        assert_eq!((g.name(), f.name()), ("gate", "fail"));
        let claimed: Vec<String> = levels(&log)
            .into_iter()
            .filter(|s| s.starts_with("output"))
            .collect();
        assert_eq!(claimed, vec!["output 17 High", "output 27 Low"]);
        assert_eq!(
            levels(&log)[0],
            "output 17 High",
            "configured before any write"
        );
        g.set(true).unwrap();
        f.set(true).unwrap();
        all_safe();
        let l = levels(&log);
        // Another test's all_safe may also write (inactive) to ours at any time, so
        // check what must hold anyway: both were energised, and the last word on each
        // is its inactive level (without registration, it would be the active one).
        assert!(l.contains(&"write 17 Low".to_owned()), "{l:?}");
        assert!(l.contains(&"write 27 High".to_owned()), "{l:?}");
        let last = |p: &str| l.iter().rev().find(|s| s.contains(p)).cloned();
        assert_eq!(last(" 17 ").as_deref(), Some("write 17 High"));
        assert_eq!(last(" 27 ").as_deref(), Some("write 27 Low"));
    }

    #[test]
    fn when_the_fail_relay_cannot_be_claimed_the_gate_relay_is_left_inactive() {
        let log = Log::default();
        let missing = Fake {
            missing: true,
            ..fake(27, &log)
        };
        let err = claim_outputs(&opts(fake(17, &log), true), &opts(missing, true))
            .err()
            .expect("the fail line is missing");
        assert_eq!(
            err.to_string(),
            "GPIO error on fail: fake 27 does not exist"
        );
        // (A concurrent test's all_safe may add more "write 17 High": same meaning.)
        let l = levels(&log);
        assert_eq!(l[0], "output 17 High");
        assert_eq!(l[l.len() - 2..], ["write 17 High", "drop 17"]);
        assert!(l.iter().all(|s| !s.contains("Low")), "{l:?}");
    }

    #[test]
    fn claim_outputs_with_claims_the_gate_first_then_the_fail_relay() {
        let log = Log::default();
        let mut claimed = Vec::new();
        let err = claim_outputs_with(
            &opts(fake(17, &log), true),
            &opts(fake(18, &log), true),
            |name, o| {
                claimed.push((name, o.line.pin));
                if name == "fail" {
                    return Err(GpioError::Io {
                        output: name,
                        why: "busy".to_owned(),
                    });
                }
                claim_output(name, o)
            },
        )
        .err()
        .expect("the fail line is busy");
        assert_eq!(err.to_string(), "GPIO error on fail: busy");
        assert_eq!(claimed, vec![("gate", 17), ("fail", 18)]);
    }
}
