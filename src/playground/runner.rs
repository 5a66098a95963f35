//! Trains a [`Session`] on its own thread: while "play" is on, and for the steps a `/step`
//! request asks for, so no request thread ever runs a step. The thread holds the session's
//! lock for one step at a time, and before taking it again it lets every request that is
//! waiting for the lock go first: a request waits at most one step (a few milliseconds) for
//! its own session, and never for another session's steps.
//!
//! While playing, the thread also keeps to the session's [`Pace`]: between two played
//! steps it waits on a condition variable, which releases the lock, so requests are never
//! kept waiting by the pace, and a new pace, a pause or a `/step` wakes it at once.

use super::session::Session;
use super::settings::{Pace, SettingsError};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many times the training thread yields to requests waiting for the lock before it
/// takes the lock again anyway (a bound, so a stuck count cannot stop training).
const HAND_OFF_YIELDS: usize = 10_000;

/// A session and whether it is playing, behind one lock.
pub struct RunnerState {
    /// The training state.
    pub session: Session,
    /// A comparison's second run, stepped right after `session` in the same turn of the
    /// lock, so every reply sees both at the same step ([`super::comparison`]).
    pub partner: Option<Session>,
    /// Whether the background thread should keep stepping.
    pub playing: bool,
    /// Steps `/step` requests have asked for since the runner started.
    requested: u64,
}

struct Shared {
    state: Mutex<RunnerState>,
    /// Wakes the training thread: play, a new pace, steps requested, or closing.
    wake: Condvar,
    /// Requests waiting for `state`; the training thread lets them go first.
    waiting: AtomicUsize,
    /// Of the `requested` steps, how many are made (or given up: the session cannot advance,
    /// or it was reset). Written under `state` by the training thread and by reset.
    made: AtomicU64,
    /// Set when the runner is dropped.
    closed: AtomicBool,
    /// `/step` requests wait here for `made` to reach their steps.
    progress_lock: Mutex<()>,
    progress: Condvar,
}

impl RunnerState {
    /// One step of `session`, then (if it advanced) of the partner; `true` when every run
    /// advanced. Only a partner whose own step fails (its objective stopped being finite)
    /// is left one step behind.
    fn step_runs(&mut self) -> bool {
        if !matches!(self.session.step(), Ok(true)) {
            return false;
        }
        match &mut self.partner {
            Some(partner) => matches!(partner.step(), Ok(true)),
            None => true,
        }
    }

    /// [`Session::record_now`] on `session` and the partner.
    fn record_runs(&mut self) {
        let _ = self.session.record_now();
        if let Some(partner) = &mut self.partner {
            let _ = partner.record_now();
        }
    }
}

impl Shared {
    fn lock_state(&self) -> MutexGuard<'_, RunnerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn announce_progress(&self) {
        let _guard = self
            .progress_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.progress.notify_all();
    }
}

/// What a runner's session trains on, fixed for its lifetime (a reset keeps the settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionShape {
    /// Training samples.
    pub train: usize,
    /// Test (held-out) samples.
    pub test: usize,
    /// Classes.
    pub classes: usize,
    /// Whether it trains on the server's images (else on 2-D points).
    pub images: bool,
}

/// A session with its background training thread; dropping it stops the thread.
pub struct SessionRunner {
    shared: Arc<Shared>,
    shape: SessionShape,
    thread: Option<JoinHandle<()>>,
    /// How many [`SessionRunner::step`] calls wait for their steps now.
    waiting_steps: AtomicUsize,
}

/// The most [`SessionRunner::step`] calls that wait for their steps at once on one session;
/// beyond them a call queues its steps and returns at once. Calls on one session wait
/// behind each other's steps, so without a bound many of them would each wait the whole
/// patience.
pub const MAX_WAITING_STEP_REQUESTS: usize = 2;

/// One of a bounded number of places, taken from a counter and given back when dropped.
pub struct WaitingPlace<'a>(&'a AtomicUsize);

impl<'a> WaitingPlace<'a> {
    /// A place of `taken`, if fewer than `cap` are taken.
    pub fn take(taken: &'a AtomicUsize, cap: usize) -> Option<WaitingPlace<'a>> {
        taken
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < cap).then_some(n + 1)
            })
            .ok()
            .map(|_| WaitingPlace(taken))
    }
}

impl Drop for WaitingPlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SessionRunner {
    /// Starts the (paused) training thread for `session`.
    pub fn start(session: Session) -> std::io::Result<SessionRunner> {
        Self::start_with_partner(session, None)
    }

