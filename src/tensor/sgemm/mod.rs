//! This crate's own single-precision matrix product: the loop nest of BLIS (Goto's
//! algorithm) over packed operands, around a register-blocked kernel written for each vector
//! instruction set: [`avx512`] (`12 x 32`, AVX-512F) and [`avx2`] (`6 x 16`, AVX2 with FMA:
//! AMD Zen, Intel since Haswell).
//!
//! Why not only the GEMM crate: on this workload's products (256x784x256 and 256x256x784 per
//! training step) `faer` reached about two thirds of what the CPU's FMA units can do (see
//! `docs/decisions.md`). The kernels here are the textbook ones and close that gap:
//!
//! - **Register block.** `C[MR x NR]` lives in vector registers for the whole inner loop.
//!   Each step of the loop over `k` loads one row of the packed `B` panel (two vectors),
//!   broadcasts `MR` values of the packed `A` panel and issues `2 MR` fused multiply-adds, so
//!   both FMA ports stay busy and the loads fit in the load ports.
//! - **Packing.** `B` is copied into panels of `NR` columns, laid out in the order the kernel
//!   reads them, whatever the strides of the original (a transposed operand is read in place
//!   and packed, never transposed in a separate pass). A row-major `A` (the batch `X` of
//!   `X W1ᵀ`) is not packed at all: the kernel broadcasts from its `MR` rows where they
//!   are (on AVX-512, up to a `B` of 1024 columns; a wider one reads them often enough
//!   that a packed copy is faster). Any other `A`, and the last rows of a row-major one that do not fill a register
//!   block, are copied into panels of `MR` rows. A row-major `B` used by at most two
//!   register blocks of `A` (`dW2 = dOᵀ H`) is read in place as well. Ragged edges are
//!   padded with zeros, so the kernel has one shape; its stores are masked.
//! - **Cache blocks.** A packed `A` block of `MC x KC` stays in L2; one `KC x NR` panel of
//!   `B` stays in L1 while the kernel walks down the packed `A` block.
//! - **Narrow products.** `O = H W2ᵀ` with ten classes would fill ten of a panel's `NR`
//!   columns; it runs as blocks of dot products of rows instead, with no packing.
//!
//! Every output element is summed in the same order on every run (`k` ascending, in blocks of
//! `KC`), so results are bit-identical for the same shapes and instruction set, however the
//! output is split over threads.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;

use super::isa::Isa;
use std::cell::RefCell;

/// The largest depth of a packed block of any kernel ([`RegisterKernel::KC`]): the packing
/// buffers are allocated for it, before training ([`prepare_thread`]).
const MAX_KC: usize = 512;
/// The largest depth of a wide product's packed block ([`RegisterKernel::WIDE_KC`]): a
/// thread's buffers grow to it the first time it computes such a product.
const MAX_WIDE_KC: usize = 1024;
/// Rows of `A` packed at a time (a multiple of every kernel's `MR`).
const MC: usize = 96;
/// Columns of `B` packed at a time (a multiple of every kernel's `NR`).
const NC: usize = 1024;
/// Floats in a 64-byte cache line.
const LINE: usize = 16;

/// The widest output that a kernel's narrow product computes: `C = A Bᵀ` with `B` of at
/// most this many rows (the output layer's 10 classes).
pub const NARROW: usize = 16;

/// A read-only matrix given by a pointer and strides (in elements): element `(i, j)` is at
/// `ptr + i * row_stride + j * col_stride`.
#[derive(Clone, Copy, Debug)]
pub struct StridedMatrix {
    /// Address of element `(0, 0)`.
    pub ptr: *const f32,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance between consecutive rows.
    pub row_stride: usize,
    /// Distance between consecutive columns.
    pub col_stride: usize,
}

impl StridedMatrix {
    #[inline(always)]
    unsafe fn at(&self, i: usize, j: usize) -> *const f32 {
        self.ptr.add(i * self.row_stride + j * self.col_stride)
    }
}

