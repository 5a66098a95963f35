//! This crate's own single-precision matrix product for CPUs with AVX-512: one 12 x 32
//! register-blocked kernel over packed operands, in the loop nest of BLIS (Goto's algorithm).
//!
//! Why not only the GEMM crate: on this workload's products (256x784x256 and 256x256x784 per
//! training step) `faer` reached about two thirds of what the CPU's two FMA units can do,
//! which is where PyTorch's oneDNN/MKL kernels sit (see `docs/decisions.md`). The kernel here
//! is the textbook one for AVX-512 and closes that gap:
//!
//! - **Register block.** `C[12 x 32]` lives in 24 `zmm` registers for the whole inner loop.
//!   Each step of the loop over `k` loads one row of the packed `B` panel (two vectors),
//!   broadcasts twelve values of the packed `A` panel and issues 24 fused multiply-adds, so
//!   both FMA ports stay busy and the loads fit in the load ports.
//! - **Packing.** `B` is copied into panels of 32 columns, laid out in the order the kernel
//!   reads them, whatever the strides of the original (a transposed operand is read in place
//!   and packed, never transposed in a separate pass). A row-major `A` (the batch `X` of
//!   `X W1ᵀ`) is not packed at all: the kernel broadcasts from its twelve rows where they
//!   are. Any other `A`, and the last rows of a row-major one that do not fill a register
//!   block, are copied into panels of 12 rows. A row-major `B` used by at most two register
//!   blocks of `A` (`dW2 = dOᵀ H`) is read in place as well. Ragged edges are padded with
//!   zeros, so the kernel has one shape; its stores are masked.
//! - **Cache blocks.** A packed `B` block of `KC x NC` stays in L2; one `KC x 32` panel of it
//!   stays in L1 while the kernel walks down the packed `A` block.
//!
//! Every output element is summed in the same order on every run (`k` ascending, in blocks of
//! `KC`), so results are bit-identical for the same shapes, however the output is split over
//! threads.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of the register block.
pub const MR: usize = 12;
/// Columns of the register block: two 16-lane vectors.
pub const NR: usize = 32;
/// Depth of one packed block (the `k` extent kept in cache).
const KC: usize = 256;
/// Rows of `A` packed at a time.
const MC: usize = 96;
/// Columns of `B` packed at a time.
const NC: usize = 1024;
/// Products with at most this many rows read a row-major `B` in place (see
/// `blocked_product`).
const B_IN_PLACE_ROWS: usize = 2 * MR;
/// Floats in a 64-byte cache line.
const LINE: usize = 16;

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

/// Whether this CPU runs the kernel (AVX-512 Foundation).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The packing buffers of one thread, allocated once at their largest size and aligned to
/// cache lines.
struct PackingBuffers {
    storage: Vec<f32>,
}

impl PackingBuffers {
    const A_LEN: usize = MC * KC;
    const B_LEN: usize = KC * NC;

    fn new() -> Self {
        PackingBuffers {
            storage: vec![0.0; Self::A_LEN + Self::B_LEN + LINE],
        }
    }

