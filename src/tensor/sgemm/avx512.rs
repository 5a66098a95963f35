//! The register block for CPUs with AVX-512: `C[12 x 32]` in 24 `zmm` registers (two
//! 16-lane vectors a row), and the packing and narrow product that go with it. The loop nest
//! around it is [`super`]'s. The block's loop over a packed `A` is written in intrinsics; its
//! loop over the rows of an `A` read in place (`X W1ᵀ`) in inline assembly
//! ([`in_place_loop`], which says why).

use super::{
    narrow_blocks, pack_a_elementwise, pack_b_elementwise, Addend, ColumnsOfB, RegisterKernel,
    RowsOfA, StridedMatrix, LINE,
};
use std::arch::asm;
use std::arch::x86_64::*;

/// Rows of the register block.
pub const MR: usize = 12;
/// Columns of the register block: two 16-lane vectors.
pub const NR: usize = 32;

/// Floats ahead of a transposing pack's reads that it prefetches.
const PACK_AHEAD: usize = 64;

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

    /// `C[rows x cols] = A_panel · B_panel + addend` over `kc` steps, with `C` held in 24
    /// registers.
    #[target_feature(enable = "avx512f")]
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
        // when it ends instead of costing a trip to L3 each (a 2048³ product's `C` is 16 MiB).
        // So are those of a scaled addend, read then too.
        for r in 0..rows {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + NR - 1).cast());
            if let Addend::Scaled { ptr, ld, .. } = addend {
                _mm_prefetch::<_MM_HINT_T0>(ptr.add(r * ld).cast());
                _mm_prefetch::<_MM_HINT_T0>(ptr.add(r * ld + NR - 1).cast());
            }
        }
        let (mut b, b_step) = b.start_and_step(NR);
        let sums = match a {
            RowsOfA::Packed(mut a) => {
                let mut sums = [[_mm512_setzero_ps(); 2]; MR];
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
                sums
            }
            // Assembly, in a function of its own: see there why.
            RowsOfA::InPlace(a, row_stride) => in_place_loop(kc, a, row_stride, b, b_step),
        };
        let (mask0, mask1) = lane_masks(cols);
        for (r, row) in sums.iter().enumerate().take(rows) {
            let out = c.add(r * ldc);
            let (mut low, mut high) = (row[0], row[1]);
            match addend {
                Addend::Nothing => {}
                Addend::Output => {
                    low = _mm512_add_ps(low, _mm512_maskz_loadu_ps(mask0, out));
                    high = _mm512_add_ps(high, _mm512_maskz_loadu_ps(mask1, out.add(LINE)));
                }
                Addend::Scaled { ptr, ld, scale } => {
                    // Rounded product, then the sum: the bits of storing `scale S` first.
                    let (scale, src) = (_mm512_set1_ps(scale), ptr.add(r * ld));
                    let s0 = _mm512_mul_ps(scale, _mm512_maskz_loadu_ps(mask0, src));
                    let s1 = _mm512_mul_ps(scale, _mm512_maskz_loadu_ps(mask1, src.add(LINE)));
                    low = _mm512_add_ps(low, s0);
                    high = _mm512_add_ps(high, s1);
                }
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
                let tile = load_transposed(rows, width, |r| a.at(i0 + ir + r, p0 + p));
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
                    let tile = load_transposed(valid, width, |j| b.at(p0 + p, j0 + jr + half + j));
                    // A full tile's 16 stores with a fixed count, so that the tile stays in
                    // registers; a count known only at run time would put it on the stack.
                    if width == LINE {
                        for (t, row) in tile.iter().enumerate() {
                            _mm512_storeu_ps(panel.add((p + t) * NR + half), *row);
                        }
                    } else {
                        for (t, row) in tile.iter().enumerate().take(width) {
                            _mm512_storeu_ps(panel.add((p + t) * NR + half), *row);
                        }
                    }
                }
            }
        }
    }

    /// `C = A B + addend` where the rows of `A` and the columns of `B` are contiguous and `B` has
    /// few columns (`O = H W2ᵀ`: 10 classes): dot products of rows, 4 x 4 at a time, with no
    /// packing. The panel kernel would pack all of `A` to fill 10 of its 32 columns.
    #[target_feature(enable = "avx512f")]
    unsafe fn narrow_product(
        a: StridedMatrix,
        b: StridedMatrix,
        c: *mut f32,
        ldc: usize,
        addend: Addend,
    ) {
        let k = a.cols;
        narrow_blocks(a, b, c, ldc, addend, |a_rows, b_cols| {
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

/// One step `$s` (0 to 3) of `k` in the register block, as assembly text for
/// [`in_place_loop`]: the row of `B` at `[$b]` (two vectors, `zmm24` and `zmm25`) times
/// each of the 12 values of `A` (broadcast in turn into `zmm26`), added into the
/// accumulators: row `R` of the block in `zmm(2R)` and `zmm(2R + 1)`. Row `r` of `A` is at
/// `{a0} + r {row}` for `r < 5`, `{a5} + (r - 5) {row}` for `r < 10` and `{a10} + (r - 10)
/// {row}` after (`{row3}` is three rows), and its value of step `$s` four bytes a step
/// further: every address is a register plus constants.
#[rustfmt::skip]
macro_rules! in_place_step {
    ($b:literal, $s:literal) => {
        concat!(
            "vmovups zmm24, zmmword ptr [", $b, "]\n",
            "vmovups zmm25, zmmword ptr [", $b, " + 64]\n",
            "vbroadcastss zmm26, dword ptr [{a0} + ", $s, "*4]\n",
            "vfmadd231ps zmm0, zmm24, zmm26\n", "vfmadd231ps zmm1, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a0} + {row} + ", $s, "*4]\n",
            "vfmadd231ps zmm2, zmm24, zmm26\n", "vfmadd231ps zmm3, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a0} + {row}*2 + ", $s, "*4]\n",
            "vfmadd231ps zmm4, zmm24, zmm26\n", "vfmadd231ps zmm5, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a0} + {row3} + ", $s, "*4]\n",
            "vfmadd231ps zmm6, zmm24, zmm26\n", "vfmadd231ps zmm7, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a0} + {row}*4 + ", $s, "*4]\n",
            "vfmadd231ps zmm8, zmm24, zmm26\n", "vfmadd231ps zmm9, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a5} + ", $s, "*4]\n",
            "vfmadd231ps zmm10, zmm24, zmm26\n", "vfmadd231ps zmm11, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a5} + {row} + ", $s, "*4]\n",
            "vfmadd231ps zmm12, zmm24, zmm26\n", "vfmadd231ps zmm13, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a5} + {row}*2 + ", $s, "*4]\n",
            "vfmadd231ps zmm14, zmm24, zmm26\n", "vfmadd231ps zmm15, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a5} + {row3} + ", $s, "*4]\n",
            "vfmadd231ps zmm16, zmm24, zmm26\n", "vfmadd231ps zmm17, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a5} + {row}*4 + ", $s, "*4]\n",
            "vfmadd231ps zmm18, zmm24, zmm26\n", "vfmadd231ps zmm19, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a10} + ", $s, "*4]\n",
            "vfmadd231ps zmm20, zmm24, zmm26\n", "vfmadd231ps zmm21, zmm25, zmm26\n",
            "vbroadcastss zmm26, dword ptr [{a10} + {row} + ", $s, "*4]\n",
            "vfmadd231ps zmm22, zmm24, zmm26\n", "vfmadd231ps zmm23, zmm25, zmm26\n",
        )
    };
}

/// The loop over `k` of the register block for 12 rows of a row-major `A` read in place
/// (`X W1ᵀ`: the batch itself, no packed copy): returns `A[12 x kc] · B[kc x 32]` (row `r`
/// in element `r`), where row `r` of `A` starts at `a + r row_stride` and row `p` of `B` at
/// `b + p b_step`.
///
/// In assembly because the compiler, given the loop in intrinsics, computes the 12 row
/// addresses as a chain of additions (each row's address from the one before) in every
/// step. Here three row pointers and two row distances address all 12 rows
/// (`in_place_step!`), four steps of `k` an iteration at constant offsets, so the only
/// updates are of the pointers once per iteration. Alternating in one process on the Intel
/// Xeon (AVX-512), one thread: `X W1ᵀ` at batch 256, 784-256, 1.06 – 1.09x the intrinsics
/// loop. The same block in assembly for a packed `A` measured 0.97 – 1.00x the compiler's
/// (whose packed loop has no such chain), so that loop stays in intrinsics.
///
/// The accumulators come back in the registers they were summed in (`zmm0` – `zmm23` as
/// outputs), for the caller's stores to `C`. An array that the assembly stores them to
/// instead cannot stay in registers, and sharing one with the packed loop made that loop
/// 2.4x slower on the Intel Xeon; on the AMD EPYC (Zen 4) the register outputs measured
/// 1.009x the array of this function's own (whole training runs, alternating, one thread).
///
/// # Safety
/// The CPU has AVX-512F; the 12 rows of `A` hold `kc` readable floats from `a`, `B` `kc`
/// readable rows of 32 floats.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn in_place_loop(
    kc: usize,
    a: *const f32,
    row_stride: usize,
    b: *const f32,
    b_step: usize,
) -> [[__m512; 2]; MR] {
    // Row `r` of the block is in `sums[2r]` and `sums[2r + 1]`.
    let mut sums: [__m512; 2 * MR] = [_mm512_setzero_ps(); 2 * MR];
    let row = row_stride * size_of::<f32>();
    let b_row = b_step * size_of::<f32>();
    // SAFETY: the caller's rows of `A` and `B` cover every address read (`{a5}` and `{a10}`
    // are rows 5 and 10 of `A`); every vector register the code writes is declared an output
    // (the 24 accumulators) or clobbered.
    asm!(
        "vpxord zmm0, zmm0, zmm0",
        "vpxord zmm1, zmm1, zmm1",
        "vpxord zmm2, zmm2, zmm2",
        "vpxord zmm3, zmm3, zmm3",
        "vpxord zmm4, zmm4, zmm4",
        "vpxord zmm5, zmm5, zmm5",
        "vpxord zmm6, zmm6, zmm6",
        "vpxord zmm7, zmm7, zmm7",
        "vpxord zmm8, zmm8, zmm8",
        "vpxord zmm9, zmm9, zmm9",
        "vpxord zmm10, zmm10, zmm10",
        "vpxord zmm11, zmm11, zmm11",
        "vpxord zmm12, zmm12, zmm12",
        "vpxord zmm13, zmm13, zmm13",
        "vpxord zmm14, zmm14, zmm14",
        "vpxord zmm15, zmm15, zmm15",
        "vpxord zmm16, zmm16, zmm16",
        "vpxord zmm17, zmm17, zmm17",
        "vpxord zmm18, zmm18, zmm18",
        "vpxord zmm19, zmm19, zmm19",
        "vpxord zmm20, zmm20, zmm20",
        "vpxord zmm21, zmm21, zmm21",
        "vpxord zmm22, zmm22, zmm22",
        "vpxord zmm23, zmm23, zmm23",
        // Four steps an iteration.
        "test {fours}, {fours}",
        "jz 3f",
        ".p2align 6",
        "2:",
        in_place_step!("{b}", "0"),
        in_place_step!("{b} + {b_row}", "1"),
        in_place_step!("{b} + {b_row}*2", "2"),
        in_place_step!("{b} + {b_row3}", "3"),
        "add {a0}, 16",
        "add {a5}, 16",
        "add {a10}, 16",
        "lea {b}, [{b} + {b_row}*4]",
        "dec {fours}",
        "jnz 2b",
        // The last `kc % 4` steps, one at a time.
        "3:",
        "test {ones}, {ones}",
        "jz 5f",
        "4:",
        in_place_step!("{b}", "0"),
        "add {a0}, 4",
        "add {a5}, 4",
        "add {a10}, 4",
        "add {b}, {b_row}",
        "dec {ones}",
        "jnz 4b",
        "5:",
        a0 = inout(reg) a => _,
        a5 = inout(reg) a.wrapping_add(5 * row_stride) => _,
        a10 = inout(reg) a.wrapping_add(10 * row_stride) => _,
        row = in(reg) row,
        row3 = in(reg) 3 * row,
        b = inout(reg) b => _,
        b_row = in(reg) b_row,
        b_row3 = in(reg) 3 * b_row,
        fours = inout(reg) kc / 4 => _,
        ones = inout(reg) kc % 4 => _,
        out("zmm0") sums[0], out("zmm1") sums[1], out("zmm2") sums[2], out("zmm3") sums[3],
        out("zmm4") sums[4], out("zmm5") sums[5], out("zmm6") sums[6], out("zmm7") sums[7],
        out("zmm8") sums[8], out("zmm9") sums[9], out("zmm10") sums[10], out("zmm11") sums[11],
        out("zmm12") sums[12], out("zmm13") sums[13], out("zmm14") sums[14], out("zmm15") sums[15],
        out("zmm16") sums[16], out("zmm17") sums[17], out("zmm18") sums[18], out("zmm19") sums[19],
        out("zmm20") sums[20], out("zmm21") sums[21], out("zmm22") sums[22], out("zmm23") sums[23],
        out("zmm24") _, out("zmm25") _, out("zmm26") _,
        options(nostack),
    );
    std::array::from_fn(|r| [sums[2 * r], sums[2 * r + 1]])
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

/// The transpose of a 16 x 16 tile whose row `j < valid` is the `width` floats at `row(j)`
/// (zeros elsewhere): row `t` of the result is column `t` of the tile. A full tile is loaded
/// into registers with no loop (a loop over `valid` rows keeps the tile on the stack), and
/// the cache line `PACK_AHEAD` floats further along each row is prefetched.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load_transposed(
    valid: usize,
    width: usize,
    row: impl Fn(usize) -> *const f32,
) -> [__m512; LINE] {
    let mut tile = if valid == LINE && width == LINE {
        std::array::from_fn(|j| {
            let start = row(j);
            _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(PACK_AHEAD).cast());
            _mm512_loadu_ps(start)
        })
    } else {
        let mut tile = [_mm512_setzero_ps(); LINE];
        for (j, vector) in tile.iter_mut().enumerate().take(valid) {
            *vector = _mm512_maskz_loadu_ps(lanes(width), row(j));
        }
        tile
    };
    transpose_16x16(&mut tile);
    tile
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
