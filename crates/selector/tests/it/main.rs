//! Conformance tests for the selector.
