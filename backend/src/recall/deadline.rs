//! A recall's time budget: work run inside [`within`] stops at the next stage boundary (before a
//! channel, fusion, enrichment) once the deadline has passed, with [`Error::DeadlinePassed`].
//!
//! Every stage is bounded on its own (a channel's work grows with the clicks and its k, never
//! with the catalog or the click log), so a recall overruns its deadline by at most one stage.
//! The deadline is the calling thread's, so the engine's signatures stay those of a recall
//! without one (the CLI's, the tests').

use crate::error::{Error, Result};
use std::cell::Cell;
use std::time::Instant;

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with a deadline on this thread (nested calls keep the earlier one).
pub fn within<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
    let before = DEADLINE.get();
    DEADLINE.set(Some(before.map_or(deadline, |b| b.min(deadline))));
    // Restored on unwind too: the thread serves other requests afterwards.
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.set(self.0);
        }
    }
    let _restore = Restore(before);
    f()
}

/// Fails when this thread's deadline has passed, naming the stage that would start.
pub fn check(stage: &'static str) -> Result<()> {
    match DEADLINE.get() {
        Some(d) if Instant::now() >= d => Err(Error::DeadlinePassed(stage)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_passed_deadline_stops_the_next_stage_and_is_cleared_after() {
        assert!(check("fusion").is_ok());
        let past = Instant::now() - Duration::from_millis(1);
        let r = within(past, || check("fusion"));
        assert!(matches!(r, Err(Error::DeadlinePassed("fusion"))));
        let later = Instant::now() + Duration::from_secs(60);
        assert!(within(later, || check("fusion")).is_ok());
        assert!(within(later, || within(past, || check("cf"))).is_err());
        assert!(check("fusion").is_ok());
    }
}