/// One instruction set's register block, and the packing and narrow product that go with it.
///
/// Every function is `unsafe`: it may only be called on a CPU that has the instruction set,
/// with pointers valid for the sizes described.
trait RegisterKernel {
    /// Rows of the register block.
    const MR: usize;
    /// Columns of the register block.
    const NR: usize;
    /// Depth of one packed block (the `k` extent kept in cache), at most [`MAX_KC`]: a
    /// `KC x NR` panel of `B` and the `MR x KC` values of `A` it meets should fit in L1 or
    /// stream from L2 at the kernel's pace.
    const KC: usize;
    /// Depth of a packed block in a product wider than [`Self::IN_PLACE_A_MAX_COLUMNS`] (at
    /// most [`MAX_WIDE_KC`]): fewer passes over a large `C`.
    const WIDE_KC: usize;
    /// The widest `B` (columns) for which a row-major `A` is read in place rather than
    /// packed: beyond it, the rows of `A`, read again for every panel of `B`, are faster
    /// from a packed copy.
    const IN_PLACE_A_MAX_COLUMNS: usize;

    /// `C[rows x cols] = A_panel · B_panel + addend` over `kc` steps, `C` held in registers.
    #[allow(clippy::too_many_arguments)]
    unsafe fn micro_kernel(
        kc: usize,
        a: RowsOfA,
        b: ColumnsOfB,
        c: *mut f32,
        ldc: usize,
        rows: usize,
        cols: usize,
        addend: Addend,
    );

    /// Copies rows `i0 .. i0 + mc`, columns `p0 .. p0 + kc` of `a` into panels of `MR` rows:
    /// panel `r` holds, for each `p`, the `MR` values of column `p` (zeros below the last row).
    unsafe fn pack_a(dst: *mut f32, a: StridedMatrix, i0: usize, mc: usize, p0: usize, kc: usize);

    /// Copies rows `p0 .. p0 + kc`, columns `j0 .. j0 + nc` of `b` into panels of `NR`
    /// columns: panel `j` holds, for each `p`, the `NR` values of row `p` (zeros past the
    /// last column).
    unsafe fn pack_b(dst: *mut f32, b: StridedMatrix, p0: usize, kc: usize, j0: usize, nc: usize);

    /// `C = A B + addend` where the rows of `A` and the columns of `B` are contiguous and `B`
    /// has at most [`NARROW`] columns: blocks of dot products of rows, no packing.
    unsafe fn narrow_product(
        a: StridedMatrix,
        b: StridedMatrix,
        c: *mut f32,
        ldc: usize,
        addend: Addend,
    );
}

/// What a product adds to `A B` before it stores a block of `C`.
#[derive(Clone, Copy, Debug)]
pub enum Addend {
    /// Nothing: `C = A B`.
    Nothing,
    /// `C`'s own values: `C += A B`.
    Output,
    /// `scale · S` for a matrix `S` of `C`'s shape at `ptr`, rows `ld` apart:
    /// `C = A B + scale S`. The product is rounded before the sum, so the result has the bits
    /// of storing `scale S` first and accumulating `A B` onto it. The weight gradient
    /// `dW = dZᵀ X + λ W` (4.7.11, 4.7.14) takes its decay term this way, in the same pass.
    Scaled {
        /// The first element of `S`.
        ptr: *const f32,
        /// The distance between two rows of `S`, in elements.
        ld: usize,
        /// The factor of `S`.
        scale: f32,
    },
}

impl Addend {
    /// The addend of the block of `C` that starts at row `i`, column `j`.
    ///
    /// # Safety
    /// `(i, j)` must lie inside `S` (for [`Addend::Scaled`]).
    #[inline(always)]
    unsafe fn at(self, i: usize, j: usize) -> Addend {
        match self {
            Addend::Scaled { ptr, ld, scale } => Addend::Scaled {
                ptr: ptr.add(i * ld + j),
                ld,
                scale,
            },
            other => other,
        }
    }

    /// `value` plus this addend at `out` (row `i`, column `j` of the block), for one element.
    ///
    /// # Safety
    /// `out` and the element `(i, j)` of `S` must be readable.
    #[inline(always)]
    unsafe fn add_to(self, value: f32, out: *const f32, i: usize, j: usize) -> f32 {
        match self {
            Addend::Nothing => value,
            Addend::Output => value + *out,
            Addend::Scaled { ptr, ld, scale } => value + scale * *ptr.add(i * ld + j),
        }
    }
}

/// Where the micro-kernel reads its `MR` rows of `A`.
#[derive(Clone, Copy)]
enum RowsOfA {
    /// A packed panel: the `MR` values of column `p` at `p * MR`.
    Packed(*const f32),
    /// The first of `MR` rows, `row_stride` apart, of a row-major matrix.
    InPlace(*const f32, usize),
}

/// Where the micro-kernel reads its `NR` columns of `B`.
#[derive(Clone, Copy)]
enum ColumnsOfB {
    /// A packed panel: the `NR` values of row `p` at `p * NR`.
    Packed(*const f32),
    /// The first of `NR` columns of a row-major matrix whose rows are `row_stride` apart.
    InPlace(*const f32, usize),
}

