//! PRELU: `x >= 0 ? x : alpha·x` with `alpha` broadcast against `x`.

use super::binary::run_inner;
use super::broadcast::{broadcast_offset, next_index, Plan};
use crate::error::check_len;
use crate::Result;

/// The product is computed unconditionally so that the select vectorizes (a conditional
/// multiply keeps LLVM from if-converting the loop; 3× slower).
#[inline(always)]
fn prelu_fn(x: f32, a: f32) -> f32 {
    let m = x * a;
    if x >= 0.0 {
        x
    } else {
        m
    }
}

/// `output = x >= 0 ? x : alpha·x`, `alpha` broadcast to `shape` (the input's and output's
/// shape; e.g. per-channel `[1, 1, C]` against `[N, H, W, C]`).
pub fn prelu(
    input: &[f32],
    shape: &[usize],
    alpha: &[f32],
    alpha_shape: &[usize],
    output: &mut [f32],
) -> Result<()> {
    let plan = Plan::new(shape, alpha_shape, shape)?;
    check_len("prelu input", input.len(), plan.out_len)?;
    check_len("prelu alpha", alpha.len(), plan.b_len)?;
    check_len("prelu output", output.len(), plan.out_len)?;
    let n = plan.inner;
    plan.for_each_run(|o, ao, bo| {
        run_inner(
            &prelu_fn,
            &input[ao..],
            plan.a_step,
            &alpha[bo..],
            plan.b_step,
            &mut output[o..o + n],
        )
    });
    Ok(())
}

/// In-place [`prelu`].
pub fn prelu_in_place(
    data: &mut [f32],
    shape: &[usize],
    alpha: &[f32],
    alpha_shape: &[usize],
) -> Result<()> {
    let plan = Plan::new(shape, alpha_shape, shape)?;
    check_len("prelu input", data.len(), plan.out_len)?;
    check_len("prelu alpha", alpha.len(), plan.b_len)?;
    let n = plan.inner;
    plan.for_each_run(|o, _, bo| {
        let run = &mut data[o..o + n];
        if plan.b_step == 1 {
            for (x, &a) in run.iter_mut().zip(&alpha[bo..bo + n]) {
                *x = prelu_fn(*x, a);
            }
        } else {
            let a = alpha[bo];
            for x in run.iter_mut() {
                *x = prelu_fn(*x, a);
            }
        }
    });
    Ok(())
}

/// Reference twin of [`prelu`]: per-element broadcast offsets.
pub fn prelu_ref(
    input: &[f32],
    shape: &[usize],
    alpha: &[f32],
    alpha_shape: &[usize],
    output: &mut [f32],
) -> Result<()> {
    let plan = Plan::new(shape, alpha_shape, shape)?;
    check_len("prelu input", input.len(), plan.out_len)?;
    check_len("prelu alpha", alpha.len(), plan.b_len)?;
    check_len("prelu output", output.len(), plan.out_len)?;
    if output.is_empty() {
        return Ok(());
    }
    let mut idx = vec![0; shape.len()];
    for (i, o) in output.iter_mut().enumerate() {
        *o = prelu_fn(input[i], alpha[broadcast_offset(&idx, alpha_shape)]);
        next_index(&mut idx, shape);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::testutil::vec_strategy;
    use proptest::prelude::*;

    #[test]
    fn per_channel() {
        let mut out = [0.0; 4];
        prelu(
            &[-1.0, -1.0, 2.0, -2.0],
            &[1, 2, 2],
            &[0.5, 0.25],
            &[1, 1, 2],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [-0.5, -0.25, 2.0, -0.5]);
    }

    proptest! {
        // Exact: the same scalar expression per element.
        #[test]
        fn matches_reference((sx, sa, x, a) in crate::float::binary::tests::shapes()
            .prop_filter("alpha must not grow the input", |(x, _, o)| x == o)
            .prop_flat_map(|(x, a, _)| {
                let (nx, na) = (x.iter().product(), a.iter().product());
                (Just(x), Just(a), vec_strategy(nx), vec_strategy(na))
            }))
        {
            let mut got = vec![0.0; x.len()];
            let mut want = vec![0.0; x.len()];
            prelu(&x, &sx, &a, &sa, &mut got).unwrap();
            prelu_ref(&x, &sx, &a, &sa, &mut want).unwrap();
            prop_assert_eq!(&got, &want);
            let mut y = x.clone();
            prelu_in_place(&mut y, &sx, &a, &sa).unwrap();
            prop_assert_eq!(&y, &want);
        }
    }
}
