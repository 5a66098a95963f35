//! The sessions and comparisons a server holds: at most [`MAX_SESSIONS`] sessions and
//! [`MAX_COMPARISONS`] comparisons, the least recently used one of its kind dropped (and its
//! training thread stopped) when a new one would exceed that.

use super::comparison;
use super::images::ImageSet;
use super::runner::{SessionRunner, WaitingPlace};
use super::session::Session;
use super::settings::{Settings, SettingsError};
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// The most sessions one server keeps.
pub const MAX_SESSIONS: usize = 8;
/// The most comparisons one server keeps (each trains two networks on one thread).
pub const MAX_COMPARISONS: usize = 4;
/// The most `/step` requests that wait for their steps at once, over all sessions and
/// comparisons (those of sessions already dropped included): half of the server's
/// connections. A waiting request holds one of the server's threads for up to
/// [`super::routes::STEP_PATIENCE`], so without a bound a client that sends many and hangs
/// up would hold every thread for that long and stall everyone else's requests. Each
/// session also has its own bound, [`super::runner::MAX_WAITING_STEP_REQUESTS`].
pub const MAX_WAITING_STEP_REQUESTS: usize = super::server::MAX_CONNECTIONS / 2;

/// Sessions and comparisons by id, most recently used last, and the image dataset the
/// server offers (shared by every session that trains on it).
#[derive(Default)]
pub struct Registry {
    sessions: Held,
    comparisons: Held,
    images: Option<Arc<ImageSet>>,
    /// How many `/step` requests wait for their steps now.
    waiting_steps: AtomicUsize,
}

/// Runners of one kind, most recently used last, at most `cap`.
#[derive(Default)]
struct Held(Mutex<ByUse>);

#[derive(Default)]
struct ByUse {
    next_id: u64,
    by_use: VecDeque<(u64, Arc<SessionRunner>)>,
}

impl Held {
    /// Holds `runner` under a new id, dropping the least recently used beyond `cap`.
    fn insert(&self, runner: SessionRunner, cap: usize) -> u64 {
        let evicted;
        let id;
        {
            let mut held = self.lock();
            id = held.next_id;
            held.next_id += 1;
            evicted = if held.by_use.len() >= cap {
                held.by_use.pop_front()
            } else {
                None
            };
            held.by_use.push_back((id, Arc::new(runner)));
        }
        drop(evicted);
        id
    }

    fn get(&self, id: u64) -> Option<Arc<SessionRunner>> {
        let mut held = self.lock();
        let position = held.by_use.iter().position(|(i, _)| *i == id)?;
        let entry = held.by_use.remove(position)?;
        let runner = Arc::clone(&entry.1);
        held.by_use.push_back(entry);
        Some(runner)
    }

    fn len(&self) -> usize {
        self.lock().by_use.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByUse> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Registry {
    /// An empty registry whose sessions may train on `images` as well as on 2-D points.
    pub fn offering(images: Option<Arc<ImageSet>>) -> Registry {
        Registry {
            images,
            ..Registry::default()
        }
    }

    /// The image dataset offered, if any.
    pub fn images(&self) -> Option<&Arc<ImageSet>> {
        self.images.as_ref()
    }

    /// A place among the `/step` requests that may wait for their steps, or `None` when all
    /// [`MAX_WAITING_STEP_REQUESTS`] are taken (the request then answers at once).
    pub fn step_waiting_place(&self) -> Option<WaitingPlace<'_>> {
        WaitingPlace::take(&self.waiting_steps, MAX_WAITING_STEP_REQUESTS)
    }

    /// Creates a session for `settings` and returns its id.
    pub fn create(&self, settings: Settings) -> Result<u64, SettingsError> {
        let session = Session::create(settings, self.images.as_ref())?;
        let runner = SessionRunner::start(session)
            .map_err(|error| SettingsError(format!("cannot start a training thread: {error}")))?;
        Ok(self.sessions.insert(runner, MAX_SESSIONS))
    }

    /// The session `id`, marked as most recently used.
    pub fn get(&self, id: u64) -> Option<Arc<SessionRunner>> {
        self.sessions.get(id)
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Creates a comparison of `a` and `b` ([`comparison::start`]) and returns its id.
    pub fn create_comparison(&self, a: Settings, b: Settings) -> Result<u64, SettingsError> {
        let runner = comparison::start(a, b)?;
        Ok(self.comparisons.insert(runner, MAX_COMPARISONS))
    }

    /// The comparison `id`, marked as most recently used.
    pub fn get_comparison(&self, id: u64) -> Option<Arc<SessionRunner>> {
        self.comparisons.get(id)
    }

    /// How many comparisons are held.
    pub fn comparisons(&self) -> usize {
        self.comparisons.len()
    }
}
