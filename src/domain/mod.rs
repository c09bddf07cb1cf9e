//! The domain, with no I/O: codes and (later) the case workflow, routing and deadlines.

pub mod codes;
