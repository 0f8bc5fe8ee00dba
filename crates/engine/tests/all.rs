//! The engine's one integration test binary (STYLE rule 15).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test helpers panic on setup failure and use std::fs directly"
)]
mod suite;
