//! Commissioning commands for technicians (`livegate test …`): each prints what it
//! did and what it found, in plain words.

pub mod api;
pub mod camera;
pub mod display;
pub mod gpio;
pub mod osdp;
pub mod presence;
pub mod wiegand;
