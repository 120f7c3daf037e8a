//! The time limits of every request to a server, set once per run from
//! `--timeout SECONDS` (or `CHRONOTRACE_OPS_TIMEOUT`): a server that accepts
//! connections and never answers (a hung load balancer, a stopped node)
//! must end the command with a one-line error, never hang it.
//!
//! One number, the budget of one call (retries included), sets the others
//! in fixed proportions so that raising it for a slow link raises them all.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// The budget of one call by default: with credentials resolved (at most
/// a quarter of it), a stalled server is reported within 25 s.
pub const DEFAULT_SECONDS: u64 = 20;

/// The limits of every request to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One call, all its attempts and the pauses between them (the SDK's
    /// operation timeout): the worst case of one call.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::from_secs_f64(DEFAULT_SECONDS as f64)
    }
}

impl Timeouts {
    /// The limits for a budget of `seconds` per call (a positive number).
    pub fn from_secs_f64(seconds: f64) -> Timeouts {
        Timeouts {
            call: Duration::from_secs_f64(seconds),
        }
    }

    /// Parses `--timeout` / `CHRONOTRACE_OPS_TIMEOUT`: seconds, more than 0 and
    /// at most a day.
    pub fn parse(text: &str) -> Result<Timeouts, String> {
        match text.trim().parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Timeouts::from_secs_f64(s)),
            _ => Err(format!(
                "{text:?} is not a number of seconds between 0 and 86400"
            )),
        }
    }

    /// Establishing a TCP connection (15% of the call: 3 s by default).
    pub fn connect(&self) -> Duration {
        self.call.mul_f64(0.15)
    }

    /// One attempt, from sending the request to the last byte of the
    /// answer, and the wait for its first byte (40%: 8 s by default, so
    /// two full attempts and part of a third fit in one call).
    pub fn attempt(&self) -> Duration {
        self.call.mul_f64(0.4)
    }

    /// Resolving credentials before the first call (25%: 5 s by default).
    pub fn credentials(&self) -> Duration {
        self.call.mul_f64(0.25)
    }

    /// `check`'s own DNS lookup, TCP connect and the health GET's connect
    /// (10%: 2 s by default): a dead endpoint is reported in seconds.
    pub fn probe_connect(&self) -> Duration {
        self.call.mul_f64(0.1)
    }

    /// `check`'s TLS handshake probe, connection included: the connect
    /// limit (15%: 3 s by default).
    pub fn handshake(&self) -> Duration {
        self.connect()
    }

    /// One request to a MinIO health endpoint, connection to status line
    /// (25%: 5 s by default).
    pub fn health(&self) -> Duration {
        self.call.mul_f64(0.25)
    }

    /// Everything `check` signs, together (75%: 15 s by default): its
    /// calls run concurrently, so a silent endpoint costs one deadline.
    pub fn check_deadline(&self) -> Duration {
        self.call.mul_f64(0.75)
    }

    /// The SDK's timeout configuration.
    pub fn sdk(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect())
            .read_timeout(self.attempt())
            .operation_attempt_timeout(self.attempt())
            .operation_timeout(self.call)
            .build()
    }

    /// A duration for messages: "20s", "0.5s".
    pub fn show(duration: Duration) -> String {
        let secs = duration.as_secs_f64();
        if secs.fract() == 0.0 {
            format!("{secs:.0}s")
        } else {
            format!("{secs:.1}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_splits_into_the_documented_limits() {
        let t = Timeouts::default();
        assert_eq!(t.call, Duration::from_secs(20));
        assert_eq!(t.connect(), Duration::from_secs(3));
        assert_eq!(t.attempt(), Duration::from_secs(8));
        assert_eq!(t.credentials(), Duration::from_secs(5));
        assert_eq!(t.check_deadline(), Duration::from_secs(15));
        // `check`'s own probes keep their historical limits by default.
        assert_eq!(t.probe_connect(), Duration::from_secs(2));
        assert_eq!(t.handshake(), Duration::from_secs(3));
        assert_eq!(t.health(), Duration::from_secs(5));
    }

    #[test]
    fn the_probes_scale_with_the_budget() {
        let t = Timeouts::from_secs_f64(60.0);
        assert_eq!(t.probe_connect(), Duration::from_secs(6));
        assert_eq!(t.handshake(), Duration::from_secs(9));
        assert_eq!(t.health(), Duration::from_secs(15));
    }

    #[test]
    fn timeouts_parse_positive_seconds_only() {
        assert_eq!(
            Timeouts::parse("60").map(|t| t.call),
            Ok(Duration::from_secs(60))
        );
        assert_eq!(
            Timeouts::parse("0.5").map(|t| t.call),
            Ok(Duration::from_millis(500))
        );
        for bad in ["0", "-1", "abc", "", "1e9", "NaN"] {
            assert!(Timeouts::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_show_in_seconds() {
        assert_eq!(Timeouts::show(Duration::from_secs(20)), "20s");
        assert_eq!(Timeouts::show(Duration::from_millis(1500)), "1.5s");
    }
}
