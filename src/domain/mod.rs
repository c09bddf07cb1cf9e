//! The domain, with no I/O: codes, the case workflow and routing precedence.

pub mod codes;
pub mod routing;
pub mod workflow;
