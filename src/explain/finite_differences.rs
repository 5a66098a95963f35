//! Central finite differences in `f64`, and the relative difference that `explain` reports.

/// The step `ε` of the central differences: small enough that the `ε²` truncation error is
/// negligible, large enough that the rounding error `~1e-16 |J| / ε` is too.
pub const STEP: f64 = 1e-5;

/// Tensors up to this many elements are checked element by element in full; larger ones on
/// this many elements spread evenly over the tensor (plus its largest element).
pub const MAX_CHECKED_ELEMENTS: usize = 64;

/// The elements of a tensor of `len` elements that finite differences check: all of them
/// when there are at most [`MAX_CHECKED_ELEMENTS`], else that many spread evenly, plus
/// `largest` (the index of the element of largest magnitude), sorted.
pub fn checked_indices(len: usize, largest: usize) -> Vec<usize> {
    if len <= MAX_CHECKED_ELEMENTS {
        return (0..len).collect();
    }
    let mut indices: Vec<usize> = (0..MAX_CHECKED_ELEMENTS)
        .map(|i| i * len / MAX_CHECKED_ELEMENTS)
        .collect();
    indices.push(largest);
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// The index of the element of largest magnitude (0 for an empty slice).
pub fn index_of_largest(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if v.abs() > values[best].abs() {
            best = i;
        }
    }
    best
}

/// `(f(v + ε e_i) - f(v - ε e_i)) / 2ε` for each `i` of `indices`: the derivative of `f` with
/// respect to element `i` of `v`. `v` is restored exactly after each probe.
pub fn central_differences(
    v: &mut [f64],
    indices: &[usize],
    mut f: impl FnMut(&[f64]) -> f64,
) -> Vec<f64> {
    indices
        .iter()
        .map(|&i| {
            let original = v[i];
            v[i] = original + STEP;
            let plus = f(v);
            v[i] = original - STEP;
            let minus = f(v);
            v[i] = original;
            (plus - minus) / (2.0 * STEP)
        })
        .collect()
}

/// The largest `|a_i - b_i|` over the given pairs, divided by `scale` (the magnitude of the
/// tensor's largest element): a difference relative to the tensor, not to each element, so
/// that elements near zero do not turn rounding noise into large ratios. 0 when both are 0;
/// infinite when a value is not a number.
pub fn relative_difference(pairs: impl Iterator<Item = (f64, f64)>, scale: f64) -> f64 {
    let largest = pairs
        .map(|(a, b)| {
            let difference = (a - b).abs();
            if difference.is_nan() {
                f64::INFINITY
            } else {
                difference
            }
        })
        .fold(0.0, f64::max);
    if largest == 0.0 {
        0.0
    } else if scale == 0.0 {
        f64::INFINITY
    } else {
        largest / scale
    }
}

/// The magnitude of the largest element of either slice.
pub fn scale_of(a: &[f64], b: &[f64]) -> f64 {
    a.iter().chain(b).map(|v| v.abs()).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_differences_of_a_cubic() {
        let mut v = vec![1.0, 2.0, 3.0];
        let d = central_differences(&mut v, &[0, 2], |v| v[0].powi(3) + v[1] * v[2]);
        assert!((d[0] - 3.0).abs() < 1e-8, "{d:?}");
        assert!((d[1] - 2.0).abs() < 1e-8, "{d:?}");
        assert_eq!(v, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn large_tensors_are_sampled_with_their_largest_element() {
        assert_eq!(checked_indices(5, 3), vec![0, 1, 2, 3, 4]);
        let indices = checked_indices(1000, 999);
        assert_eq!(indices.len(), MAX_CHECKED_ELEMENTS + 1);
        assert!(indices.contains(&999) && indices.contains(&0));
    }

    #[test]
    fn differences_are_relative_to_the_tensor_scale() {
        let pairs = [(1.0, 1.0), (1e-9, 2e-9)];
        assert_eq!(relative_difference(pairs.into_iter(), 2.0), 0.5e-9);
        assert_eq!(relative_difference([(0.0, 0.0)].into_iter(), 0.0), 0.0);
    }
}
