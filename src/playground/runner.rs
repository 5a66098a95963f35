//! Trains a [`Session`] on its own thread while "play" is on, so the server answers other
//! requests meanwhile: the thread takes the session's lock for a few milliseconds of steps
//! at a time, and sleeps on a condition variable while paused.

use super::session::Session;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the training thread holds the lock before letting requests in.
const SLICE: Duration = Duration::from_millis(8);

/// A session and whether it is playing, behind one lock.
pub struct RunnerState {
    /// The training state.
    pub session: Session,
    /// Whether the background thread should keep stepping.
    pub playing: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<RunnerState>,
    wake: Condvar,
}

/// A session with its background training thread; dropping it stops the thread.
pub struct SessionRunner {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl SessionRunner {
    /// Starts the (paused) training thread for `session`.
    pub fn start(session: Session) -> std::io::Result<SessionRunner> {
        let shared = Arc::new(Shared {
            state: Mutex::new(RunnerState {
                session,
                playing: false,
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("playground-training".to_string())
            .spawn(move || train_while_playing(&for_thread))?;
        Ok(SessionRunner {
            shared,
            thread: Some(thread),
        })
    }

    /// Locks the state (a poisoned lock is recovered: a session stays usable).
    pub fn lock(&self) -> MutexGuard<'_, RunnerState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts or stops the background training.
    pub fn set_playing(&self, playing: bool) {
        self.lock().playing = playing;
        self.shared.wake.notify_all();
    }
}

impl Drop for SessionRunner {
    fn drop(&mut self) {
        self.lock().closed = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn train_while_playing(shared: &Shared) {
    let mut state = shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        while !state.playing && !state.closed {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.closed {
            return;
        }
        let started = Instant::now();
        while started.elapsed() < SLICE {
            if !matches!(state.session.step(), Ok(true)) {
                state.playing = false;
                let _ = state.session.record_now();
                break;
            }
        }
        drop(state);
        std::thread::yield_now();
        state = shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}