impl ColumnsOfB {
    /// The address of the panel's first row and the distance between its rows, for a kernel
    /// of `nr` columns.
    #[inline(always)]
    fn start_and_step(self, nr: usize) -> (*const f32, usize) {
        match self {
            ColumnsOfB::Packed(start) => (start, nr),
            ColumnsOfB::InPlace(start, row_stride) => (start, row_stride),
        }
    }
}

/// The packing buffers of one thread, aligned to cache lines: allocated once for blocks of
/// depth [`MAX_KC`], grown once to [`MAX_WIDE_KC`] by the first wide product.
struct PackingBuffers {
    storage: Vec<f32>,
    /// The deepest block the buffers hold.
    depth: usize,
}

impl PackingBuffers {
    fn new() -> Self {
        PackingBuffers {
            storage: vec![0.0; Self::len_for(MAX_KC)],
            depth: MAX_KC,
        }
    }

    /// Floats for an `MC x depth` block of `A`, a `depth x NC` block of `B` and the
    /// alignment.
    fn len_for(depth: usize) -> usize {
        MC * depth + depth * NC + LINE
    }

    /// The `A` and `B` buffers for blocks of depth `kc` (at most [`MAX_WIDE_KC`]), both
    /// starting on a cache line.
    fn split(&mut self, kc: usize) -> (*mut f32, *mut f32) {
        if kc > self.depth {
            self.storage = vec![0.0; Self::len_for(MAX_WIDE_KC)];
            self.depth = MAX_WIDE_KC;
        }
        let base = self.storage.as_mut_ptr();
        let misalignment = (base as usize / 4) % LINE;
        let offset = (LINE - misalignment) % LINE;
        // SAFETY: `offset < LINE` and the storage holds `len_for(depth)` floats.
        unsafe {
            let a = base.add(offset);
            (a, a.add(MC * self.depth))
        }
    }
}

thread_local! {
    static BUFFERS: RefCell<Option<PackingBuffers>> = const { RefCell::new(None) };
}

/// Allocates this thread's packing buffers if it has none yet, so that later products on it
/// allocate nothing.
pub fn prepare_thread() {
    BUFFERS.with(|cell| {
        cell.borrow_mut().get_or_insert_with(PackingBuffers::new);
    });
}

/// `C = A B + addend` for `A: m x k`, `B: k x n` (any strides) and `C: m x n` row-major with
/// row stride `ldc`, on the current thread, by the kernel for `isa`.
///
/// # Safety
/// `isa` must be [`Isa::Avx512`] or [`Isa::Avx2`] and run on this CPU ([`Isa::runs_here`]);
/// `a` and `b` must describe readable matrices with `a.cols == b.rows`; `c` must point to
/// `a.rows` rows of `b.cols` writable floats, `ldc` apart, that overlap neither operand; an
/// [`Addend::Scaled`] must describe a readable `m x n` matrix that does not overlap `C`.
pub unsafe fn sgemm(
    isa: Isa,
    a: StridedMatrix,
    b: StridedMatrix,
    c: *mut f32,
    ldc: usize,
    addend: Addend,
) {
    BUFFERS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let buffers = slot.get_or_insert_with(PackingBuffers::new);
        // SAFETY: forwarded from the caller; the buffers have the sizes the blocks need.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => blocked_product::<avx512::Avx512>(a, b, c, ldc, addend, buffers),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => blocked_product::<avx2::Avx2>(a, b, c, ldc, addend, buffers),
                _ => unreachable!("{isa:?} has no product kernel"),
            }
        }
    })
}

