//! ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM with NumPy broadcasting and a fused clamp.

use super::activation::Clamp;
use super::broadcast::{broadcast_offset, next_index, Plan};
use crate::error::check_len;
use crate::Result;

/// An elementwise binary arithmetic op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `a > b ? a : b`.
    Max,
    /// `a < b ? a : b`.
    Min,
    /// `aᵇ` (TFLite POW, float).
    Pow,
}

impl BinaryOp {
    /// Applies the op to one pair.
    #[inline(always)]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Max => {
                if a > b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Min => {
                if a < b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Pow => a.powf(b),
        }
    }
}

/// Calls `$body` with `$f` bound to a concrete closure for `$op`, so each op gets its own
/// monomorphized (vectorizable) loop.
macro_rules! with_op {
    ($op:expr, $f:ident => $body:expr) => {
        match $op {
            BinaryOp::Add => {
                let $f = |a: f32, b: f32| a + b;
                $body
            }
            BinaryOp::Sub => {
                let $f = |a: f32, b: f32| a - b;
                $body
            }
            BinaryOp::Mul => {
                let $f = |a: f32, b: f32| a * b;
                $body
            }
            BinaryOp::Div => {
                let $f = |a: f32, b: f32| a / b;
                $body
            }
            BinaryOp::Max => {
                let $f = |a: f32, b: f32| if a > b { a } else { b };
                $body
            }
            BinaryOp::Min => {
                let $f = |a: f32, b: f32| if a < b { a } else { b };
                $body
            }
            BinaryOp::Pow => {
                let $f = |a: f32, b: f32| a.powf(b);
                $body
            }
        }
    };
}

