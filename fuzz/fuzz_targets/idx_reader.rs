//! Fuzzes the IDX reader: any bytes, raw or gzip, as an image file and as a label file.
//! The reader must return `Ok` or an error, never panic, and never reserve more memory than
//! the bytes can hold (libFuzzer's `-rss_limit_mb` catches an oversized allocation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    let path = Path::new("fuzzed.idx");
    if let Ok(images) = backprop::data::decode_idx_images(bytes, path) {
        assert_eq!(
            images.pixels.len(),
            images.count * images.rows * images.cols
        );
    }
    let _ = backprop::data::decode_idx_labels(bytes, path);
});
