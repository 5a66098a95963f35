//! SIGINT (Ctrl-C) and SIGTERM during training: the first one asks the trainer to stop after
//! the current step (it then writes a checkpoint and exits 130 or 143); a second one ends the
//! process at once with the same code (every file is written atomically, so nothing is left
//! half-written either way).

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The stop flag the signal handlers raise, and which signal raised it.
pub struct StopSignals {
    stop: Arc<AtomicBool>,
    received: Arc<AtomicUsize>,
}

/// A signal that stopped training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivedSignal {
    /// `SIGINT` or `SIGTERM`.
    pub name: &'static str,
    /// 128 + the signal number: 130 or 143.
    pub exit_code: u8,
}

impl StopSignals {
    /// Installs the handlers for SIGINT and SIGTERM.
    pub fn install() -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM] {
            // The shutdown is registered first, so it only fires on the second signal.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                exit_code_of(signal).into(),
                Arc::clone(&stop),
            )
            .context("installing the signal handlers")?;
            signal_hook::flag::register_usize(signal, Arc::clone(&received), signal as usize)
                .context("installing the signal handlers")?;
            signal_hook::flag::register(signal, Arc::clone(&stop))
                .context("installing the signal handlers")?;
        }
        Ok(StopSignals { stop, received })
    }

    /// The flag to hand to the trainer.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The signal received so far, if any.
    pub fn received(&self) -> Option<ReceivedSignal> {
        match self.received.load(Ordering::SeqCst) as i32 {
            SIGINT => Some(ReceivedSignal {
                name: "SIGINT",
                exit_code: exit_code_of(SIGINT),
            }),
            SIGTERM => Some(ReceivedSignal {
                name: "SIGTERM",
                exit_code: exit_code_of(SIGTERM),
            }),
            _ => None,
        }
    }
}

fn exit_code_of(signal: i32) -> u8 {
    (128 + signal) as u8
}
