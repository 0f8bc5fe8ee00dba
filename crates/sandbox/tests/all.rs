//! The sandbox crate's integration tests (one binary, STYLE rule 15).

mod suite;
