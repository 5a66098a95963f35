//! A lying IDX header must not make the reader reserve memory for the data it claims: this
//! test binary counts the largest single allocation each thread makes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

use backprop::data::{read_idx_images, read_idx_labels};
use flate2::write::GzEncoder;
use flate2::Compression;

/// The system allocator, recording the largest request of the current thread.
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn record(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// The largest allocation `run` makes on this thread.
fn largest_allocation_of(run: impl FnOnce()) -> usize {
    LARGEST.with(|largest| largest.set(0));
    run();
    LARGEST.with(Cell::get)
}

fn header(sizes: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, sizes.len() as u8];
    for size in sizes {
        bytes.extend_from_slice(&size.to_be_bytes());
    }
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// No allocation while reading a lying file may exceed this (buffers of the reader and
/// decompressor, error strings); the headers below claim gigabytes.
const SMALL: usize = 1 << 20;

#[test]
fn lying_raw_headers_allocate_little() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let mut bytes = header(&[1_000_000, 1000, 1000]);
    bytes.resize(100, 0);
    std::fs::write(&images, &bytes).unwrap();
    let labels = dir.path().join("labels");
    let mut bytes = header(&[u32::MAX]);
    bytes.resize(100, 0);
    std::fs::write(&labels, &bytes).unwrap();

    let largest = largest_allocation_of(|| {
        assert!(read_idx_images(&images).is_err());
        assert!(read_idx_labels(&labels).is_err());
    });
    assert!(largest < SMALL, "largest allocation {largest} bytes");
}

#[test]
fn lying_gzip_headers_allocate_little() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images.gz");
    let mut claim = header(&[1_000_000, 1000, 1000]);
    claim.resize(100, 0);
    std::fs::write(&images, gzip(&claim)).unwrap();
    let labels = dir.path().join("labels.gz");
    let mut claim = header(&[u32::MAX]);
    claim.resize(100, 0);
    std::fs::write(&labels, gzip(&claim)).unwrap();

    let largest = largest_allocation_of(|| {
        assert!(read_idx_images(&images).is_err());
        assert!(read_idx_labels(&labels).is_err());
    });
    assert!(largest < SMALL, "largest allocation {largest} bytes");
}

#[test]
fn an_honest_file_allocates_its_data_once() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let mut bytes = header(&[16, 250, 250]);
    bytes.resize(16 + 1_000_000, 3);
    std::fs::write(&images, &bytes).unwrap();
    let largest = largest_allocation_of(|| {
        let read = read_idx_images(&images).unwrap();
        assert_eq!(read.pixels.len(), 1_000_000);
    });
    assert_eq!(largest, 1_000_000);
}