    /// The `A` and `B` buffers, both starting on a cache line.
    fn split(&mut self) -> (*mut f32, *mut f32) {
        let base = self.storage.as_mut_ptr();
        let misalignment = (base as usize / 4) % LINE;
        let offset = (LINE - misalignment) % LINE;
        // SAFETY: `offset < LINE` and the storage holds `A_LEN + B_LEN + LINE` floats.
        unsafe {
            let a = base.add(offset);
            (a, a.add(Self::A_LEN))
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

/// `C (=|+=) A B` for `A: m x k`, `B: k x n` (any strides) and `C: m x n` row-major with row
/// stride `ldc`, on the current thread.
///
/// # Safety
/// The CPU must support AVX-512F ([`available`]); `a` and `b` must describe readable
/// matrices with `a.cols == b.rows`; `c` must point to `a.rows` rows of `b.cols` writable
/// floats, `ldc` apart, that overlap neither operand.
pub unsafe fn sgemm(a: StridedMatrix, b: StridedMatrix, c: *mut f32, ldc: usize, accumulate: bool) {
    BUFFERS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let buffers = slot.get_or_insert_with(PackingBuffers::new);
        let (packed_a, packed_b) = buffers.split();
        // SAFETY: forwarded from the caller; the buffers have the sizes the blocks need.
        unsafe { blocked_product(a, b, c, ldc, accumulate, packed_a, packed_b) }
    })
}

/// The widest output that `narrow_product` computes: `C = A Bᵀ` with `B` of at most this
/// many rows (the output layer's 10 classes).
pub const NARROW: usize = 16;

/// Rows of `A` (and of `B`) per block of [`narrow_product`].
const DOT_BLOCK: usize = 4;

#[target_feature(enable = "avx512f")]
unsafe fn blocked_product(
    a: StridedMatrix,
    b: StridedMatrix,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    packed_a: *mut f32,
    packed_b: *mut f32,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::ptr::write_bytes(c.add(i * ldc), 0, n);
            }
        }
        return;
    }
    if n <= NARROW && a.col_stride == 1 && b.row_stride == 1 {
        narrow_product(a, b, c, ldc, accumulate);
        return;
    }
    // Blocks of equal size (rounded up to whole panels), so that no pass is a thin remainder:
    // k = 784 runs as four passes of 196, not three of 256 and one of 16.
    let nc_step = even_block(n, NC, NR);
    let kc_step = even_block(k, KC, 1);
    let mc_step = even_block(m, MC, MR);
    // A row-major `A` needs no packing: the kernel broadcasts from its rows as they are,
    // which saves transposing it (`X W1ᵀ`) and costs nothing in the kernel.
    let a_in_place = a.col_stride == 1;
    // A row-major `B` that only a register block or two of `A` use (`dW2 = dOᵀ H`, ten rows)
    // is read in place too: packing it would copy it to read the copy once.
    let b_in_place = b.col_stride == 1 && m <= B_IN_PLACE_ROWS;
    for jc in (0..n).step_by(nc_step) {
        let nc = nc_step.min(n - jc);
        for pc in (0..k).step_by(kc_step) {
            let kc = kc_step.min(k - pc);
            let add = accumulate || pc > 0;
            // Whole panels of an in-place `B` are read where they are; the rest is packed.
            let b_direct = if b_in_place { nc - nc % NR } else { 0 };
            if b_direct < nc {
                pack_b(packed_b, b, pc, kc, jc + b_direct, nc - b_direct);
            }
            for ic in (0..m).step_by(mc_step) {
                let mc = mc_step.min(m - ic);
                // Rows of `A` read in place (whole register blocks of a row-major `A`); the
                // rest is packed, from the start of the buffer.
                let in_place = if a_in_place { mc - mc % MR } else { 0 };
                if in_place < mc {
                    pack_a(packed_a, a, ic + in_place, mc - in_place, pc, kc);
                }
                for jr in (0..nc).step_by(NR) {
                    let panel_b = if jr < b_direct {
                        ColumnsOfB::InPlace(b.at(pc, jc + jr), b.row_stride)
                    } else {
                        ColumnsOfB::Packed(packed_b.add((jr - b_direct) * kc))
                    };
                    let cols = NR.min(nc - jr);
                    for ir in (0..in_place).step_by(MR) {
                        let rows = RowsOfA::InPlace(a.at(ic + ir, pc), a.row_stride);
                        let out = c.add((ic + ir) * ldc + jc + jr);
                        micro_kernel(kc, rows, panel_b, out, ldc, MR, cols, add);
                    }
                    for ir in (in_place..mc).step_by(MR) {
                        let rows = RowsOfA::Packed(packed_a.add((ir - in_place) * kc));
                        let out = c.add((ic + ir) * ldc + jc + jr);
                        micro_kernel(kc, rows, panel_b, out, ldc, MR.min(mc - ir), cols, add);
                    }
                }
            }
        }
    }
}

