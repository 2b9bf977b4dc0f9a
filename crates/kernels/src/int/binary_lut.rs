//! Table-driven 8-bit element-wise binary ops (the optimized twin of [`add`](super::add::add)
//! and [`mul`](super::mul::mul) for int8 / uint8).
//!
//! An 8-bit binary op has only 256 × 256 distinct input pairs, so its complete result table is
//! built once at preparation by calling the reference arithmetic
//! ([`AddParams::apply`](super::add::AddParams::apply),
//! [`MulParams::apply`](super::mul::MulParams::apply)) on every pair: the results are
//! bit-identical to the reference kernel by construction, and each element then costs one
//! table lookup instead of two or three fixed-point rescalings. Broadcasting follows
//! [`broadcast::binary`](super::broadcast::binary), with fast paths for equal shapes, a
//! scalar operand, and an operand that repeats along the trailing dimensions (per-channel
//! constants such as folded batch-norm parameters).

use super::broadcast::repeats_trailing;
use super::broadcast::{binary, broadcast_shape};
use super::{check_len, numel, QuantInt};

/// 8-bit element types usable with [`BinaryLut8`].
pub trait Int8: QuantInt {
    /// Table index of the value (its two's-complement byte).
    fn index(self) -> usize;
    /// The value with byte `b`.
    fn from_byte(b: u8) -> Self;
}

impl Int8 for i8 {
    #[inline]
    fn index(self) -> usize {
        self as u8 as usize
    }
    #[inline]
    fn from_byte(b: u8) -> Self {
        b as i8
    }
}

impl Int8 for u8 {
    #[inline]
    fn index(self) -> usize {
        self as usize
    }
    #[inline]
    fn from_byte(b: u8) -> Self {
        b
    }
}

/// The complete result table of an 8-bit binary op `out = f(x, y)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryLut8 {
    /// Result bytes (a fixed-size array, so lookups need no bounds checks), stored as
    /// `table[x << 8 | y]`, or `table[y << 8 | x]` when `rows_by_y`. (A 32-bit-gather
    /// version of the lookup was measured slower than this scalar loop on AMD Zen 4.)
    table: Box<[u8; 1 << 16]>,
    /// Rows indexed by the second operand: the 256 results for one `y` are contiguous, which
    /// keeps the working set of a per-channel second operand (C rows of 256 bytes) in L1.
    rows_by_y: bool,
}

impl BinaryLut8 {
    /// Tabulates `f(x, y)` (inputs and result as `i32`, the result already clamped to `T`'s
    /// range) over all pairs of `T` values. `rows_by_y` chooses the memory layout only (use
    /// it when the second operand is the smaller, broadcast one).
    pub fn build<T: Int8>(f: impl Fn(i32, i32) -> i32, rows_by_y: bool) -> Self {
        let mut table = Box::new([0u8; 1 << 16]);
        for xb in 0..=255u8 {
            let x = T::from_byte(xb).to_i32();
            for yb in 0..=255u8 {
                let y = T::from_byte(yb).to_i32();
                let v = T::saturate(f(x, y));
                let i = if rows_by_y {
                    (yb as usize) << 8 | xb as usize
                } else {
                    (xb as usize) << 8 | yb as usize
                };
                table[i] = (v.to_i32() & 0xff) as u8;
            }
        }
        Self { table, rows_by_y }
    }

    #[inline]
    fn get<T: Int8>(&self, x: T, y: T) -> T {
        let i = if self.rows_by_y {
            y.index() << 8 | x.index()
        } else {
            x.index() << 8 | y.index()
        };
        T::from_byte(self.table[i])
    }

    /// Applies the op with broadcasting (same semantics as
    /// [`broadcast::binary`](super::broadcast::binary)).
    pub fn apply<T: Int8>(
        &self,
        a: &[T],
        a_shape: &[usize],
        b: &[T],
        b_shape: &[usize],
        out: &mut [T],
    ) -> crate::Result<()> {
        check_len("broadcast lhs", a.len(), numel(a_shape)?)?;
        check_len("broadcast rhs", b.len(), numel(b_shape)?)?;
        let out_shape = broadcast_shape(a_shape, b_shape)?;
        check_len("broadcast output", out.len(), numel(&out_shape)?)?;
        if a.len() == out.len() && b.len() == out.len() {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = self.get(x, y);
            }
            return Ok(());
        }
        if a.len() == out.len() && !b.is_empty() && repeats_trailing(b_shape, &out_shape) {
            for (orow, arow) in out.chunks_exact_mut(b.len()).zip(a.chunks_exact(b.len())) {
                for ((o, &x), &y) in orow.iter_mut().zip(arow).zip(b) {
                    *o = self.get(x, y);
                }
            }
            return Ok(());
        }
        if b.len() == out.len() && !a.is_empty() && repeats_trailing(a_shape, &out_shape) {
            for (orow, brow) in out.chunks_exact_mut(a.len()).zip(b.chunks_exact(a.len())) {
                for ((o, &x), &y) in orow.iter_mut().zip(a).zip(brow) {
                    *o = self.get(x, y);
                }
            }
            return Ok(());
        }
        binary(a, a_shape, b, b_shape, out, |x, y| self.get(x, y))
    }
}

/// The complete result table of an 8-bit unary op, built by running the reference kernel once
/// on all 256 input values: bit-identical to that kernel by construction, one lookup per
/// element (LEAKY_RELU, HARD_SWISH, RELU, … on int8 / uint8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnaryLut8 {
    table: [u8; 256],
}

