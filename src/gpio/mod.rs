//! Relay outputs (gate, fail) and the pulse that can never stick on.

pub mod cdev;
pub mod debounce;
pub mod rppal;
pub mod sim;

use std::sync::Arc;
use std::time::Duration;

/// Why an output could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("GPIO error on {output}: {why}")]
    Io { output: &'static str, why: String },
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
    use super::sim::SimRelay;
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
}
