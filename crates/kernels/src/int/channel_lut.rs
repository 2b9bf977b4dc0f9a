//! Per-channel result tables for 8-bit element-wise ops whose second operand is a constant
//! that repeats along the trailing dimensions (a per-channel vector such as the folded
//! batch-norm multiplier and offset of an unfolded BatchNormalization).
//!
//! With the constant fixed, `out = f(x, k[c])` is a function of the 8-bit `x` and the channel
//! `c` only: [`ChannelLut8::build`] tabulates it per channel by calling the reference
//! arithmetic ([`AddParams::apply`](super::add::AddParams::apply),
//! [`MulParams::apply`](super::mul::MulParams::apply)), so results are bit-identical to the
//! reference kernels by construction. Two such ops in a row with the same channel count
//! compose into one table ([`ChannelLut8::then`]), which evaluates `g(f(x))` in one pass with
//! the same results as running both.

use super::binary_lut::Int8;
use super::check_len;

/// Largest channel count tabulated (256 bytes per channel).
pub const MAX_CHANNELS: usize = 4096;

/// `out[i] = table[i % channels][x[i]]` for one 8-bit type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLut8 {
    channels: usize,
    /// `channels` rows of 256 result bytes, indexed by the input's byte.
    table: Vec<u8>,
}

impl ChannelLut8 {
    /// Tabulates `f(c, x)` (input and result as `i32`; the result is saturated to `T`) for
    /// every channel `c < channels` and every value `x` of `T`.
    ///
    /// Errors when `channels` is 0 or above [`MAX_CHANNELS`].
    pub fn build<T: Int8>(channels: usize, f: impl Fn(usize, i32) -> i32) -> crate::Result<Self> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(crate::KernelError::Invalid(format!(
                "per-channel table: {channels} channels (expected 1 to {MAX_CHANNELS})"
            )));
        }
        let mut table = vec![0u8; channels * 256];
        for (c, row) in table.chunks_exact_mut(256).enumerate() {
            for xb in 0..=255u8 {
                let v = T::saturate(f(c, T::from_byte(xb).to_i32()));
                row[xb as usize] = (v.to_i32() & 0xff) as u8;
            }
        }
        Ok(Self { channels, table })
    }

    /// The channel count (the period of the table along the flattened input).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The table of `next ∘ self` (apply `self`, then `next`), or `None` when the channel
    /// counts differ.
    pub fn then(&self, next: &ChannelLut8) -> Option<ChannelLut8> {
        if next.channels != self.channels {
            return None;
        }
        let table = self
            .table
            .chunks_exact(256)
            .zip(next.table.chunks_exact(256))
            .flat_map(|(a, b)| a.iter().map(move |&y| b[y as usize]))
            .collect();
        Some(ChannelLut8 {
            channels: self.channels,
            table,
        })
    }

    /// Applies the table to `x` in place. Errors when `x.len()` is not a multiple of the
    /// channel count.
    pub fn apply_in_place<T: Int8>(&self, x: &mut [T]) -> crate::Result<()> {
        if !x.len().is_multiple_of(self.channels) {
            return Err(crate::KernelError::Invalid(format!(
                "per-channel table: {} elements is not a whole number of {}-channel pixels",
                x.len(),
                self.channels
            )));
        }
        if self.channels == 1 {
            let row: &[u8; 256] = self.row(0);
            for v in x.iter_mut() {
                *v = T::from_byte(row[v.index() & 0xff]);
            }
            return Ok(());
        }
        for pixel in x.chunks_exact_mut(self.channels) {
            for (v, row) in pixel.iter_mut().zip(self.table.chunks_exact(256)) {
                *v = T::from_byte(row[v.index() & 0xff]);
            }
        }
        Ok(())
    }

    /// Applies the table to `x`, writing `out` (same length).
    pub fn apply<T: Int8>(&self, x: &[T], out: &mut [T]) -> crate::Result<()> {
        check_len("per-channel table output", out.len(), x.len())?;
        out.copy_from_slice(x);
        self.apply_in_place(out)
    }

    fn row(&self, c: usize) -> &[u8; 256] {
        let s = &self.table[c * 256..(c + 1) * 256];
        s.try_into().unwrap_or(&[0u8; 256])
    }
}

#[cfg(test)]
mod tests {
    use super::super::add::{add, AddParams};
    use super::super::mul::{mul, MulParams};
    use super::super::{FusedActivation, QParams};
    use super::*;
    use proptest::prelude::*;

    fn q() -> impl Strategy<Value = QParams> {
        (0.001f32..0.2, -128i32..=127).prop_map(|(s, z)| QParams::new(s, z))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A per-channel MUL then ADD table equals the reference kernels run one after the
        /// other, byte for byte.
        #[test]
        fn composed_table_equals_reference_mul_then_add(
            (qx, qk, qm, qb, qo) in (q(), q(), q(), q(), q()),
            channels in 1usize..40,
            pixels in 1usize..20,
            seed in any::<u64>(),
            sub in any::<bool>(),
            relu in any::<bool>(),
        ) {
            let mut s = seed | 1;
            let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s >> 24) as u8 as i8 };
            let x: Vec<i8> = (0..channels * pixels).map(|_| next()).collect();
            let k: Vec<i8> = (0..channels).map(|_| next()).collect();
            let b: Vec<i8> = (0..channels).map(|_| next()).collect();
            let act = if relu { FusedActivation::Relu } else { FusedActivation::None };
            let pm = MulParams::prepare::<i8>(qx, qk, qm, FusedActivation::None).unwrap();
            let pa = AddParams::prepare::<i8>(qm, qb, qo, act, sub).unwrap();
            let (xs, cs) = (vec![pixels, channels], vec![channels]);
            let mut mid = vec![0i8; x.len()];
            mul(&pm, &x, &xs, &k, &cs, &mut mid).unwrap();
            let mut want = vec![0i8; x.len()];
            add(&pa, &mid, &xs, &b, &cs, &mut want).unwrap();

            let tm = ChannelLut8::build::<i8>(channels, |c, v| pm.apply(v, k[c] as i32)).unwrap();
            let ta = ChannelLut8::build::<i8>(channels, |c, v| pa.apply(v, b[c] as i32)).unwrap();
            let mut got_mid = vec![0i8; x.len()];
            tm.apply(&x, &mut got_mid).unwrap();
            prop_assert_eq!(&got_mid, &mid);
            let mut got = x.clone();
            tm.then(&ta).unwrap().apply_in_place(&mut got).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn rejects_partial_pixels_and_bad_channel_counts() {
        let t = ChannelLut8::build::<u8>(3, |c, v| v + c as i32).unwrap();
        let mut x = vec![0u8; 7];
        assert!(t.apply_in_place(&mut x).is_err());
        let mut x = vec![250u8, 250, 250];
        t.apply_in_place(&mut x).unwrap();
        assert_eq!(x, vec![250, 251, 252]);
        assert!(ChannelLut8::build::<u8>(0, |_, v| v).is_err());
        assert!(ChannelLut8::build::<u8>(MAX_CHANNELS + 1, |_, v| v).is_err());
        let other = ChannelLut8::build::<u8>(2, |_, v| v).unwrap();
        assert!(t.then(&other).is_none());
    }
}
