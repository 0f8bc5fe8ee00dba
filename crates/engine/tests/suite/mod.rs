//! Engine integration tests, one module per area.

mod common;
mod doctor;
mod egress;
mod posture;
