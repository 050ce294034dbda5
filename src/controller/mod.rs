//! The companion controller: watches capacity and exhaustion, and plans or
//! performs expansions under guard rails.

pub mod decide;
pub mod lease;
pub mod metrics;
pub mod run;
pub mod signals;
