//! Training: the loop, evaluation, the per-epoch metrics, and gradient diagnostics.

pub(crate) mod awake;
pub mod evaluate;
pub mod grad_stats;
pub mod metrics;
pub mod trainer;

pub use evaluate::{evaluate, Evaluation};
pub use metrics::EpochRecord;
pub use trainer::{
    EpochTotals, NoObserver, StepOutcome, StepProgress, TrainConfig, TrainData, TrainError,
    TrainSummary, Trainer, TrainerState, TrainingObserver, SHUFFLE_SEED_MIX,
};
