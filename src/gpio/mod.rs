//! Relay outputs (gate, fail) and the pulse that can never stick on.

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
