//! Training: the loop, evaluation, and the per-epoch metrics.

pub mod evaluate;
pub mod metrics;
pub mod trainer;

pub use evaluate::{evaluate, Evaluation};
pub use metrics::EpochRecord;
pub use trainer::{
    EpochTotals, NoObserver, StepProgress, TrainConfig, TrainData, TrainError, TrainSummary,
    Trainer, TrainerState, TrainingObserver,
};
