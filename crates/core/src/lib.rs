//! AegisClaw's pure logic: the home and its files, config, scopes, skills and their signatures,
//! the hash-chained audit log. No async runtime, no sockets, no unsafe code.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approval;
pub mod audit;
pub mod canonical;
pub mod config;
pub mod env;
pub mod home;
pub mod key;
pub mod lockdown;
pub mod pem;
pub mod policy;
pub mod redact;
pub mod scope;
pub mod secrets;
pub mod skill;
pub mod timestamp;
pub mod trust;
