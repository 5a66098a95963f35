//! Fuzzes the checkpoint reader: any bytes as a checkpoint, read twice, as they are and
//! resealed with the checksum of their own content (so that the fuzzer also reaches the
//! range checks behind the checksum). It must return a checkpoint or an error, never panic,
//! and never allocate more than the bytes can justify; a checkpoint it accepts must resume
//! and train one more step without panicking.
#![no_main]

use backprop::checkpoint::{content_checksum, parse_checkpoint, CHECKSUM_KEY};
use backprop::data::Dataset;
use backprop::train::{NoObserver, TrainData, Trainer};
use libfuzzer_sys::fuzz_target;
use safetensors::SafeTensors;

/// The bytes with `checkpoint_checksum` set to the checksum of their content, if they are
/// safetensors at all.
fn resealed(bytes: &[u8]) -> Option<Vec<u8>> {
    let (_, header) = SafeTensors::read_metadata(bytes).ok()?;
    let tensors = SafeTensors::deserialize(bytes).ok()?;
    let mut metadata = header.metadata().clone().unwrap_or_default();
    metadata.insert(CHECKSUM_KEY.into(), content_checksum(bytes).ok()?);
    safetensors::serialize(tensors.tensors(), Some(metadata)).ok()
}

/// Resumes an accepted checkpoint on a dataset of the size it records and trains one step.
fn resume_one_step(bytes: &[u8]) {
    let Ok(checkpoint) = parse_checkpoint(bytes) else {
        return;
    };
    let inputs = checkpoint.mlp.config().inputs;
    let samples = checkpoint.data.samples;
    if samples.saturating_mul(inputs) > 1 << 16 {
        return;
    }
    let Ok(train) = Dataset::from_floats(vec![0.5; samples * inputs], vec![0; samples], inputs)
    else {
        return;
    };
    let mut config = checkpoint.config.clone();
    config.max_steps = Some(checkpoint.state.step.saturating_add(1));
    let mut mlp = checkpoint.mlp;
    if let Ok(mut trainer) = Trainer::resume(config, checkpoint.state) {
        let data = TrainData {
            train: &train,
            validation: None,
            test: None,
        };
        let _ = trainer.run(&mut mlp, data, &mut NoObserver);
    }
}

fuzz_target!(|bytes: &[u8]| {
    resume_one_step(bytes);
    if let Some(resealed) = resealed(bytes) {
        resume_one_step(&resealed);
    }
});
