//! Fuzzes the model-file loader: any bytes as a safetensors model file. It must return a
//! model or an error, never panic, and never allocate more than the bytes can justify.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(loaded) = backprop::model_file::parse_model(bytes) {
        // A model that loads must also predict without panicking.
        let inputs = loaded.mlp.config().inputs;
        if inputs <= 4096 {
            let x = backprop::tensor::Tensor::zeros(1, inputs);
            let _ = loaded.mlp.predict(&x);
        }
    }
});
