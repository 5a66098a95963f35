//! The register block for CPUs with AVX2 and FMA (AMD Zen, Intel since Haswell): `C[6 x 16]`
//! in 12 of the 16 `ymm` registers (two 8-lane vectors a row), the two vectors of a `B` row
//! and one broadcast value of `A` in three more; the packing and narrow product that go with
//! it. The loop nest around it is [`super`]'s.
//!
//! With two FMA pipes of four cycles' latency, eight independent sums keep both busy; the
//! block's twelve leave a margin. Each step of `k` issues 12 multiply-adds against 8 loads
//! (two of `B`, six broadcasts of `A`), within the three loads a cycle of Zen 3.
//!
//! Masked stores (`vmaskmovps`) are slow on AMD CPUs, so full rows are stored with plain
//! stores and only a ragged edge is written through a mask.

use super::{
    narrow_blocks, pack_a_elementwise, pack_b_elementwise, Addend, ColumnsOfB, RegisterKernel,
    RowsOfA, StridedMatrix,
};
use std::arch::x86_64::*;

/// Rows of the register block.
pub const MR: usize = 6;
/// Columns of the register block: two 8-lane vectors.
pub const NR: usize = 16;
/// `f32` lanes of a `ymm` register.
const LANES: usize = 8;
/// Steps of `k` per iteration of the kernel's loop: the loop's own instructions would
/// otherwise take a fifth of the issue slots.
const UNROLL: usize = 4;

/// Rows of `A` per block of the narrow product.
const DOT_ROWS: usize = 2;
/// Rows of `B` (columns of the output) per block of the narrow product.
const DOT_COLS: usize = 4;

/// The AVX2 kernel, as the loop nest of [`super`] calls it.
pub struct Avx2;

