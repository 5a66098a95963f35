//! How `explain` compares the three ways of computing a gradient: which elements finite
//! differences check ([`checked_indices`]; the differences themselves come from
//! [`crate::nn::gradcheck::central_differences`]), and the [`scaled_difference`] it reports.

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

/// The scaled difference: the largest `|a_i - b_i|` over the given pairs, divided by
/// `scale` (the magnitude of the tensor's largest element). It is scaled by the tensor, not
/// by each element (as [`crate::nn::gradcheck::relative_difference`] is), so that elements
/// near zero do not turn rounding noise into large ratios. 0 when both are 0; infinite when
/// a value is not a number.
pub fn scaled_difference(pairs: impl Iterator<Item = (f64, f64)>, scale: f64) -> f64 {
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
    fn large_tensors_are_sampled_with_their_largest_element() {
        assert_eq!(checked_indices(5, 3), vec![0, 1, 2, 3, 4]);
        let indices = checked_indices(1000, 999);
        assert_eq!(indices.len(), MAX_CHECKED_ELEMENTS + 1);
        assert!(indices.contains(&999) && indices.contains(&0));
    }

    #[test]
    fn differences_are_scaled_by_the_tensor() {
        let pairs = [(1.0, 1.0), (1e-9, 2e-9)];
        assert_eq!(scaled_difference(pairs.into_iter(), 2.0), 0.5e-9);
        assert_eq!(scaled_difference([(0.0, 0.0)].into_iter(), 0.0), 0.0);
    }
}
