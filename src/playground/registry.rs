//! The sessions a server holds: at most [`MAX_SESSIONS`], the least recently used one
//! dropped (and its training thread stopped) when a new one would exceed that.

use super::runner::SessionRunner;
use super::session::Session;
use super::settings::{Settings, SettingsError};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The most sessions one server keeps.
pub const MAX_SESSIONS: usize = 8;

/// Sessions by id, most recently used last.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    next_id: u64,
    by_use: VecDeque<(u64, Arc<SessionRunner>)>,
}

impl Registry {
    /// Creates a session for `settings` and returns its id.
    pub fn create(&self, settings: Settings) -> Result<u64, SettingsError> {
        let session = Session::new(settings)?;
        let runner = SessionRunner::start(session)
            .map_err(|error| SettingsError(format!("cannot start a training thread: {error}")))?;
        let evicted;
        let id;
        {
            let mut sessions = self.lock();
            id = sessions.next_id;
            sessions.next_id += 1;
            evicted = if sessions.by_use.len() >= MAX_SESSIONS {
                sessions.by_use.pop_front()
            } else {
                None
            };
            sessions.by_use.push_back((id, Arc::new(runner)));
        }
        drop(evicted);
        Ok(id)
    }

    /// The session `id`, marked as most recently used.
    pub fn get(&self, id: u64) -> Option<Arc<SessionRunner>> {
        let mut sessions = self.lock();
        let position = sessions.by_use.iter().position(|(i, _)| *i == id)?;
        let entry = sessions.by_use.remove(position)?;
        let runner = Arc::clone(&entry.1);
        sessions.by_use.push_back(entry);
        Some(runner)
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.lock().by_use.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
