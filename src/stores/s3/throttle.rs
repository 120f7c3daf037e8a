//! The pace of a run's bulk requests (listing pages, seeks, DeleteObjects)
//! when the store throttles them.
//!
//! A store answers a burst with `503 SlowDown` (or a bare 503, a 429,
//! `Throttling`, `RequestLimitExceeded`): it asks for fewer requests, not
//! for the run to stop. So every bulk call goes through the run's `Gate`:
//!
//! - it waits for a turn: at most `limit` calls are in flight, and the limit
//!   halves at each throttled answer (once per generation of requests: the
//!   answers to requests sent before the last cut do not cut again) and
//!   grows back by one after `limit` calls in a row went through, up to the
//!   ceiling the scan itself never exceeds. A healthy run never waits; a
//!   storm makes the run slower, not shorter.
//! - a throttled call is sent again, after the pauses of
//!   `retry::throttled`, until its `Budget` (one call's time limit,
//!   counted from its first send, later waits for a turn excluded) is
//!   spent: a storm that long ends the call, a dead endpoint (not
//!   throttling) still fails at once.
//!
//! Each call still gets the SDK's own attempts (`retry::sdk`) inside it.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use backon::{BackoffBuilder, ExponentialBackoff};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::{RawStatus, is_throttling};
use crate::transport::retry;

/// The bulk calls of one run, and how many may be in flight.
#[derive(Debug, Clone)]
pub struct Gate(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// One permit per call in flight; `state.limit` of them exist, less
    /// `state.debt`.
    slots: Arc<Semaphore>,
    state: Mutex<State>,
    /// One throttled call's budget (`Budget`).
    budget: Duration,
}

#[derive(Debug)]
struct State {
    limit: usize,
    ceiling: usize,
    /// Permits to take back as they come free: the limit was cut below the
    /// calls in flight.
    debt: usize,
    /// Bumped at every cut.
    epoch: u64,
    /// Calls through since the limit last changed.
    successes: usize,
}

impl Gate {
    /// A gate letting `ceiling` calls (at least one) in flight until the
    /// store throttles; each throttled call gets `budget` of rounds.
    pub fn new(ceiling: usize, budget: Duration) -> Gate {
        let ceiling = ceiling.max(1);
        Gate(Arc::new(Inner {
            slots: Arc::new(Semaphore::new(ceiling)),
            state: Mutex::new(State {
                limit: ceiling,
                ceiling,
                debt: 0,
                epoch: 0,
                successes: 0,
            }),
            budget,
        }))
    }

    /// The budget of one throttled call.
    pub fn budget(&self) -> Duration {
        self.0.budget
    }

    /// How many calls may be in flight now.
    #[cfg(test)]
    fn limit(&self) -> usize {
        self.0.state().limit
    }

    /// Waits for a turn to send one call (in the order asked).
    pub async fn turn(&self) -> Turn {
        // The semaphore is never closed; were it, calls would go unpaced
        // rather than fail.
        let permit = self.0.slots.clone().acquire_owned().await.ok();
        let epoch = self.0.state().epoch;
        Turn {
            gate: Arc::clone(&self.0),
            permit,
            epoch,
        }
    }