    /// Starts the (paused) training thread for `session` and a comparison's second run.
    pub fn start_with_partner(
        session: Session,
        partner: Option<Session>,
    ) -> std::io::Result<SessionRunner> {
        let shape = SessionShape {
            train: session.train_set().len(),
            test: session.test_set().len(),
            classes: session.settings().dataset.classes(),
            images: session.images().is_some(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(RunnerState {
                session,
                partner,
                playing: false,
                requested: 0,
            }),
            wake: Condvar::new(),
            waiting: AtomicUsize::new(0),
            made: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            progress_lock: Mutex::new(()),
            progress: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("playground-training".to_string())
            .spawn(move || train(&for_thread))?;
        Ok(SessionRunner {
            shared,
            shape,
            thread: Some(thread),
            waiting_steps: AtomicUsize::new(0),
        })
    }

    /// Locks the state, ahead of the training thread's next step (a poisoned lock is
    /// recovered: a session stays usable).
    pub fn lock(&self) -> MutexGuard<'_, RunnerState> {
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        let state = self.shared.lock_state();
        self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        state
    }

    /// How many training and test points the session has (fixed for its lifetime: a reset
    /// keeps the settings).
    pub fn split_sizes(&self) -> (usize, usize) {
        (self.shape.train, self.shape.test)
    }

    /// What the session trains on (fixed for its lifetime).
    pub fn shape(&self) -> SessionShape {
        self.shape
    }

    /// Starts or stops the background training.
    pub fn set_playing(&self, playing: bool) {
        self.lock().playing = playing;
        self.shared.wake.notify_all();
    }

    /// Plays at `pace` from now on (playing or not, without a reset): the training thread,
    /// if it is waiting for the next step, reschedules it at once.
    pub fn set_pace(&self, pace: Pace) {
        self.lock().session.set_pace(pace);
        self.shared.wake.notify_all();
    }

    /// Stops playing and records a history point for the step reached.
    pub fn pause(&self) {
        let mut state = self.lock();
        state.playing = false;
        state.record_runs();
    }

    /// Replaces the session (and a comparison's partner: [`super::comparison::fresh_runs`])
    /// by a fresh one from the same settings and data (paused at step 0), which keeps the
    /// drawing; steps still requested are dropped.
    pub fn reset(&self) -> Result<(), SettingsError> {
        let (settings, partner_settings, images) = {
            let state = self.lock();
            let partner = state.partner.as_ref().map(|p| p.settings().clone());
            let images = state.session.images().cloned();
            (state.session.settings().clone(), partner, images)
        };
        let (mut fresh, partner) =
            super::comparison::fresh_runs(settings, partner_settings, images.as_ref())?;
        let mut state = self.lock();
        if let Some(drawing) = state.session.take_drawing() {
            fresh.set_drawing(drawing);
        }
        state.session = fresh;
        state.partner = partner;
        state.playing = false;
        self.shared.made.store(state.requested, Ordering::SeqCst);
        drop(state);
        self.shared.announce_progress();
        Ok(())
    }

    /// Stops playing and has the training thread make `count` more steps (fewer if the
    /// session cannot advance: it diverged or reached its step cap), then records a history
    /// point. Waits until they are made or `patience` has passed, whichever is first, and
    /// returns how many of them are still to be made (0 unless `patience` ran out). While
    /// [`MAX_WAITING_STEP_REQUESTS`] other calls wait on this session, it does not wait.
    pub fn step(&self, count: u64, patience: Duration) -> u64 {
        let place = WaitingPlace::take(&self.waiting_steps, MAX_WAITING_STEP_REQUESTS);
        let patience = if place.is_some() {
            patience
        } else {
            Duration::ZERO
        };
        let ticket = {
            let mut state = self.lock();
            state.playing = false;
            state.requested += count;
            state.requested
        };
        self.shared.wake.notify_all();
        let deadline = Instant::now() + patience;
        let mut guard = self
            .shared
            .progress_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            let made = self.shared.made.load(Ordering::SeqCst);
            if made >= ticket || self.shared.closed.load(Ordering::SeqCst) {
                return ticket.saturating_sub(made);
            }
            let now = Instant::now();
            if now >= deadline {
                return ticket - made;
            }
            guard = self
                .shared
                .progress
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

impl Drop for SessionRunner {
    fn drop(&mut self) {
        {
            // Under the lock, so the training thread cannot miss the wake-up between its
            // check and its wait.
            let _state = self.lock();
            self.shared.closed.store(true, Ordering::SeqCst);
        }
        self.shared.wake.notify_all();
        self.shared.announce_progress();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The training thread: one step per turn of the lock, requested steps first, then play at
/// the session's pace.
fn train(shared: &Shared) {
    // When the last played step was due; `None` when not playing, so Play steps at once.
    let mut last_due: Option<Instant> = None;
    loop {
        let mut state = shared.lock_state();
        let played_step_due = loop {
            if shared.closed.load(Ordering::SeqCst) {
                return;
            }
            if state.requested > shared.made.load(Ordering::SeqCst) {
                break None;
            }
            if !state.playing {
                last_due = None;
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            let now = Instant::now();
            let pace = state.session.settings().pace;
            // One interval after the last due time, keeping an even rhythm; when more than an
            // interval behind (steps slower than the pace), from now: never a burst.
            let due = match (pace.interval(), last_due) {
                (Some(interval), Some(last)) if last + interval + interval >= now => {
                    last + interval
                }
                _ => now,
            };
            if due <= now {
                break Some(due);
            }
            // Waiting releases the lock; a pause, a new pace or a /step wakes it early.
            state = shared
                .wake
                .wait_timeout(state, due - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        };
        let made = shared.made.load(Ordering::SeqCst);
        let advanced = state.step_runs();
        let mut finished_request = false;
        if state.requested > made {
            let made = if advanced { made + 1 } else { state.requested };
            finished_request = made == state.requested;
            if finished_request {
                state.record_runs();
            }
            shared.made.store(made, Ordering::SeqCst);
        } else if !advanced {
            state.playing = false;
            state.record_runs();
        } else if state.session.records_every_step() {
            state.record_runs();
        }
        if played_step_due.is_some() {
            last_due = played_step_due;
        }
        drop(state);
        if finished_request {
            shared.announce_progress();
        }
        hand_off(shared);
    }
}

/// Lets the requests waiting for the lock take it before the training thread does again
/// (a plain mutex lets the thread that just unlocked win, and a request could wait seconds).
fn hand_off(shared: &Shared) {
    for _ in 0..HAND_OFF_YIELDS {
        if shared.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        std::thread::yield_now();
    }
}
