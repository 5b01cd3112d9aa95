//! Displays: every panel shows the same [`Screen`]s (the core's model, from
//! `livegate_core::screen`), drawn once in [`screens`].

pub mod screens;
pub mod sim;
pub mod ssd1306;
pub mod term;

pub use livegate_core::screen::Screen;

/// Why a panel could not show a screen. The gate keeps working without a display.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error("display bus error: {0}")]
    Bus(String),
    #[error("display error: {0}")]
    Other(String),
}

/// A panel. `show` is called from a blocking context (I2C writes take milliseconds).
pub trait Display: Send + 'static {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError>;
}
