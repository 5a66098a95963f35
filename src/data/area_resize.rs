//! Resizing grey levels by area averaging (a box filter), the one resizer of the crate: each
//! output pixel is the mean of the source pixels under it, each weighted by the fraction of
//! the output pixel's area it covers. `backprop predict` resizes pictures with it, and MNIST
//! framing scales digits into their 20 x 20 box with it.

/// Resizes the `width x height` picture whose pixel at column `x`, row `y` is
/// `pixel(x, y)` to `out_width x out_height` by area averaging; row-major. Each output row
/// sums the source rows under it, each first resized to `out_width` columns, so nothing but
/// the output and one resized row is held, whatever the picture's shape.
pub(crate) fn resize_by_area_averaging(
    width: usize,
    height: usize,
    pixel: impl Fn(usize, usize) -> f64,
    out_width: usize,
    out_height: usize,
) -> Vec<f64> {
    let mut narrowed_row = vec![0.0f64; out_width];
    let mut resized = vec![0.0f64; out_height * out_width];
    for (output_row, resized_row) in resized.chunks_exact_mut(out_width).enumerate() {
        for (row, weight) in area_weights(height, out_height, output_row) {
            // Horizontal pass: the source row resized to `out_width` columns.
            for (column, output) in narrowed_row.iter_mut().enumerate() {
                *output = area_weights(width, out_width, column)
                    .map(|(cell, weight)| weight * pixel(cell, row))
                    .sum();
            }
            // Vertical pass: the narrowed row added in with its weight.
            for (output, &value) in resized_row.iter_mut().zip(&narrowed_row) {
                *output += weight * value;
            }
        }
    }
    resized
}

/// For output cell `output` of `target` cells along one axis, the source cells (of
/// `source`) it overlaps and the fraction of the output cell each covers (the fractions sum
/// to 1).
///
/// Both axes are measured in units of `1 / (source * target)` of the full length, so that
/// source cell `i` spans `[i * target, (i + 1) * target)` and output cell `o` spans
/// `[o * source, (o + 1) * source)`; the overlaps are then exact integers.
pub(crate) fn area_weights(
    source: usize,
    target: usize,
    output: usize,
) -> impl Iterator<Item = (usize, f64)> {
    let (start, end) = (output * source, (output + 1) * source);
    let first = start / target;
    let last = (end - 1) / target;
    (first..=last).filter_map(move |cell| {
        let overlap = end.min((cell + 1) * target) - start.max(cell * target);
        (overlap > 0).then(|| (cell, overlap as f64 / source as f64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_weights_of_each_output_cell_sum_to_one() {
        for (source, target) in [(56, 28), (28, 28), (3, 2), (2, 5), (7, 3), (1, 4), (100, 1)] {
            for output in 0..target {
                let weights: Vec<_> = area_weights(source, target, output).collect();
                let total: f64 = weights.iter().map(|&(_, w)| w).sum();
                assert!(
                    (total - 1.0).abs() < 1e-12,
                    "{source}->{target}: {weights:?}"
                );
                assert!(weights.iter().all(|&(cell, w)| cell < source && w > 0.0));
            }
        }
    }
}