    /// Sends one call (`send`: a request with the SDK's attempts) in turn,
    /// and again while the store throttles it and its budget lasts.
    pub async fn call<T, E, R, F, Fut>(&self, mut send: F) -> Result<T, SdkError<E, R>>
    where
        E: ProvideErrorMetadata,
        R: RawStatus,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
    {
        let mut budget = Budget::new(self.budget());
        loop {
            let turn = budget.wait_for(self).await;
            let out = send().await;
            let throttled = match &out {
                Ok(_) => false,
                Err(e) => is_throttling(e),
            };
            if !throttled {
                if out.is_ok() {
                    turn.succeeded();
                }
                return out;
            }
            turn.throttled();
            let Some(pause) = budget.next_pause() else {
                return out;
            };
            // The answer is not held across the pause (errors need not be
            // shareable between threads).
            drop(out);
            tracing::debug!(?pause, "throttled by the store; backing off");
            tokio::time::sleep(pause).await;
        }
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it
        // (every change is a few assignments).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One call's turn: give it back with how the call went.
#[derive(Debug)]
pub struct Turn {
    gate: Arc<Inner>,
    permit: Option<OwnedSemaphorePermit>,
    /// The gate's epoch when the turn began.
    epoch: u64,
}

impl Turn {
    /// The store took the call: after `limit` of them in a row, one more
    /// call may be in flight.
    pub fn succeeded(mut self) {
        let gate = Arc::clone(&self.gate);
        let mut state = gate.state();
        state.successes += 1;
        if state.successes >= state.limit && state.limit < state.ceiling {
            state.limit += 1;
            state.successes = 0;
            if state.debt > 0 {
                state.debt -= 1;
            } else {
                gate.slots.add_permits(1);
            }
        }
        self.give_back(&mut state);
    }

    /// The store throttled the call: half as many calls in flight, unless
    /// the limit was cut since this call was sent (one burst of throttled
    /// answers is one cut).
    pub fn throttled(mut self) {
        let gate = Arc::clone(&self.gate);
        let mut state = gate.state();
        if self.epoch == state.epoch {
            let cut = (state.limit / 2).max(1);
            state.debt += state.limit - cut;
            state.limit = cut;
            state.epoch += 1;
            state.successes = 0;
            let taken = gate.slots.forget_permits(state.debt);
            state.debt -= taken;
            tracing::debug!(
                limit = cut,
                "throttled by the store: fewer requests in flight"
            );
        }
        self.give_back(&mut state);
    }

    /// Returns the permit, or keeps it when the limit was cut below the
    /// calls in flight.
    fn give_back(&mut self, state: &mut State) {
        if let Some(permit) = self.permit.take()
            && state.debt > 0
        {
            state.debt -= 1;
            permit.forget();
        }
    }
}

impl Drop for Turn {
    /// A turn dropped without a verdict (the call failed otherwise, or was
    /// abandoned) only gives its permit back.
    fn drop(&mut self) {
        if self.permit.is_some() {
            let gate = Arc::clone(&self.gate);
            let mut state = gate.state();
            self.give_back(&mut state);
        }
    }
}

/// The rounds one call may still have while the store throttles it: its
/// time, counted from its first send without the later waits for a turn
/// (the gate's pacing is not the store's refusal), against one call's
/// budget. No round starts once the budget is spent, and a pause never
/// reaches past it, so a call ends within two budgets of its own time.
#[derive(Debug)]
pub struct Budget {
    limit: Duration,
    since: Option<Instant>,
    waited: Duration,
    pauses: ExponentialBackoff,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            since: None,
            waited: Duration::ZERO,
            pauses: retry::throttled().build(),
        }
    }

    /// Waits for a turn of `gate` to send; the budget runs from the first.
    pub async fn wait_for(&mut self, gate: &Gate) -> Turn {
        let asked = Instant::now();
        let turn = gate.turn().await;
        match self.since {
            None => self.since = Some(Instant::now()),
            Some(_) => self.waited += asked.elapsed(),
        }
        turn
    }

    /// After a throttled answer: the pause before the next round, or
    /// `None` once the budget is spent.
    pub fn next_pause(&mut self) -> Option<Duration> {
        let left = self
            .limit
            .checked_sub(self.spent())
            .filter(|d| !d.is_zero())?;
        self.pauses.next().map(|pause| pause.min(left))
    }

    /// The call's own time so far (waits for a turn after the first send
    /// excluded).
    pub fn spent(&self) -> Duration {
        self.since
            .map_or(Duration::ZERO, |s| s.elapsed().saturating_sub(self.waited))
    }
}