impl RegisterKernel for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;
    /// 384, not the AVX-512 kernel's 256: `k = 784` then runs as three passes of 262 and
    /// `k = 1024` as three of 342 (a 16 KiB – 21 KiB panel of `B` in the 32 KiB L1 of Zen 3),
    /// one pass over `C` fewer. Alternating whole training runs at batch 1024 (2 threads,
    /// median epoch, four A/B runs): 0.402 against 0.423 s, 0.416 against 0.467 s, 0.407
    /// against 0.435 s, 0.404 against 0.394 s; at batch 256 no difference (0.409 against
    /// 0.402 s).
    const KC: usize = 384;
    /// 1024, as the AVX-512 kernel: up to it the in-place rows cost nothing (tuned on AMD
    /// Zen 3), and a wider product packs `A`. Read in place, the 2048³ product's six rows of
    /// `A` lie 8 KiB apart, in one set of the 8-way L1, and evict the panel of `B`: packed,
    /// it ran 1.11x and 1.16x faster on one thread (AMD EPYC Zen 4 with `BACKPROP_ISA=avx2`,
    /// medians of 8 and 10 alternating processes: 80 → 93 and 78 → 87 GFLOP/s). The training
    /// products (at most 1024 columns) are unchanged.
    const IN_PLACE_A_MAX_COLUMNS: usize = 1024;
    /// The same as [`Self::KC`]: deeper blocks for wide products measured no faster (the
    /// 2048³ product on Zen 4, alternating: 768 and 1024 deep 86 and 83 GFLOP/s against 87).
    const WIDE_KC: usize = Self::KC;

    /// `C[rows x cols] = A_panel · B_panel + addend` over `kc` steps, with `C` held in 12
    /// registers.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn micro_kernel(
        kc: usize,
        a: RowsOfA,
        b: ColumnsOfB,
        c: *mut f32,
        ldc: usize,
        rows: usize,
        cols: usize,
        addend: Addend,
    ) {
        // The rows of `C` are read (or written) after the loop: fetched during it, they are in L1
        // when it ends. So are those of a scaled addend, read then too.
        for r in 0..rows {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + NR - 1).cast());
            if let Addend::Scaled { ptr, ld, .. } = addend {
                _mm_prefetch::<_MM_HINT_T0>(ptr.add(r * ld).cast());
                _mm_prefetch::<_MM_HINT_T0>(ptr.add(r * ld + NR - 1).cast());
            }
        }
        let mut sums = [[_mm256_setzero_ps(); 2]; MR];
        let (mut b, b_step) = b.start_and_step(NR);
        // `UNROLL` steps of `k`: rows of `B` times columns of `A`, added to the sums. `$a(r, s)`
        // is the address of row `r`'s value at step `s`, `$advance` moves `A` on by `UNROLL`
        // steps. Every address is a base plus a fixed offset: no step waits for the previous
        // step's pointer arithmetic.
        macro_rules! steps {
            ($count:expr, $unroll:expr, |$r:ident, $s:ident| $a:expr, |$n:ident| $advance:expr) => {
                for _ in 0..$count {
                    for $s in 0..$unroll {
                        let b0 = _mm256_loadu_ps(b.add($s * b_step));
                        let b1 = _mm256_loadu_ps(b.add($s * b_step + LANES));
                        for ($r, row) in sums.iter_mut().enumerate() {
                            let value = _mm256_broadcast_ss(&*$a);
                            row[0] = _mm256_fmadd_ps(value, b0, row[0]);
                            row[1] = _mm256_fmadd_ps(value, b1, row[1]);
                        }
                    }
                    let $n: usize = $unroll;
                    $advance;
                    b = b.add($unroll * b_step);
                }
            };
        }
        match a {
            RowsOfA::Packed(mut a) => {
                steps!(kc / UNROLL, UNROLL, |r, s| a.add(s * MR + r), |n| a =
                    a.add(n * MR));
                steps!(kc % UNROLL, 1, |r, s| a.add(s * MR + r), |n| a =
                    a.add(n * MR));
            }
            RowsOfA::InPlace(a, row_stride) => {
                // Rows 0-2 and 3-5 from two bases, each a base plus 0, 1 or 2 row strides.
                let (mut top, mut bottom) = (a, a.add(3 * row_stride));
                macro_rules! at {
                    ($r:expr, $s:expr) => {
                        if $r < 3 {
                            top.add($r * row_stride + $s)
                        } else {
                            bottom.add(($r - 3) * row_stride + $s)
                        }
                    };
                }
                macro_rules! advance {
                    ($n:expr) => {{
                        top = top.add($n);
                        bottom = bottom.add($n);
                    }};
                }
                steps!(kc / UNROLL, UNROLL, |r, s| at!(r, s), |n| advance!(n));
                steps!(kc % UNROLL, 1, |r, s| at!(r, s), |n| advance!(n));
            }
        }
        let low = cols.min(LANES);
        // With `high == 0` the second vector's address may lie past the end of `C`; nothing is
        // read or written there, and `wrapping_add` keeps the address itself defined.
        let high = cols - low;
        for (r, row) in sums.iter().enumerate().take(rows) {
            let out = c.add(r * ldc);
            let (mut first, mut second) = (row[0], row[1]);
            match addend {
                Addend::Nothing => {}
                Addend::Output => {
                    first = _mm256_add_ps(first, load_first(out, low));
                    second = _mm256_add_ps(second, load_first(out.wrapping_add(LANES), high));
                }
                Addend::Scaled { ptr, ld, scale } => {
                    // Rounded product, then the sum: the bits of storing `scale S` first.
                    let (scale, src) = (_mm256_set1_ps(scale), ptr.add(r * ld));
                    let s0 = _mm256_mul_ps(scale, load_first(src, low));
                    let s1 = _mm256_mul_ps(scale, load_first(src.wrapping_add(LANES), high));
                    first = _mm256_add_ps(first, s0);
                    second = _mm256_add_ps(second, s1);
                }
            }
            store_first(out, first, low);
            store_first(out.wrapping_add(LANES), second, high);
        }
    }

    /// Copies rows `i0 .. i0 + mc`, columns `p0 .. p0 + kc` of `a` into panels of [`MR`] rows:
    /// panel `r` holds, for each `p`, the `MR` values of column `p` (zeros below the last row).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pack_a(dst: *mut f32, a: StridedMatrix, i0: usize, mc: usize, p0: usize, kc: usize) {
        if a.row_stride != 1 {
            // Row-major `A` is read in place but for its last rows, which do not fill a register
            // block: few, and copied one by one.
            pack_a_elementwise(dst, a, MR, (i0, mc), (p0, kc));
            return;
        }
        // Column-major source (a transposed row-major matrix, `dZᵀ`): each column of a panel is
        // contiguous; the columns are copied in the order they lie in memory, six floats as a
        // vector of four and a pair.
        for p in 0..kc {
            let column = a.at(i0, p0 + p);
            for ir in (0..mc).step_by(MR) {
                let to = dst.add(ir * kc + p * MR);
                let from = column.add(ir);
                let rows = MR.min(mc - ir);
                if rows == MR {
                    _mm_storeu_ps(to, _mm_loadu_ps(from));
                    _mm_storeu_si64(to.add(4).cast(), _mm_loadu_si64(from.add(4).cast()));
                } else {
                    for r in 0..MR {
                        *to.add(r) = if r < rows { *from.add(r) } else { 0.0 };
                    }
                }
            }
        }
    }

    /// Copies rows `p0 .. p0 + kc`, columns `j0 .. j0 + nc` of `b` into panels of [`NR`]
    /// columns: panel `j` holds, for each `p`, the `NR` values of row `p` (zeros past the last
    /// column).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pack_b(dst: *mut f32, b: StridedMatrix, p0: usize, kc: usize, j0: usize, nc: usize) {
        if b.col_stride == 1 {
            // Row-major source: copied row by row, in the order it lies in memory (which the
            // prefetchers follow), each row spread over the panels.
            for p in 0..kc {
                let row = b.at(p0 + p, j0);
                for jr in (0..nc).step_by(NR) {
                    let cols = NR.min(nc - jr);
                    let low = cols.min(LANES);
                    let panel_row = dst.add(jr * kc + p * NR);
                    _mm256_storeu_ps(panel_row, load_first(row.add(jr), low));
                    _mm256_storeu_ps(
                        panel_row.add(LANES),
                        load_first(row.wrapping_add(jr + LANES), cols - low),
                    );
                }
            }
            return;
        }
        if b.row_stride != 1 {
            pack_b_elementwise(dst, b, NR, (p0, kc), (j0, nc));
            return;
        }
        // A transposed source (`W1ᵀ` of `X W1ᵀ`), whose columns are contiguous: transposed
        // 8 x 8 at a time.
        for jr in (0..nc).step_by(NR) {
            let cols = NR.min(nc - jr);
            let panel = dst.add(jr * kc);
            for half in (0..NR).step_by(LANES) {
                let valid = LANES.min(cols.saturating_sub(half));
                for p in (0..kc).step_by(LANES) {
                    let width = LANES.min(kc - p);
                    let mut tile = [_mm256_setzero_ps(); LANES];
                    for (j, vector) in tile.iter_mut().enumerate().take(valid) {
                        *vector = load_first(b.at(p0 + p, j0 + jr + half + j), width);
                    }
                    transpose_8x8(&mut tile);
                    for (t, row) in tile.iter().enumerate().take(width) {
                        _mm256_storeu_ps(panel.add((p + t) * NR + half), *row);
                    }
                }
            }
        }
    }

    /// `C = A B + addend` where the rows of `A` and the columns of `B` are contiguous and `B` has
    /// few columns (`O = H W2ᵀ`: 10 classes): dot products of rows, 2 x 4 at a time (eight sums,
    /// the four `B` vectors and one `A` vector fit in the 16 registers), with no packing. The
    /// panel kernel would pack all of `A` to fill 10 of its 16 columns.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn narrow_product(
        a: StridedMatrix,
        b: StridedMatrix,
        c: *mut f32,
        ldc: usize,
        addend: Addend,
    ) {
        let k = a.cols;
        narrow_blocks(a, b, c, ldc, addend, |a_rows, b_cols| {
            let mut sums = [[_mm256_setzero_ps(); DOT_COLS]; DOT_ROWS];
            for p in (0..k).step_by(LANES) {
                let width = LANES.min(k - p);
                let b_vectors: [__m256; DOT_COLS] = b_cols.map(|col| load_first(col.add(p), width));
                for (row_sums, &row) in sums.iter_mut().zip(&a_rows) {
                    let a_vector = load_first(row.add(p), width);
                    for (sum, &b_vector) in row_sums.iter_mut().zip(&b_vectors) {
                        *sum = _mm256_fmadd_ps(a_vector, b_vector, *sum);
                    }
                }
            }
            sums.map(|row_sums| {
                let mut values = [0.0f32; DOT_COLS];
                _mm_storeu_ps(values.as_mut_ptr(), horizontal_sums(row_sums));
                values
            })
        });
    }
}

