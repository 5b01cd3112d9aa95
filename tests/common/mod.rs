//! Helpers shared by several test crates (`mod common;`).

pub mod ssd1306;