/// `C (=|+=) A B` where the rows of `A` and the columns of `B` are contiguous and `B` has
/// few columns (`O = H W2ᵀ`: 10 classes): dot products of rows, 4 x 4 at a time, with no
/// packing. The panel kernel would pack all of `A` to fill 10 of its 32 columns.
#[target_feature(enable = "avx512f")]
unsafe fn narrow_product(
    a: StridedMatrix,
    b: StridedMatrix,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    for i0 in (0..m).step_by(DOT_BLOCK) {
        let rows = DOT_BLOCK.min(m - i0);
        for j0 in (0..n).step_by(DOT_BLOCK) {
            let cols = DOT_BLOCK.min(n - j0);
            // Past the last row (column), the block re-reads the last one and drops the sums.
            let a_rows: [*const f32; DOT_BLOCK] =
                std::array::from_fn(|r| a.at(i0 + r.min(rows - 1), 0));
            let b_cols: [*const f32; DOT_BLOCK] =
                std::array::from_fn(|j| b.at(0, j0 + j.min(cols - 1)));
            let mut sums = [[_mm512_setzero_ps(); DOT_BLOCK]; DOT_BLOCK];
            for p in (0..k).step_by(LINE) {
                let mask = lanes(LINE.min(k - p));
                let a_vectors = a_rows.map(|row| _mm512_maskz_loadu_ps(mask, row.add(p)));
                let b_vectors = b_cols.map(|col| _mm512_maskz_loadu_ps(mask, col.add(p)));
                for (row_sums, &a_vector) in sums.iter_mut().zip(&a_vectors) {
                    for (sum, &b_vector) in row_sums.iter_mut().zip(&b_vectors) {
                        *sum = _mm512_fmadd_ps(a_vector, b_vector, *sum);
                    }
                }
            }
            for (r, row_sums) in sums.iter().enumerate().take(rows) {
                let mut values = [0.0f32; DOT_BLOCK];
                _mm_storeu_ps(values.as_mut_ptr(), horizontal_sums(*row_sums));
                for (j, &value) in values.iter().enumerate().take(cols) {
                    let out = c.add((i0 + r) * ldc + j0 + j);
                    *out = if accumulate { *out + value } else { value };
                }
            }
        }
    }
}

/// The sums of the 16 lanes of each of four vectors, as one 4-lane vector: the four
/// reductions share their shuffles (halves added, then three horizontal adds), a third of
/// the work of four separate reductions. The order of the additions is fixed.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn horizontal_sums(vectors: [__m512; DOT_BLOCK]) -> __m128 {
    let halves = vectors.map(|v| {
        let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), high)
    });
    let pairs01 = _mm256_hadd_ps(halves[0], halves[1]);
    let pairs23 = _mm256_hadd_ps(halves[2], halves[3]);
    let quads = _mm256_hadd_ps(pairs01, pairs23);
    _mm_add_ps(
        _mm256_castps256_ps128(quads),
        _mm256_extractf128_ps::<1>(quads),
    )
}

/// The size of the blocks that cover `extent` in as few blocks of at most `limit` as
/// possible, all equal up to a multiple of `unit` (`limit` is itself a multiple of `unit`).
fn even_block(extent: usize, limit: usize, unit: usize) -> usize {
    let blocks = extent.div_ceil(limit);
    extent.div_ceil(blocks).next_multiple_of(unit).min(limit)
}

