//! Integration tests: skill.