/// The loop nest: blocks of `NC` columns, `KC` depths and `MC` rows, then register blocks.
unsafe fn blocked_product<K: RegisterKernel>(
    a: StridedMatrix,
    b: StridedMatrix,
    c: *mut f32,
    ldc: usize,
    addend: Addend,
    buffers: &mut PackingBuffers,
) {
    // The buffers hold the kernel's blocks, and its blocks are whole register blocks.
    const {
        assert!(K::KC <= MAX_KC && K::KC <= K::WIDE_KC && K::WIDE_KC <= MAX_WIDE_KC);
        assert!(MC.is_multiple_of(K::MR) && NC.is_multiple_of(K::NR));
    };
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            for j in 0..n {
                let out = c.add(i * ldc + j);
                *out = addend.add_to(0.0, out, i, j);
            }
        }
        return;
    }
    if n <= NARROW && a.col_stride == 1 && b.row_stride == 1 {
        K::narrow_product(a, b, c, ldc, addend);
        return;
    }
    let (mr, nr) = (K::MR, K::NR);
    // Blocks of equal size (rounded up to whole panels), so that no pass is a thin remainder:
    // k = 784 runs as four passes of 196, not three of 256 and one of 16.
    let nc_step = even_block(n, NC, nr);
    // A wide product (the 2048³ one) has a `C` far beyond L2: deeper blocks pass over it
    // fewer times.
    let wide = n > K::IN_PLACE_A_MAX_COLUMNS;
    let kc_step = even_block(k, if wide { K::WIDE_KC } else { K::KC }, 1);
    let (packed_a, packed_b) = buffers.split(kc_step);
    let mc_step = even_block(m, MC, mr);
    // A row-major `A` needs no packing: the kernel broadcasts from its rows as they are,
    // which saves transposing it (`X W1ᵀ`), up to the width of `B` where the kernel's
    // reads of `MR` rows at once cost more than a packed copy.
    let a_in_place = a.col_stride == 1 && n <= K::IN_PLACE_A_MAX_COLUMNS;
    // A row-major `B` that only a register block or two of `A` use (`dW2 = dOᵀ H`, ten rows)
    // is read in place too: packing it would copy it to read the copy once.
    let b_in_place = b.col_stride == 1 && m <= 2 * mr;
    for jc in (0..n).step_by(nc_step) {
        let nc = nc_step.min(n - jc);
        for pc in (0..k).step_by(kc_step) {
            let kc = kc_step.min(k - pc);
            // The first block of `k` adds the addend; the later ones add to what it stored.
            let add = if pc == 0 { addend } else { Addend::Output };
            // Whole panels of an in-place `B` are read where they are; the rest is packed.
            let b_direct = if b_in_place { nc - nc % nr } else { 0 };
            if b_direct < nc {
                K::pack_b(packed_b, b, pc, kc, jc + b_direct, nc - b_direct);
            }
            for ic in (0..m).step_by(mc_step) {
                let mc = mc_step.min(m - ic);
                // Rows of `A` read in place (whole register blocks of a row-major `A`); the
                // rest is packed, from the start of the buffer.
                let in_place = if a_in_place { mc - mc % mr } else { 0 };
                if in_place < mc {
                    K::pack_a(packed_a, a, ic + in_place, mc - in_place, pc, kc);
                }
                for jr in (0..nc).step_by(nr) {
                    let panel_b = if jr < b_direct {
                        ColumnsOfB::InPlace(b.at(pc, jc + jr), b.row_stride)
                    } else {
                        ColumnsOfB::Packed(packed_b.add((jr - b_direct) * kc))
                    };
                    let cols = nr.min(nc - jr);
                    for ir in (0..in_place).step_by(mr) {
                        let rows = RowsOfA::InPlace(a.at(ic + ir, pc), a.row_stride);
                        let out = c.add((ic + ir) * ldc + jc + jr);
                        let add = add.at(ic + ir, jc + jr);
                        K::micro_kernel(kc, rows, panel_b, out, ldc, mr, cols, add);
                    }
                    for ir in (in_place..mc).step_by(mr) {
                        let panel_a = RowsOfA::Packed(packed_a.add((ir - in_place) * kc));
                        let out = c.add((ic + ir) * ldc + jc + jr);
                        let (rows, add) = (mr.min(mc - ir), add.at(ic + ir, jc + jr));
                        K::micro_kernel(kc, panel_a, panel_b, out, ldc, rows, cols, add);
                    }
                }
            }
        }
    }
}

/// The size of the blocks that cover `extent` in as few blocks of at most `limit` as
/// possible, all equal up to a multiple of `unit` (`limit` is itself a multiple of `unit`).
fn even_block(extent: usize, limit: usize, unit: usize) -> usize {
    let blocks = extent.div_ceil(limit);
    extent.div_ceil(blocks).next_multiple_of(unit).min(limit)
}