/// Sends again, in rounds, while the store answers with throttling even
/// after the SDK's own retries: a burst of `503 SlowDown` is ridden out,
/// while a dead endpoint still fails fast. No round starts once `budget`
/// (one call's) has passed since the first send, so the whole costs two
/// calls' budgets at worst. For one call on its own; the bulk calls of a
/// scan share their run's `Gate`.
pub async fn throttled<T, E, R, F, Fut>(budget: Duration, send: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    R: RawStatus,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
{
    Gate::new(1, budget).call(send).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_throttled_answer_halves_the_calls_in_flight_once_per_burst() {
        let gate = Gate::new(16, Duration::from_secs(20));
        let turns: Vec<Turn> = futures::future::join_all((0..16).map(|_| gate.turn())).await;
        assert_eq!(gate.limit(), 16);
        // Sixteen calls sent together, all throttled: one cut, not sixteen.
        for turn in turns {
            turn.throttled();
        }
        assert_eq!(gate.limit(), 8);
        assert_eq!(gate.0.slots.available_permits(), 8);
        // The next generation throttled again: halved again.
        let turn = gate.turn().await;
        turn.throttled();
        assert_eq!(gate.limit(), 4);
        for _ in 0..10 {
            gate.turn().await.throttled();
        }
        assert_eq!(gate.limit(), 1, "never below one call in flight");
        assert_eq!(gate.0.slots.available_permits(), 1);
    }

    #[tokio::test]
    async fn the_limit_grows_back_slowly_up_to_the_ceiling() {
        let gate = Gate::new(4, Duration::from_secs(20));
        gate.turn().await.throttled();
        gate.turn().await.throttled();
        assert_eq!(gate.limit(), 1);
        gate.turn().await.succeeded();
        assert_eq!(gate.limit(), 2, "one more after one success at 1");
        gate.turn().await.succeeded();
        assert_eq!(gate.limit(), 2, "two successes in a row needed at 2");
        gate.turn().await.succeeded();
        assert_eq!(gate.limit(), 3);
        for _ in 0..20 {
            gate.turn().await.succeeded();
        }
        assert_eq!(gate.limit(), 4, "never past the ceiling");
        assert_eq!(gate.0.slots.available_permits(), 4);
    }

    #[tokio::test]
    async fn a_cut_below_the_calls_in_flight_takes_their_permits_back() {
        let gate = Gate::new(8, Duration::from_secs(20));
        let mut turns: Vec<Turn> = futures::future::join_all((0..8).map(|_| gate.turn())).await;
        let first = turns.pop().expect("a turn");
        first.throttled();
        assert_eq!(gate.limit(), 4);
        // Seven calls still in flight, four allowed: three of them keep
        // their permits as they end, without a verdict or with one.
        assert_eq!(gate.0.slots.available_permits(), 0);
        drop(turns.pop());
        if let Some(turn) = turns.pop() {
            turn.succeeded();
        }
        drop(turns.pop());
        assert_eq!(gate.0.slots.available_permits(), 0);
        drop(turns);
        assert_eq!(gate.0.slots.available_permits(), 4);
    }

    #[tokio::test]
    async fn a_waiting_call_proceeds_when_a_turn_is_given_back() {
        let gate = Gate::new(1, Duration::from_secs(20));
        let held = gate.turn().await;
        let waiting = gate.turn();
        tokio::pin!(waiting);
        let early = tokio::time::timeout(Duration::from_millis(50), &mut waiting).await;
        assert!(early.is_err(), "one call in flight at most");
        held.succeeded();
        let turn = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert!(turn.is_ok());
    }

    #[tokio::test]
    async fn the_budget_runs_from_the_first_send_without_the_later_waits() {
        let gate = Gate::new(1, Duration::from_millis(300));
        let mut budget = Budget::new(gate.budget());
        assert_eq!(budget.spent(), Duration::ZERO);
        let turn = budget.wait_for(&gate).await;
        let pause = budget.next_pause().expect("a round left");
        assert!(pause <= Duration::from_millis(300), "{pause:?}");
        // Another call holds the only turn for 400 ms: not this call's time.
        let other = tokio::spawn({
            let gate = gate.clone();
            async move {
                let held = gate.turn().await;
                tokio::time::sleep(Duration::from_millis(400)).await;
                held.succeeded();
            }
        });
        turn.throttled();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let turn = budget.wait_for(&gate).await;
        assert!(
            budget.spent() < Duration::from_millis(300),
            "{:?}",
            budget.spent()
        );
        assert!(budget.next_pause().is_some());
        turn.throttled();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(budget.next_pause().is_none(), "spent");
        other.await.expect("the other call ends");
    }
}
