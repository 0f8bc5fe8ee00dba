//! Integration tests: scope.