/// The walk of a narrow product over its output in blocks of `R x C`: `dots(a_rows, b_cols)`
/// returns the `R x C` dot products of `R` rows of `A` with `C` columns of `B` (each
/// contiguous, `a.cols` long). Past the last row (column), a block re-reads the last one and
/// its extra sums are dropped.
#[inline(always)]
unsafe fn narrow_blocks<const R: usize, const C: usize>(
    a: StridedMatrix,
    b: StridedMatrix,
    c: *mut f32,
    ldc: usize,
    addend: Addend,
    mut dots: impl FnMut([*const f32; R], [*const f32; C]) -> [[f32; C]; R],
) {
    let (m, n) = (a.rows, b.cols);
    for i0 in (0..m).step_by(R) {
        let rows = R.min(m - i0);
        for j0 in (0..n).step_by(C) {
            let cols = C.min(n - j0);
            let a_rows = std::array::from_fn(|r| a.at(i0 + r.min(rows - 1), 0));
            let b_cols = std::array::from_fn(|j| b.at(0, j0 + j.min(cols - 1)));
            for (r, row) in dots(a_rows, b_cols).iter().enumerate().take(rows) {
                for (j, &value) in row.iter().enumerate().take(cols) {
                    let out = c.add((i0 + r) * ldc + j0 + j);
                    *out = addend.add_to(value, out, i0 + r, j0 + j);
                }
            }
        }
    }
}

