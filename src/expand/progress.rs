//! Where an expansion's progress goes, and (for tests) where it stops.

use std::time::Duration;

use super::state::{ApplyError, Step};

/// Where progress goes, and (for tests) where to stop.
pub struct Progress {
    pub say: Box<dyn FnMut(&str) + Send>,
    pub crash_after: Option<Step>,
    pub poll: Duration,
}

impl Progress {
    pub fn stderr() -> Self {
        Progress {
            say: Box::new(|s| {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "{s}");
            }),
            crash_after: None,
            poll: Duration::from_secs(2),
        }
    }

    pub fn quiet() -> Self {
        Progress {
            say: Box::new(|_| {}),
            crash_after: None,
            poll: Duration::from_millis(20),
        }
    }

    pub(super) fn done(&mut self, step: Step) -> Result<(), ApplyError> {
        if self.crash_after == Some(step) {
            return Err(ApplyError::Crashed(step));
        }
        Ok(())
    }
}
