//! The one integration test binary of aegisclaw-core (STYLE rule 15).
mod suite;