/// The mask of the first `count <= 8` lanes, as `vmaskmovps` takes it.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn lanes(count: usize) -> __m256i {
    let index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(count as i32), index)
}

/// The first `count <= 8` floats at `from`, zeros in the other lanes; reads nothing past them.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load_first(from: *const f32, count: usize) -> __m256 {
    if count == LANES {
        _mm256_loadu_ps(from)
    } else {
        _mm256_maskload_ps(from, lanes(count))
    }
}

/// Stores the first `count <= 8` lanes of `values` at `to`; writes nothing past them.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_first(to: *mut f32, values: __m256, count: usize) {
    if count == LANES {
        _mm256_storeu_ps(to, values);
    } else if count > 0 {
        _mm256_maskstore_ps(to, lanes(count), values);
    }
}

/// Transposes the 8 x 8 matrix whose rows are the 8 vectors, in registers: two rounds of
/// in-lane shuffles transpose each 4 x 4 block, one round of lane permutes moves the blocks.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn transpose_8x8(rows: &mut [__m256; LANES]) {
    let r = *rows;
    let mut t = [_mm256_setzero_ps(); LANES];
    for pair in 0..4 {
        t[2 * pair] = _mm256_unpacklo_ps(r[2 * pair], r[2 * pair + 1]);
        t[2 * pair + 1] = _mm256_unpackhi_ps(r[2 * pair], r[2 * pair + 1]);
    }
    // u[4h + c] holds element c of each 4-column lane of rows 4h .. 4h + 4.
    let mut u = [_mm256_setzero_ps(); LANES];
    for half in 0..2 {
        let q = 4 * half;
        u[q] = _mm256_shuffle_ps::<0x44>(t[q], t[q + 2]);
        u[q + 1] = _mm256_shuffle_ps::<0xee>(t[q], t[q + 2]);
        u[q + 2] = _mm256_shuffle_ps::<0x44>(t[q + 1], t[q + 3]);
        u[q + 3] = _mm256_shuffle_ps::<0xee>(t[q + 1], t[q + 3]);
    }
    for c in 0..4 {
        rows[c] = _mm256_permute2f128_ps::<0x20>(u[c], u[4 + c]);
        rows[4 + c] = _mm256_permute2f128_ps::<0x31>(u[c], u[4 + c]);
    }
}

/// The sums of the 8 lanes of each of four vectors, as one 4-lane vector: three horizontal
/// adds shared by the four reductions, then the two halves. The order of the additions is
/// fixed.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn horizontal_sums(vectors: [__m256; DOT_COLS]) -> __m128 {
    let pairs01 = _mm256_hadd_ps(vectors[0], vectors[1]);
    let pairs23 = _mm256_hadd_ps(vectors[2], vectors[3]);
    let quads = _mm256_hadd_ps(pairs01, pairs23);
    _mm_add_ps(
        _mm256_castps256_ps128(quads),
        _mm256_extractf128_ps::<1>(quads),
    )
}
