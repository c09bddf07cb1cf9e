//! The domain, with no I/O: codes, the case workflow, routing precedence and
//! the working calendar with stage deadlines.

pub mod calendar;
pub mod case_rules;
pub mod codes;
pub mod privacy;
pub mod routing;
pub mod workflow;
