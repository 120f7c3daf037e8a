//! The one retry story of the adapters, with its budget in one place.
//!
//! Every call first gets the SDK's own attempts (`sdk`: standard mode,
//! `AWS_MAX_ATTEMPTS` or 3, all inside the operation timeout of
//! `Timeouts::call`). Not the SDK's adaptive mode, not even for the bulk
//! paths that meet `503 SlowDown` storms: its client-side rate limiter
//! (one per service and region, for the whole process) drops to half a
//! request per second after a burst of throttling, and the wait for a send
//! token counts against the operation timeout, so a purge under a storm
//! that standard mode rides out ended with "did not answer within 20s"
//! (measured with `hardening_faults::purge_under_a_storm_of_slowdowns_*`).
//!
//! Where the tool must add rounds on top (a bulk call the store keeps
//! throttling, an IAM change that has not propagated yet, a shared
//! document another writer replaced), the pauses between rounds come from
//! one policy (backon's exponential backoff with jitter): `rounds` for a
//! fixed number of rounds, `throttled` for a call the store throttles
//! (as many rounds as its time budget holds, paced by `throttle::Gate`),
//! `contended` for writers racing on one shared document, `settling` for
//! waiting out a deadline.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use backon::ExponentialBuilder;

/// Rounds of a call the tool may make in all (the first one included),
/// each with the SDK's own attempts.
pub const ROUNDS: usize = 3;
/// The first pause between rounds; each next one doubles, with jitter.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// No pause between rounds is longer than this.
const LONGEST_PAUSE: Duration = Duration::from_secs(3);

/// The SDK's attempts per call: `AWS_MAX_ATTEMPTS` as the AWS tools read
/// it (1 to 10), else 3. The operation timeout (`Timeouts::call`) bounds
/// them all, so a silent endpoint costs one call's budget however many
/// attempts are set.
pub fn sdk_attempts() -> u32 {
    std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| (1..=10).contains(n))
        .unwrap_or(3)
}

/// The SDK's retries for every client: standard mode.
pub fn sdk() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(sdk_attempts())
}

/// The pauses between the rounds the tool adds: at most `ROUNDS - 1`.
pub fn rounds() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_PAUSE)
        .with_max_delay(LONGEST_PAUSE)
        .with_max_times(ROUNDS - 1)
        .with_jitter()
}

/// The pauses between rounds of a call the store throttles: no count,
/// since the caller stops when the call's time budget is spent
/// (`throttle::Budget`). A storm of `503 SlowDown` outlasts any fixed
/// number of rounds at a high enough request rate; a budget in time
/// scales with `--timeout` instead.
pub fn throttled() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_PAUSE)
        .with_max_delay(LONGEST_PAUSE)
        .without_max_times()
        .with_jitter()
}

/// Rounds of a read-modify-write redone because another writer replaced
/// the shared document meanwhile (`confirmed_write`): racing writers need
/// more, shorter rounds than a throttling store.
pub const CONTENDED_ROUNDS: usize = 6;

/// The pauses between those rounds: at most `CONTENDED_ROUNDS - 1`,
/// jittered so that racing writers fall apart.
pub fn contended() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(1))
        .with_max_times(CONTENDED_ROUNDS - 1)
        .with_jitter()
}

/// The pauses while waiting for something to settle: as many as fit in
/// `deadline` (their sum never exceeds it).
pub fn settling(deadline: Duration) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_PAUSE)
        .with_max_delay(LONGEST_PAUSE)
        .without_max_times()
        .with_total_delay(Some(deadline))
        .with_jitter()
}

#[cfg(test)]
mod tests {
    use backon::BackoffBuilder;

    use super::*;

    #[test]
    fn rounds_make_at_most_rounds_minus_one_short_pauses() {
        let pauses: Vec<Duration> = rounds().build().collect();
        assert_eq!(pauses.len(), ROUNDS - 1);
        assert!(pauses.iter().all(|p| *p <= LONGEST_PAUSE * 2));
    }

    #[test]
    fn settling_pauses_never_add_up_past_the_deadline() {
        let deadline = Duration::from_secs(30);
        let total: Duration = settling(deadline).build().sum();
        assert!(total <= deadline, "{total:?}");
        assert!(total >= deadline - LONGEST_PAUSE * 2, "{total:?}");
    }
}
