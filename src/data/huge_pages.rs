//! Transparent huge pages for the stored samples, which training reads in random order.

use std::mem::MaybeUninit;

/// The size of a huge page on x86-64 Linux.
const HUGE_PAGE: usize = 2 << 20;

/// Asks Linux to back the whole 2 MiB pages inside `memory` with huge pages
/// (`madvise(MADV_HUGEPAGE)`), before anything is written to it. The gather of a batch reads
/// rows scattered over the whole set (47 MB for MNIST's training images): with 4 KiB pages
/// nearly every row needs a page walk, which a prefetch does not hide, while 2 MiB pages keep
/// the whole set within the TLB. A hint only: where the kernel declines (huge pages switched
/// off, other systems), nothing changes but the speed.
pub(crate) fn advise_huge_pages(memory: &mut [MaybeUninit<u8>]) {
    #[cfg(target_os = "linux")]
    {
        let start = (memory.as_ptr() as usize).next_multiple_of(HUGE_PAGE);
        let end = (memory.as_ptr() as usize + memory.len()) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: `start .. end` lies inside `memory`, which this process owns; the advice
            // changes how its pages are backed, never their contents. Its result is not
            // needed: declined advice leaves the memory as it was.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = memory;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Advised memory, large enough to hold whole huge pages, is written and read back as
    /// usual; a slice smaller than a huge page is left alone.
    #[test]
    fn advised_memory_holds_what_is_written_to_it() {
        for len in [0, 100, 3 * HUGE_PAGE + 12_345] {
            let mut data: Vec<u8> = Vec::with_capacity(len);
            advise_huge_pages(data.spare_capacity_mut());
            data.extend((0..len).map(|i| (i % 251) as u8));
            assert_eq!(data.len(), len);
            assert!(data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        }
    }
}
