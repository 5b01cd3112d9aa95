//! Helpers shared by several test crates (`mod common;`).

pub mod screens;
pub mod ssd1306;