/// One inner run: `out[i] = f(a[i·sa], b[i·sb])`.
#[inline(always)]
pub(crate) fn run_inner<F: Fn(f32, f32) -> f32>(
    f: &F,
    a: &[f32],
    sa: usize,
    b: &[f32],
    sb: usize,
    out: &mut [f32],
) {
    match (sa, sb) {
        (1, 1) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (1, _) => {
            let y = b[0];
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (_, 1) => {
            let x = a[0];
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        _ => out.fill(f(a[0], b[0])),
    }
}

/// Runs `$body` with `$f` bound to `clamp(op(a, b))`, specialized for "no clamp" (the clamp's
/// NaN-aware max/min would otherwise cost as much as the op).
macro_rules! with_op_clamp {
    ($op:expr, $clamp:expr, $f:ident => $body:expr) => {
        if $clamp.is_none() {
            with_op!($op, $f => $body)
        } else {
            let c = $clamp;
            with_op!($op, g => {
                let $f = |a: f32, b: f32| c.apply(g(a, b));
                $body
            })
        }
    };
}

/// `out = clamp(op(a, b))` with `a` and `b` broadcast to `out_shape` (NumPy rules).
/// Same-shape, scalar and trailing-dims (per-channel) broadcasts run as contiguous loops.
#[allow(clippy::too_many_arguments)]
pub fn binary(
    op: BinaryOp,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out: &mut [f32],
    out_shape: &[usize],
    clamp: Clamp,
) -> Result<()> {
    let plan = Plan::new(a_shape, b_shape, out_shape)?;
    check_len("binary lhs", a.len(), plan.a_len)?;
    check_len("binary rhs", b.len(), plan.b_len)?;
    check_len("binary output", out.len(), plan.out_len)?;
    let n = plan.inner;
    with_op_clamp!(op, clamp, f => plan.for_each_run(|o, ao, bo| {
        run_inner(&f, &a[ao..], plan.a_step, &b[bo..], plan.b_step, &mut out[o..o + n])
    }));
    Ok(())
}

/// In-place [`binary`] where the left operand already has the output shape:
/// `a = clamp(op(a, b))`.
pub fn binary_assign_lhs(
    op: BinaryOp,
    a: &mut [f32],
    out_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    clamp: Clamp,
) -> Result<()> {
    let plan = Plan::new(out_shape, b_shape, out_shape)?;
    check_len("binary lhs/output", a.len(), plan.out_len)?;
    check_len("binary rhs", b.len(), plan.b_len)?;
    let n = plan.inner;
    with_op_clamp!(op, clamp, f => plan.for_each_run(|o, _, bo| {
        let run = &mut a[o..o + n];
        if plan.b_step == 1 {
            for (x, &y) in run.iter_mut().zip(&b[bo..bo + n]) {
                *x = f(*x, y);
            }
        } else {
            let y = b[bo];
            for x in run.iter_mut() {
                *x = f(*x, y);
            }
        }
    }));
    Ok(())
}

/// In-place [`binary`] where the right operand already has the output shape:
/// `b = clamp(op(a, b))`.
pub fn binary_assign_rhs(
    op: BinaryOp,
    a: &[f32],
    a_shape: &[usize],
    b: &mut [f32],
    out_shape: &[usize],
    clamp: Clamp,
) -> Result<()> {
    let plan = Plan::new(a_shape, out_shape, out_shape)?;
    check_len("binary lhs", a.len(), plan.a_len)?;
    check_len("binary rhs/output", b.len(), plan.out_len)?;
    let n = plan.inner;
    with_op_clamp!(op, clamp, f => plan.for_each_run(|o, ao, _| {
        let run = &mut b[o..o + n];
        if plan.a_step == 1 {
            for (y, &x) in run.iter_mut().zip(&a[ao..ao + n]) {
                *y = f(x, *y);
            }
        } else {
            let x = a[ao];
            for y in run.iter_mut() {
                *y = f(x, *y);
            }
        }
    }));
    Ok(())
}

/// Reference twin of [`binary`]: one multi-index walk over the output with per-element
/// broadcast offsets.
#[allow(clippy::too_many_arguments)]
pub fn binary_ref(
    op: BinaryOp,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out: &mut [f32],
    out_shape: &[usize],
    clamp: Clamp,
) -> Result<()> {
    let plan = Plan::new(a_shape, b_shape, out_shape)?;
    check_len("binary lhs", a.len(), plan.a_len)?;
    check_len("binary rhs", b.len(), plan.b_len)?;
    check_len("binary output", out.len(), plan.out_len)?;
    if out.is_empty() {
        return Ok(());
    }
    let mut idx = vec![0; out_shape.len()];
    for o in out.iter_mut() {
        let x = a[broadcast_offset(&idx, a_shape)];
        let y = b[broadcast_offset(&idx, b_shape)];
        *o = clamp.apply(op.apply(x, y));
        next_index(&mut idx, out_shape);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::float::testutil::vec_strategy;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        let mut out = [0.0; 6];
        // [2,3] + [3]
        binary(
            BinaryOp::Add,
            &[1., 2., 3., 4., 5., 6.],
            &[2, 3],
            &[10., 20., 30.],
            &[3],
            &mut out,
            &[2, 3],
            Clamp::NONE,
        )
        .unwrap();
        assert_eq!(out, [11., 22., 33., 14., 25., 36.]);
        // [2,1] * [1,3]
        binary(
            BinaryOp::Mul,
            &[1., 2.],
            &[2, 1],
            &[1., 2., 3.],
            &[1, 3],
            &mut out,
            &[2, 3],
            Clamp::NONE,
        )
        .unwrap();
        assert_eq!(out, [1., 2., 3., 2., 4., 6.]);
        // scalar / with relu6
        binary(
            BinaryOp::Div,
            &[2.0],
            &[],
            &[1., 2., 4., -1., 0.5, 0.25],
            &[6],
            &mut out,
            &[6],
            Clamp::RELU6,
        )
        .unwrap();
        assert_eq!(out, [2., 1., 0.5, 0., 4., 6.]);
        let mut a = [1., -2., 3.];
        binary_assign_lhs(BinaryOp::Max, &mut a, &[3], &[0.0], &[1], Clamp::NONE).unwrap();
        assert_eq!(a, [1., 0., 3.]);
        let mut b = [1., 5., 3.];
        binary_assign_rhs(BinaryOp::Sub, &[4.0], &[1], &mut b, &[3], Clamp::NONE).unwrap();
        assert_eq!(b, [3., -1., 1.]);
        assert!(binary(
            BinaryOp::Add,
            &[1.; 2],
            &[2],
            &[1.; 3],
            &[3],
            &mut out,
            &[6],
            Clamp::NONE
        )
        .is_err());
    }

    /// Two shapes that broadcast: a random output shape of rank ≤ 4, each operand dropping
    /// leading dims and setting some dims to 1.
    pub(crate) fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
        (
            proptest::collection::vec(1usize..5, 0..5),
            any::<u8>(),
            any::<u8>(),
            0usize..5,
            0usize..5,
        )
            .prop_map(|(out, ma, mb, da, db)| {
                let mk = |mask: u8, drop: usize| -> Vec<usize> {
                    let drop = drop.min(out.len());
                    out[drop..]
                        .iter()
                        .enumerate()
                        .map(|(i, &d)| if mask >> i & 1 == 1 { 1 } else { d })
                        .collect()
                };
                let (a, b) = (mk(ma, da), mk(mb, db));
                // The output must be exactly the broadcast of a and b.
                let rank = a.len().max(b.len());
                let mut o = vec![1; rank];
                for i in 0..rank {
                    let ad = if i + a.len() >= rank {
                        a[i + a.len() - rank]
                    } else {
                        1
                    };
                    let bd = if i + b.len() >= rank {
                        b[i + b.len() - rank]
                    } else {
                        1
                    };
                    o[i] = ad.max(bd);
                }
                (a, b, o)
            })
    }

    /// Shapes of lhs, rhs and output, the operands, and an op index.
    type Case = (Vec<usize>, Vec<usize>, Vec<usize>, Vec<f32>, Vec<f32>, u8);

    fn case() -> impl Strategy<Value = Case> {
        shapes().prop_flat_map(|(a, b, o)| {
            let (na, nb) = (a.iter().product(), b.iter().product());
            (
                Just(a),
                Just(b),
                Just(o),
                vec_strategy(na),
                vec_strategy(nb),
                0u8..6,
            )
        })
    }

    proptest! {
        // Exact: both compute the same single operation per element.
        #[test]
        fn matches_reference((sa, sb, so, a, b, k) in case()) {
            let op = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Max, BinaryOp::Min][k as usize];
            let clamp = Clamp::new(-3.0, 3.0);
            let n: usize = so.iter().product();
            let mut got = vec![0.0; n];
            let mut want = vec![0.0; n];
            binary(op, &a, &sa, &b, &sb, &mut got, &so, clamp).unwrap();
            binary_ref(op, &a, &sa, &b, &sb, &mut want, &so, clamp).unwrap();
            prop_assert_eq!(&got, &want);
            if sa == so {
                let mut x = a.clone();
                binary_assign_lhs(op, &mut x, &so, &b, &sb, clamp).unwrap();
                prop_assert_eq!(&x, &want);
            }
            if sb == so {
                let mut y = b.clone();
                binary_assign_rhs(op, &a, &sa, &mut y, &so, clamp).unwrap();
                prop_assert_eq!(&y, &want);
            }
        }
    }
}
