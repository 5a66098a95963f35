//! The register block for CPUs with AVX-512: `C[12 x 32]` in 24 `zmm` registers (two
//! 16-lane vectors a row), and the packing and narrow product that go with it. The loop nest
//! around it is [`super`]'s.

use super::{
    narrow_blocks, pack_a_elementwise, pack_b_elementwise, ColumnsOfB, RegisterKernel, RowsOfA,
    StridedMatrix, LINE,
};
use std::arch::x86_64::*;

/// Rows of the register block.
pub const MR: usize = 12;
/// Columns of the register block: two 16-lane vectors.
pub const NR: usize = 32;

/// Rows of `A` (and of `B`) per block of the narrow product.
const DOT_BLOCK: usize = 4;

/// The AVX-512 kernel, as the loop nest of [`super`] calls it.
pub struct Avx512;

/// Steps of `k` per iteration of the packed loop: one pointer update per four steps, every
/// address a base plus a fixed offset.
const UNROLL: usize = 4;

impl RegisterKernel for Avx512 {
    const MR: usize = MR;
    const NR: usize = NR;
    /// 512, not 256: one pass over `C` in two fewer on a 2048³ product, whose `C` (16 MiB)
    /// lies beyond L2, and `k = 784` runs as two passes of 392. The `B` panel (392 – 512 rows
    /// of 32, up to 64 KiB) outgrows the 48 KiB L1 and is streamed from L2 without loss.
    /// Alternating in one process (Xeon, AVX-512, one thread, medians of 11 – 15 rounds):
    /// 2048³ 1.04 – 1.10x over 256; the training step's products (784-256-10, batch 64, 256,
    /// 1024) within 2 % of 256.
    const KC: usize = 512;
    /// 1024: a row-major `A` is packed when `B` is wider (the 2048³ product, 1.05 – 1.10x
    /// faster packed, alternating), read in place up to it (`X W1ᵀ` with 256 – 1024 hidden
    /// units: in place and packed within 2 %, in place saving the copy).
    const IN_PLACE_A_MAX_COLUMNS: usize = 1024;
    /// 1024: a 2048³ product in two passes over `C` instead of four, 1.03 – 1.04x
    /// (alternating, 25 rounds); the buffers then grow from 2 to 4 MiB for `B`, which the
    /// training products (at most 1024 columns) never ask for.
    const WIDE_KC: usize = 1024;

    /// `C[rows x cols] (=|+=) A_panel · B_panel` over `kc` steps, with `C` held in 24 registers.
    #[target_feature(enable = "avx512f")]
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
        // The rows of `C` are read (or written) after the loop: fetched during it, they are in L1
        // when it ends instead of costing a trip to L3 each (a 2048³ product's `C` is 16 MiB).
        for r in 0..rows {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + NR - 1).cast());
        }
        let mut sums = [[_mm512_setzero_ps(); 2]; MR];
        let (mut b, b_step) = b.start_and_step(NR);
        match a {
            RowsOfA::Packed(mut a) => {
                // `steps` steps of `k` from the current `a` and `b`, then both moved on.
                macro_rules! steps {
                    ($steps:expr) => {{
                        for s in 0..$steps {
                            let b0 = _mm512_loadu_ps(b.add(s * b_step));
                            let b1 = _mm512_loadu_ps(b.add(s * b_step + LINE));
                            for (r, row) in sums.iter_mut().enumerate() {
                                let value = _mm512_set1_ps(*a.add(s * MR + r));
                                row[0] = _mm512_fmadd_ps(value, b0, row[0]);
                                row[1] = _mm512_fmadd_ps(value, b1, row[1]);
                            }
                        }
                        a = a.add($steps * MR);
                        b = b.add($steps * b_step);
                    }};
                }
                for _ in 0..kc / UNROLL {
                    steps!(UNROLL);
                }
                for _ in 0..kc % UNROLL {
                    steps!(1);
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
        if a.col_stride != 1 {
            pack_a_elementwise(dst, a, MR, (i0, mc), (p0, kc));
            return;
        }
        for ir in (0..mc).step_by(MR) {
            let rows = MR.min(mc - ir);
            let panel = dst.add(ir * kc);
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
        }
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
        if b.row_stride != 1 {
            pack_b_elementwise(dst, b, NR, (p0, kc), (j0, nc));
            return;
        }
        // A transposed source, whose columns are contiguous: transposed 16 x 16 at a time.
        for jr in (0..nc).step_by(NR) {
            let cols = NR.min(nc - jr);
            let panel = dst.add(jr * kc);
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
        let k = a.cols;
        narrow_blocks(a, b, c, ldc, accumulate, |a_rows, b_cols| {
            let mut sums = [[_mm512_setzero_ps(); DOT_BLOCK]; DOT_BLOCK];
            for p in (0..k).step_by(LINE) {
                let mask = lanes(LINE.min(k - p));
                let a_vectors: [__m512; DOT_BLOCK] =
                    a_rows.map(|row| _mm512_maskz_loadu_ps(mask, row.add(p)));
                let b_vectors: [__m512; DOT_BLOCK] =
                    b_cols.map(|col| _mm512_maskz_loadu_ps(mask, col.add(p)));
                for (row_sums, &a_vector) in sums.iter_mut().zip(&a_vectors) {
                    for (sum, &b_vector) in row_sums.iter_mut().zip(&b_vectors) {
                        *sum = _mm512_fmadd_ps(a_vector, b_vector, *sum);
                    }
                }
            }
            sums.map(|row_sums| {
                let mut values = [0.0f32; DOT_BLOCK];
                _mm_storeu_ps(values.as_mut_ptr(), horizontal_sums(row_sums));
                values
            })
        });
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

/// The lanes of a vector that hold one column of an `A` panel.
const PANEL_A_LANES: __mmask16 = (1 << MR) - 1;

/// The mask of the first `count <= 16` lanes.
#[inline(always)]
fn lanes(count: usize) -> __mmask16 {
    ((1u32 << count) - 1) as __mmask16
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
