//! Fused activation clamps (TFLite `ActivationFunctionWithMinMax`).

/// A fused activation range: `y = min(max(x, min), max)`.
///
/// RELU is `[0, ∞)`, RELU6 `[0, 6]`, RELU_N1_TO_1 `[-1, 1]`; "no activation" is
/// [`Clamp::NONE`]. Kernels apply it to every output element after the bias.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clamp {
    pub min: f32,
    pub max: f32,
}

impl Default for Clamp {
    fn default() -> Self {
        Clamp::NONE
    }
}

impl Clamp {
    /// No clamping.
    pub const NONE: Clamp = Clamp {
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };
    /// RELU.
    pub const RELU: Clamp = Clamp {
        min: 0.0,
        max: f32::INFINITY,
    };
    /// RELU6.
    pub const RELU6: Clamp = Clamp { min: 0.0, max: 6.0 };
    /// RELU_N1_TO_1.
    pub const RELU_N1_TO_1: Clamp = Clamp {
        min: -1.0,
        max: 1.0,
    };

    /// A clamp to `[min, max]`.
    pub fn new(min: f32, max: f32) -> Self {
        Clamp { min, max }
    }

    /// True when the clamp never changes a finite value.
    pub fn is_none(self) -> bool {
        self.min == f32::NEG_INFINITY && self.max == f32::INFINITY
    }

    /// Applies the clamp to one value (TFLite order: max with `min`, then min with `max`).
    /// Written as compares and selects (vectorizes to `maxps`/`minps`); NaN passes through.
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        let x = if x < self.min { self.min } else { x };
        if x > self.max {
            self.max
        } else {
            x
        }
    }
}

/// Applies `clamp` to every element of `data`.
pub fn clamp_in_place(data: &mut [f32], clamp: Clamp) {
    if clamp.is_none() {
        return;
    }
    for v in data {
        *v = clamp.apply(*v);
    }
}

/// Adds `bias` to every row of `data` (rows of `bias.len()` elements) and clamps.
/// `bias` empty means no bias. Rows must tile `data` exactly (checked by callers).
pub(crate) fn bias_clamp_rows(data: &mut [f32], bias: &[f32], clamp: Clamp) {
    if bias.is_empty() {
        clamp_in_place(data, clamp);
        return;
    }
    if clamp.is_none() {
        for row in data.chunks_exact_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        return;
    }
    for row in data.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = clamp.apply(*v + b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps() {
        assert_eq!(Clamp::RELU6.apply(7.0), 6.0);
        assert_eq!(Clamp::RELU6.apply(-1.0), 0.0);
        assert_eq!(Clamp::RELU.apply(1e9), 1e9);
        assert_eq!(Clamp::RELU_N1_TO_1.apply(-3.0), -1.0);
        assert!(Clamp::NONE.is_none());
        let mut d = [1.0, -2.0, 3.0, -4.0];
        bias_clamp_rows(&mut d, &[1.0, 1.0], Clamp::RELU);
        assert_eq!(d, [2.0, 0.0, 4.0, 0.0]);
    }
}
