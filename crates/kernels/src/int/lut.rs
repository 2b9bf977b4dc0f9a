//! 256-entry lookup tables for 8-bit element-wise functions.
//!
//! Reproduces TFLite's `LUTPopulateInt8` (`kernels/internal/common.h`): each of the 256 inputs
//! is dequantized in `float`, transformed in `float`, and requantized with `round()` (half away
//! from zero) and truncating conversion; then looked up with `LUTLookup`.

use super::{QParams, QuantInt};

/// A 256-entry table indexed by the raw byte of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lut8 {
    table: [u8; 256],
}

impl Lut8 {
    /// `LUTPopulate<T>` for `T` = `i8` or `u8` with the float transform `f`.
    pub fn populate<T: QuantInt>(input: QParams, output: QParams, f: impl Fn(f32) -> f32) -> Self {
        let mut table = [0u8; 256];
        let inverse_scale = 1.0f32 / output.scale;
        for val in T::MIN..=T::MAX {
            let dequantized = input.scale * (val - input.zero_point) as f32;
            let transformed = f(dequantized);
            let rescaled = (transformed * inverse_scale).round();
            // static_cast<int32_t>(float) truncates; Rust's `as` also saturates NaN/inf.
            let quantized = (rescaled + output.zero_point as f32) as i32;
            let clamped = quantized.clamp(T::MIN, T::MAX);
            table[(val as u8) as usize] = clamped as u8;
        }
        Self { table }
    }

    /// Applies the table to `i8` data.
    pub fn apply_i8(&self, input: &[i8], output: &mut [i8]) -> crate::Result<()> {
        super::check_len("lut output", output.len(), input.len())?;
        for (o, &v) in output.iter_mut().zip(input) {
            *o = self.table[v as u8 as usize] as i8;
        }
        Ok(())
    }

    /// Applies the table to `u8` data.
    pub fn apply_u8(&self, input: &[u8], output: &mut [u8]) -> crate::Result<()> {
        super::check_len("lut output", output.len(), input.len())?;
        for (o, &v) in output.iter_mut().zip(input) {
            *o = self.table[v as usize];
        }
        Ok(())
    }

    /// Raw table (index = input byte).
    pub fn table(&self) -> &[u8; 256] {
        &self.table
    }
}
