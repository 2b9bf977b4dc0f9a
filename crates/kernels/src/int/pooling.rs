//! AVERAGE_POOL_2D and MAX_POOL_2D on int8 / uint8 / int16.
//!
//! Reproduces `reference_integer_ops::AveragePool` (sum in `int64`, division rounding half
//! away from zero over the *valid* taps only) and `reference_integer_ops::MaxPool`, with the
//! clamp range from `CalculateActivationRangeQuantized`. Input and output share quantization
//! parameters (TFLite requires it for int8).

use super::{
    activation_range, check_len, compute_out_size_and_padding, invalid, numel, FusedActivation,
    Padding, QParams, QuantInt,
};

/// Builtin options of a pooling op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Padding scheme.
    pub padding: Padding,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Window height.
    pub filter_h: usize,
    /// Window width.
    pub filter_w: usize,
    /// Fused activation.
    pub activation: FusedActivation,
}

/// Prepared pooling parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolParams {
    /// Input shape `[N, H, W, C]`.
    pub input_shape: [usize; 4],
    /// Output shape `[N, OH, OW, C]`.
    pub output_shape: [usize; 4],
    /// Window `(h, w)`.
    pub filter: (usize, usize),
    /// Stride `(h, w)`.
    pub stride: (usize, usize),
    /// Leading padding `(top, left)`.
    pub pad: (usize, usize),
    /// Quantized activation clamp.
    pub act_min: i32,
    /// Quantized activation clamp.
    pub act_max: i32,
}

impl PoolParams {
    /// Prepares a pooling op on element type `T` (`output` gives the activation range).
    pub fn prepare<T: QuantInt>(
        options: PoolOptions,
        input_shape: [usize; 4],
        output: QParams,
    ) -> crate::Result<Self> {
        output.check::<T>("pool output")?;
        let [n, h, w, c] = input_shape;
        let (oh, ph) = compute_out_size_and_padding(
            options.padding,
            h,
            options.filter_h,
            options.stride_h,
            1,
        )?;
        let (ow, pw) = compute_out_size_and_padding(
            options.padding,
            w,
            options.filter_w,
            options.stride_w,
            1,
        )?;
        let (act_min, act_max) = activation_range::<T>(options.activation, output)?;
        Ok(Self {
            input_shape,
            output_shape: [n, oh, ow, c],
            filter: (options.filter_h, options.filter_w),
            stride: (options.stride_h, options.stride_w),
            pad: (ph, pw),
            act_min,
            act_max,
        })
    }

    fn check<T>(&self, input: &[T], output: &[T]) -> crate::Result<()> {
        check_len("pool input", input.len(), numel(&self.input_shape)?)?;
        check_len("pool output", output.len(), numel(&self.output_shape)?)?;
        if self.input_shape[0] != self.output_shape[0]
            || self.input_shape[3] != self.output_shape[3]
        {
            return invalid("pool: inconsistent prepared shapes");
        }
        Ok(())
    }

    /// Valid window `[start, end)` along one axis (TFLite's `filter_*_start/end`).
    #[inline]
    fn window(o: usize, stride: usize, pad: usize, filter: usize, size: usize) -> (usize, usize) {
        let origin = (o * stride) as isize - pad as isize;
        let start = (-origin).max(0) as usize;
        let end = (filter as isize).min(size as isize - origin).max(0) as usize;
        (start, end.max(start))
    }

    fn for_each_window<T: QuantInt>(
        &self,
        input: &[T],
        output: &mut [T],
        mut f: impl FnMut(&mut dyn Iterator<Item = T>) -> Option<i32>,
    ) -> crate::Result<()> {
        self.check(input, output)?;
        let [batches, in_h, in_w, depth] = self.input_shape;
        let [_, out_h, out_w, _] = self.output_shape;
        for b in 0..batches {
            for oy in 0..out_h {
                let (ys, ye) = Self::window(oy, self.stride.0, self.pad.0, self.filter.0, in_h);
                let iy0 = (oy * self.stride.0) as isize - self.pad.0 as isize;
                for ox in 0..out_w {
                    let (xs, xe) = Self::window(ox, self.stride.1, self.pad.1, self.filter.1, in_w);
                    let ix0 = (ox * self.stride.1) as isize - self.pad.1 as isize;
                    for c in 0..depth {
                        let mut it = (ys..ye).flat_map(|fy| {
                            let iy = (iy0 + fy as isize) as usize;
                            (xs..xe).map(move |fx| {
                                let ix = (ix0 + fx as isize) as usize;
                                input[((b * in_h + iy) * in_w + ix) * depth + c]
                            })
                        });
                        let Some(v) = f(&mut it) else {
                            return invalid("pool: empty window");
                        };
                        output[((b * out_h + oy) * out_w + ox) * depth + c] =
                            T::from_i32(v.clamp(self.act_min, self.act_max));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `reference_integer_ops::AveragePool`: mean of the valid taps, rounded half away from zero.
/// Fails (like TFLite's `return false`) when a window has no valid tap.
pub fn average_pool<T: QuantInt>(
    p: &PoolParams,
    input: &[T],
    output: &mut [T],
) -> crate::Result<()> {
    p.for_each_window(input, output, |it| {
        let mut acc: i64 = 0;
        let mut count: i64 = 0;
        for v in it {
            acc += v.to_i32() as i64;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        // C++ integer division truncates toward zero, as does Rust's.
        let avg = if acc > 0 {
            (acc + count / 2) / count
        } else {
            (acc - count / 2) / count
        };
        Some(avg.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
    })
}

/// `reference_integer_ops::MaxPool`.
pub fn max_pool<T: QuantInt>(p: &PoolParams, input: &[T], output: &mut [T]) -> crate::Result<()> {
    p.for_each_window(input, output, |it| {
        Some(it.map(|v| v.to_i32()).max().unwrap_or(T::MIN))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_and_max() {
        let opts = PoolOptions {
            padding: Padding::Same,
            stride_h: 2,
            stride_w: 2,
            filter_h: 2,
            filter_w: 2,
            activation: FusedActivation::None,
        };
        let p = PoolParams::prepare::<i8>(opts, [1, 3, 3, 1], QParams::new(0.1, 0)).unwrap();
        assert_eq!(p.output_shape, [1, 2, 2, 1]);
        let input = [1i8, 2, 3, 4, 5, 6, -7, -8, -10];
        let mut out = [0i8; 4];
        average_pool(&p, &input, &mut out).unwrap();
        // (1+2+4+5)/4 = 3; (3+6)/2 = 4.5 -> 5; (-7-8)/2 = -7.5 -> -8; -10.
        assert_eq!(out, [3, 5, -8, -10]);
        max_pool(&p, &input, &mut out).unwrap();
        assert_eq!(out, [5, 6, -7, -10]);
        let p = PoolParams::prepare::<i8>(
            PoolOptions {
                activation: FusedActivation::Relu,
                ..opts
            },
            [1, 3, 3, 1],
            QParams::new(0.1, -9),
        )
        .unwrap();
        max_pool(&p, &input, &mut out).unwrap();
        assert_eq!(out, [5, 6, -7, -9]);
    }
}