/// Copies rows `i0 .. i0 + mc`, columns `p0 .. p0 + kc` of `a` into panels of `mr` rows, one
/// element at a time, for the layouts a kernel does not vectorise (a row-major `A`'s last
/// rows, which do not fill a register block, and arbitrary strides): panel `r` holds, for
/// each `p`, the `mr` values of column `p`, zeros below the last row.
unsafe fn pack_a_elementwise(
    dst: *mut f32,
    a: StridedMatrix,
    mr: usize,
    (i0, mc): (usize, usize),
    (p0, kc): (usize, usize),
) {
    for ir in (0..mc).step_by(mr) {
        let rows = mr.min(mc - ir);
        let panel = dst.add(ir * kc);
        for p in 0..kc {
            for r in 0..mr {
                *panel.add(p * mr + r) = if r < rows {
                    *a.at(i0 + ir + r, p0 + p)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Copies rows `p0 .. p0 + kc`, columns `j0 .. j0 + nc` of `b` into panels of `nr` columns,
/// one element at a time, for strides a kernel does not vectorise: panel `j` holds, for each
/// `p`, the `nr` values of row `p`, zeros past the last column. That is the `A` panel layout
/// of `Bᵀ`.
unsafe fn pack_b_elementwise(
    dst: *mut f32,
    b: StridedMatrix,
    nr: usize,
    (p0, kc): (usize, usize),
    (j0, nc): (usize, usize),
) {
    let transposed = StridedMatrix {
        rows: b.cols,
        cols: b.rows,
        row_stride: b.col_stride,
        col_stride: b.row_stride,
        ..b
    };
    pack_a_elementwise(dst, transposed, nr, (j0, nc), (p0, kc));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instruction sets this crate has a product kernel for, on this CPU, widest first:
    /// [`Isa::Avx512`] and [`Isa::Avx2`] when the CPU has them ([`Isa::Baseline`] has none).
    fn kernels_here() -> impl Iterator<Item = Isa> {
        Isa::available()
            .into_iter()
            .filter(|&isa| isa != Isa::Baseline)
    }

    fn filled(rows: usize, cols: usize, salt: f64) -> Vec<f64> {
        (0..rows * cols)
            .map(|i| ((i / cols * 31 + i % cols * 17) as f64 * salt).sin())
            .collect()
    }

    /// Every kernel this CPU runs, on every layout of `A` and `B` (row-major, transposed and
    /// neither, i.e. strided), ragged edges in each dimension, both write modes, against an
    /// f64 product; and every kernel gives the same result as a second call (no state).
    #[test]
    fn every_available_kernel_matches_an_f64_product_on_every_layout() {
        let shapes = [
            (1, 1, 1),
            (5, 3, 17),
            (6, 16, 16),
            (7, 9, 15),
            (13, 7, 33),
            (12, 32, 32),
            (12, 3, 40),
            (24, 5, 64),
            (25, 300, 17),
            (10, 256, 256),
            (256, 10, 256),
            (256, 256, 10),
            (11, 37, 5),
            (30, 1000, 16),
            (97, 600, 1100),
            (3, 0, 5),
        ];
        let isas: Vec<Isa> = kernels_here().collect();
        for &isa in &isas {
            for &(m, k, n) in &shapes {
                check_layouts(isa, m, k, n);
            }
        }
        eprintln!("kernels tested on this CPU: {isas:?}");
    }

    /// The strides of an `rows x cols` matrix stored row-major, column-major, or with every
    /// element two apart in a buffer twice as long (neither contiguous).
    fn layouts(rows: usize, cols: usize) -> [(&'static str, usize, usize, usize); 3] {
        [
            ("row-major", cols, 1, rows * cols),
            ("column-major", 1, rows, rows * cols),
            ("strided", 2 * cols, 2, 2 * rows * cols),
        ]
    }

    fn stored(
        values: &[f64],
        cols: usize,
        row_stride: usize,
        col_stride: usize,
        len: usize,
    ) -> Vec<f32> {
        let mut out = vec![f32::NAN; len];
        for (index, &v) in values.iter().enumerate() {
            out[index / cols * row_stride + index % cols * col_stride] = v as f32;
        }
        out
    }

    fn check_layouts(isa: Isa, m: usize, k: usize, n: usize) {
        let a = filled(m, k, 0.3);
        let b = filled(k, n, 0.7);
        let want: Vec<f64> = (0..m * n)
            .map(|i| (0..k).map(|p| a[i / n * k + p] * b[p * n + i % n]).sum())
            .collect();
        let ldc = n + 3;
        let start: Vec<f32> = (0..m * ldc).map(|i| (i % 5) as f32).collect();
        for (a_name, a_rs, a_cs, a_len) in layouts(m, k) {
            let a_store = stored(&a, k, a_rs, a_cs, a_len);
            for (b_name, b_rs, b_cs, b_len) in layouts(k, n) {
                let b_store = stored(&b, n, b_rs, b_cs, b_len);
                let a_view = StridedMatrix {
                    ptr: a_store.as_ptr(),
                    rows: m,
                    cols: k,
                    row_stride: a_rs,
                    col_stride: a_cs,
                };
                let b_view = StridedMatrix {
                    ptr: b_store.as_ptr(),
                    rows: k,
                    cols: n,
                    row_stride: b_rs,
                    col_stride: b_cs,
                };
                // `S` of the scaled addend, with its own row stride.
                let lds = n + 1;
                let addend_matrix: Vec<f32> = (0..m * lds)
                    .map(|i| (i as f32 * 0.77).sin() * 3.0)
                    .collect();
                let scale = 0.37f32;
                let addends = [
                    ("nothing", Addend::Nothing),
                    ("output", Addend::Output),
                    (
                        "scaled",
                        Addend::Scaled {
                            ptr: addend_matrix.as_ptr(),
                            ld: lds,
                            scale,
                        },
                    ),
                ];
                for (addend_name, addend) in addends {
                    let mut c = start.clone();
                    // SAFETY: `isa` is available; the views, `c` and `S` have the sizes given.
                    unsafe { sgemm(isa, a_view, b_view, c.as_mut_ptr(), ldc, addend) };
                    let mut again = start.clone();
                    unsafe { sgemm(isa, a_view, b_view, again.as_mut_ptr(), ldc, addend) };
                    assert_eq!(c, again, "{isa:?} is not deterministic");
                    if let Addend::Scaled { .. } = addend {
                        // The same bits as storing `scale S` and accumulating onto it.
                        let mut stored_first = start.clone();
                        for i in 0..m {
                            for j in 0..n {
                                stored_first[i * ldc + j] = scale * addend_matrix[i * lds + j];
                            }
                        }
                        let out = stored_first.as_mut_ptr();
                        unsafe { sgemm(isa, a_view, b_view, out, ldc, Addend::Output) };
                        assert_eq!(c, stored_first, "{isa:?} {m}x{k}x{n} scaled addend");
                    }
                    for i in 0..m {
                        for j in 0..ldc {
                            let got = c[i * ldc + j] as f64;
                            let base = start[i * ldc + j] as f64;
                            if j >= n {
                                assert_eq!(got, base, "{isa:?} wrote past column {n}");
                                continue;
                            }
                            let added = match addend {
                                Addend::Nothing => 0.0,
                                Addend::Output => base,
                                Addend::Scaled { .. } => {
                                    (scale * addend_matrix[i * lds + j]) as f64
                                }
                            };
                            let expected = want[i * n + j] + added;
                            assert!(
                                (got - expected).abs()
                                    <= 1e-5 * (k as f64).sqrt() * (1.0 + expected.abs()),
                                "{isa:?} {m}x{k}x{n}, A {a_name}, B {b_name}, addend \
                                 {addend_name}, at ({i}, {j}): {got} vs {expected}"
                            );
                        }
                    }
                }
            }
        }
    }
}