impl UnaryLut8 {
    /// Runs `kernel(input, output)` on the 256 values of `T` and records the results.
    pub fn build<T: Int8>(
        kernel: impl FnOnce(&[T], &mut [T]) -> crate::Result<()>,
    ) -> crate::Result<Self> {
        let input: Vec<T> = (0..=255u8).map(T::from_byte).collect();
        let mut output = vec![T::default(); 256];
        kernel(&input, &mut output)?;
        let mut table = [0u8; 256];
        for (x, y) in input.iter().zip(&output) {
            table[x.index()] = (y.to_i32() & 0xff) as u8;
        }
        Ok(Self { table })
    }

    /// Applies the table.
    pub fn apply<T: Int8>(&self, input: &[T], output: &mut [T]) -> crate::Result<()> {
        check_len("lut output", output.len(), input.len())?;
        for (o, &x) in output.iter_mut().zip(input) {
            *o = T::from_byte(self.table[x.index() & 0xff]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::add::{add, AddParams};
    use super::super::leaky_relu::{leaky_relu, LeakyReluParams};
    use super::super::mul::{mul, MulParams};
    use super::super::{FusedActivation, QParams};
    use super::*;
    use proptest::prelude::*;

    fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop_oneof![
            Just((vec![2, 3, 4, 5], vec![2, 3, 4, 5])),
            Just((vec![2, 3, 4, 5], vec![5])),
            Just((vec![2, 3, 4, 5], vec![1, 1, 1, 5])),
            Just((vec![5], vec![2, 3, 4, 5])),
            Just((vec![2, 3, 4, 5], vec![1])),
            Just((vec![2, 3, 4, 5], vec![4, 5])),
            Just((vec![2, 1, 4, 1], vec![1, 3, 1, 5])),
            Just((vec![2, 3, 1, 5], vec![3, 4, 1])),
        ]
    }

    #[test]
    fn unary_lut_equals_kernel() {
        let p = LeakyReluParams::prepare::<i8>(QParams::new(0.05, -7), QParams::new(0.04, 3), 0.1)
            .unwrap();
        let lut = UnaryLut8::build::<i8>(|x, y| leaky_relu(&p, x, y)).unwrap();
        let x: Vec<i8> = (0..1000).map(|i| (i * 37 % 256) as u8 as i8).collect();
        let (mut a, mut b) = (vec![0i8; 1000], vec![0i8; 1000]);
        leaky_relu(&p, &x, &mut a).unwrap();
        lut.apply(&x, &mut b).unwrap();
        assert_eq!(a, b);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]
        #[test]
        fn lut_equals_reference(
            (sa, sb) in shapes(),
            (s1, s2, so) in (0.001f32..0.2, 0.001f32..0.2, 0.002f32..0.3),
            (z1, z2, zo) in (-128i32..128, -128i32..128, -128i32..128),
            (sub, relu, seed) in (any::<bool>(), any::<bool>(), any::<u64>()),
        ) {
            let act = if relu { FusedActivation::Relu } else { FusedActivation::None };
            let (q1, q2, qo) = (QParams::new(s1, z1), QParams::new(s2, z2), QParams::new(so, zo));
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1); (st >> 56) as i8 };
            let a: Vec<i8> = (0..sa.iter().product::<usize>()).map(|_| rnd()).collect();
            let b: Vec<i8> = (0..sb.iter().product::<usize>()).map(|_| rnd()).collect();
            let n = broadcast_shape(&sa, &sb).unwrap().iter().product();
            if let Ok(p) = AddParams::prepare::<i8>(q1, q2, qo, act, sub) {
                let lut = BinaryLut8::build::<i8>(|x, y| p.apply(x, y), seed % 2 == 0);
                let (mut r, mut o) = (vec![0i8; n], vec![0i8; n]);
                add(&p, &a, &sa, &b, &sb, &mut r).unwrap();
                lut.apply(&a, &sa, &b, &sb, &mut o).unwrap();
                prop_assert_eq!(&r, &o);
            }
            let p = MulParams::prepare::<i8>(q1, q2, qo, act).unwrap();
            let lut = BinaryLut8::build::<i8>(|x, y| p.apply(x, y), seed % 2 == 0);
            let (mut r, mut o) = (vec![0i8; n], vec![0i8; n]);
            mul(&p, &a, &sa, &b, &sb, &mut r).unwrap();
            lut.apply(&a, &sa, &b, &sb, &mut o).unwrap();
            prop_assert_eq!(&r, &o);
            // uint8 with the same parameters shifted into range.
            let (q1u, q2u, qou) = (QParams::new(s1, z1 + 128), QParams::new(s2, z2 + 128), QParams::new(so, zo + 128));
            let au: Vec<u8> = a.iter().map(|&v| v as u8).collect();
            let bu: Vec<u8> = b.iter().map(|&v| v as u8).collect();
            let p = MulParams::prepare::<u8>(q1u, q2u, qou, act).unwrap();
            let lut = BinaryLut8::build::<u8>(|x, y| p.apply(x, y), seed % 3 == 0);
            let (mut r, mut o) = (vec![0u8; n], vec![0u8; n]);
            mul(&p, &au, &sa, &bu, &sb, &mut r).unwrap();
            lut.apply(&au, &sa, &bu, &sb, &mut o).unwrap();
            prop_assert_eq!(&r, &o);
        }
    }
}
