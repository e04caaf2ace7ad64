//! Step timing for the performance log (manual §4.6): one `kim_perf` event per step, emitted
//! when the timer is dropped, with the step name and the elapsed milliseconds (and
//! microseconds for short steps). Never an address or any content.

use std::time::Instant;

/// Emits the step's duration when dropped.
#[derive(Debug)]
pub(crate) struct StepTimer {
    step: &'static str,
    started: Instant,
}

/// Starts timing `step` (`vzd`, `sign`, `encrypt`, `mta`, …).
pub(crate) fn timer(step: &'static str) -> StepTimer {
    StepTimer {
        step,
        started: Instant::now(),
    }
}

impl Drop for StepTimer {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        tracing::info!(target: "kim_perf", step = self.step, ms, us, "step timed");
    }
}
