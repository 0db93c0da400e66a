//! How often and how late a transiently failing message is tried again.

use std::time::Duration;

/// Retries allowed and the backoff of each level; the last level repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    delays: Vec<Duration>,
}

/// What to do with a message whose handler failed transiently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send it to retry level `level` (1-based), to be delivered again after `delay`.
    RetryAt { level: usize, delay: Duration },
    /// Retries are exhausted: dead-letter it.
    GiveUp,
}

impl RetryPolicy {
    /// `delays` must not be empty; an empty list is treated as a single 1 s level.
    pub fn new(max_retries: u32, delays: Vec<Duration>) -> Self {
        let delays = if delays.is_empty() { vec![Duration::from_secs(1)] } else { delays };
        RetryPolicy { max_retries, delays }
    }

    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The delay of every level, in order; one retry queue is declared per level.
    pub fn levels(&self) -> &[Duration] {
        &self.delays
    }

    /// Decides for a message that failed on its attempt `retrace_intent` (0 = first delivery).
    pub fn decide(&self, retrace_intent: u32) -> RetryDecision {
        if retrace_intent >= self.max_retries {
            return RetryDecision::GiveUp;
        }
        let index = (retrace_intent as usize).min(self.delays.len() - 1);
        RetryDecision::RetryAt { level: index + 1, delay: self.delays[index] }
    }
}

/// Capped exponential backoff with jitter, for reconnecting and for waiting out a database outage.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    initial: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { next: initial, initial, max }
    }

    /// Trying a call again in place (a publish, a lookup, a batch during an outage): 100 ms,
    /// doubling, at most 10 s apart, so a short blip costs little and a long one little load.
    pub fn retrying() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
    }

    /// Reconnecting to a server (the broker, an API watch): 100 ms, doubling, at most 30 s
    /// apart, so a fleet of replicas does not hammer a server that is coming back.
    pub fn reconnecting() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(30))
    }

    /// The next wait: doubles each time up to the cap, with ±20 % jitter so replicas spread out.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter = 0.8 + fastrand::f64() * 0.4;
        base.mul_f64(jitter).min(self.max)
    }

    /// Back to the initial delay after a success.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        let s = Duration::from_secs;
        RetryPolicy::new(5, vec![s(1), s(5), s(30), s(120), s(600)])
    }

    #[test]
    fn first_failure_goes_to_level_one() {
        assert_eq!(policy().decide(0), RetryDecision::RetryAt { level: 1, delay: Duration::from_secs(1) });
    }

    #[test]
    fn the_last_level_repeats_when_retries_outnumber_levels() {
        let p = RetryPolicy::new(8, vec![Duration::from_secs(1), Duration::from_secs(2)]);
        assert_eq!(p.decide(6), RetryDecision::RetryAt { level: 2, delay: Duration::from_secs(2) });
    }

    #[test]
    fn a_message_that_used_every_retry_is_given_up() {
        assert_eq!(policy().decide(5), RetryDecision::GiveUp);
        assert!(matches!(policy().decide(4), RetryDecision::RetryAt { level: 5, .. }));
        assert_eq!(RetryPolicy::new(0, vec![]).decide(0), RetryDecision::GiveUp);
    }

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert!(delays[7] >= Duration::from_millis(800), "{delays:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(120));
    }
}
