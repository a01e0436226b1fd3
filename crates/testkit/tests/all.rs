//! One integration-test binary for the crate (see tests/suite/).

mod suite;
