//! Helpers shared by several test crates (`mod common;`).

pub mod fast;
pub mod process;
pub mod screens;
pub mod ssd1306;
