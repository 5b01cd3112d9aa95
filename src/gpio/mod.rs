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
