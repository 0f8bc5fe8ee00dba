//! The one integration test binary of the `aegisclaw` CLI (STYLE rule 15).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test helpers panic on setup failure and use std::fs and std::env directly"
)]
mod suite;