/// Copies rows `i0 .. i0 + mc`, columns `p0 .. p0 + kc` of `a` into panels of [`MR`] rows:
/// panel `r` holds, for each `p`, the `MR` values of column `p` (zeros below the last row).
#[target_feature(enable = "avx512f")]
unsafe fn pack_a(dst: *mut f32, a: StridedMatrix, i0: usize, mc: usize, p0: usize, kc: usize) {
    if a.row_stride == 1 {
        // Column-major source (a transposed row-major matrix, `dZᵀ`): each column of a panel
        // is contiguous; the columns are copied in the order they lie in memory.
        for p in 0..kc {
            let column = a.at(i0, p0 + p);
            for ir in (0..mc).step_by(MR) {
                let mask: __mmask16 = (1u16 << MR.min(mc - ir)) - 1;
                let values = _mm512_maskz_loadu_ps(mask, column.add(ir));
                _mm512_mask_storeu_ps(dst.add(ir * kc + p * MR), PANEL_A_LANES, values);
            }
        }
        return;
    }
    for ir in (0..mc).step_by(MR) {
        let rows = MR.min(mc - ir);
        let panel = dst.add(ir * kc);
        if a.col_stride == 1 {
            // Row-major source: transposed 16 columns at a time.
            for p in (0..kc).step_by(LINE) {
                let width = LINE.min(kc - p);
                let mut tile = [_mm512_setzero_ps(); LINE];
                for (r, vector) in tile.iter_mut().enumerate().take(rows) {
                    *vector = _mm512_maskz_loadu_ps(lanes(width), a.at(i0 + ir + r, p0 + p));
                }
                transpose_16x16(&mut tile);
                for (t, column) in tile.iter().enumerate().take(width) {
                    _mm512_mask_storeu_ps(panel.add((p + t) * MR), PANEL_A_LANES, *column);
                }
            }
        } else {
            for p in 0..kc {
                for r in 0..MR {
                    *panel.add(p * MR + r) = if r < rows {
                        *a.at(i0 + ir + r, p0 + p)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// The lanes of a vector that hold one column of an `A` panel.
const PANEL_A_LANES: __mmask16 = (1 << MR) - 1;

/// The mask of the first `count <= 16` lanes.
#[inline(always)]
fn lanes(count: usize) -> __mmask16 {
    ((1u32 << count) - 1) as __mmask16
}

/// Copies rows `p0 .. p0 + kc`, columns `j0 .. j0 + nc` of `b` into panels of [`NR`]
/// columns: panel `j` holds, for each `p`, the `NR` values of row `p` (zeros past the last
/// column).
#[target_feature(enable = "avx512f")]
unsafe fn pack_b(dst: *mut f32, b: StridedMatrix, p0: usize, kc: usize, j0: usize, nc: usize) {
    if b.col_stride == 1 {
        // Row-major source: copied row by row, in the order it lies in memory (which the
        // prefetchers follow), each row spread over the panels.
        for p in 0..kc {
            let row = b.at(p0 + p, j0);
            for jr in (0..nc).step_by(NR) {
                let (mask0, mask1) = lane_masks(NR.min(nc - jr));
                let low = _mm512_maskz_loadu_ps(mask0, row.add(jr));
                let high = _mm512_maskz_loadu_ps(mask1, row.add(jr + LINE));
                let panel_row = dst.add(jr * kc + p * NR);
                _mm512_storeu_ps(panel_row, low);
                _mm512_storeu_ps(panel_row.add(LINE), high);
            }
        }
        return;
    }
    for jr in (0..nc).step_by(NR) {
        let cols = NR.min(nc - jr);
        let panel = dst.add(jr * kc);
        if b.row_stride == 1 {
            // A transposed source, whose columns are contiguous: transposed 16 x 16 at a time.
            for half in (0..NR).step_by(LINE) {
                let valid = LINE.min(cols.saturating_sub(half));
                for p in (0..kc).step_by(LINE) {
                    let width = LINE.min(kc - p);
                    let mut tile = [_mm512_setzero_ps(); LINE];
                    for (j, vector) in tile.iter_mut().enumerate().take(valid) {
                        *vector =
                            _mm512_maskz_loadu_ps(lanes(width), b.at(p0 + p, j0 + jr + half + j));
                    }
                    transpose_16x16(&mut tile);
                    for (t, row) in tile.iter().enumerate().take(width) {
                        _mm512_storeu_ps(panel.add((p + t) * NR + half), *row);
                    }
                }
            }
        } else {
            for p in 0..kc {
                for j in 0..NR {
                    *panel.add(p * NR + j) = if j < cols {
                        *b.at(p0 + p, j0 + jr + j)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// Transposes the 16 x 16 matrix whose rows are the 16 vectors, in registers: two rounds of
/// in-lane shuffles transpose each 4 x 4 block, two rounds of lane shuffles move the blocks.
#[target_feature(enable = "avx512f")]
unsafe fn transpose_16x16(rows: &mut [__m512; LINE]) {
    let r = *rows;
    let mut t = [_mm512_setzero_ps(); LINE];
    for pair in 0..8 {
        t[2 * pair] = _mm512_unpacklo_ps(r[2 * pair], r[2 * pair + 1]);
        t[2 * pair + 1] = _mm512_unpackhi_ps(r[2 * pair], r[2 * pair + 1]);
    }
    let mut u = [_mm512_setzero_ps(); LINE];
    for quad in 0..4 {
        let q = 4 * quad;
        u[q] = _mm512_shuffle_ps::<0x44>(t[q], t[q + 2]);
        u[q + 1] = _mm512_shuffle_ps::<0xee>(t[q], t[q + 2]);
        u[q + 2] = _mm512_shuffle_ps::<0x44>(t[q + 1], t[q + 3]);
        u[q + 3] = _mm512_shuffle_ps::<0xee>(t[q + 1], t[q + 3]);
    }
    // u[4g + c] holds, for row block g (rows 4g .. 4g + 4), element c of each 4-column lane.
    let mut v = [_mm512_setzero_ps(); LINE];
    for c in 0..4 {
        v[c] = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
        v[4 + c] = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]);
        v[8 + c] = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
        v[12 + c] = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
    }
    for c in 0..4 {
        rows[c] = _mm512_shuffle_f32x4::<0x88>(v[c], v[8 + c]);
        rows[4 + c] = _mm512_shuffle_f32x4::<0x88>(v[4 + c], v[12 + c]);
        rows[8 + c] = _mm512_shuffle_f32x4::<0xdd>(v[c], v[8 + c]);
        rows[12 + c] = _mm512_shuffle_f32x4::<0xdd>(v[4 + c], v[12 + c]);
    }
}

/// The lane masks of the two vectors of a row of `cols <= 32` valid columns.
#[inline(always)]
fn lane_masks(cols: usize) -> (__mmask16, __mmask16) {
    let bits = if cols >= NR {
        u32::MAX
    } else {
        (1u32 << cols) - 1
    };
    (bits as u16, (bits >> 16) as u16)
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
    /// The address of the panel's first row and the distance between its rows.
    #[inline(always)]
    fn start_and_step(self) -> (*const f32, usize) {
        match self {
            ColumnsOfB::Packed(start) => (start, NR),
            ColumnsOfB::InPlace(start, row_stride) => (start, row_stride),
        }
    }
}

/// `C[rows x cols] (=|+=) A_panel · B_panel` over `kc` steps, with `C` held in 24 registers.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn micro_kernel(
    kc: usize,
    a: RowsOfA,
    b: ColumnsOfB,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    let mut sums = [[_mm512_setzero_ps(); 2]; MR];
    let (mut b, b_step) = b.start_and_step();
    match a {
        RowsOfA::Packed(mut a) => {
            for _ in 0..kc {
                let b0 = _mm512_loadu_ps(b);
                let b1 = _mm512_loadu_ps(b.add(LINE));
                for (r, row) in sums.iter_mut().enumerate() {
                    let value = _mm512_set1_ps(*a.add(r));
                    row[0] = _mm512_fmadd_ps(value, b0, row[0]);
                    row[1] = _mm512_fmadd_ps(value, b1, row[1]);
                }
                a = a.add(MR);
                b = b.add(b_step);
            }
        }
        RowsOfA::InPlace(mut a, row_stride) => {
            for _ in 0..kc {
                let b0 = _mm512_loadu_ps(b);
                let b1 = _mm512_loadu_ps(b.add(LINE));
                for (r, row) in sums.iter_mut().enumerate() {
                    let value = _mm512_set1_ps(*a.add(r * row_stride));
                    row[0] = _mm512_fmadd_ps(value, b0, row[0]);
                    row[1] = _mm512_fmadd_ps(value, b1, row[1]);
                }
                a = a.add(1);
                b = b.add(b_step);
            }
        }
    }
    let (mask0, mask1) = lane_masks(cols);
    for (r, row) in sums.iter().enumerate().take(rows) {
        let out = c.add(r * ldc);
        let (mut low, mut high) = (row[0], row[1]);
        if accumulate {
            low = _mm512_add_ps(low, _mm512_maskz_loadu_ps(mask0, out));
            high = _mm512_add_ps(high, _mm512_maskz_loadu_ps(mask1, out.add(LINE)));
        }
        _mm512_mask_storeu_ps(out, mask0, low);
        _mm512_mask_storeu_ps(out.add(LINE), mask1, high);
    }
}
