//! Elementwise activations: RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH.

use crate::error::check_len;
use crate::Result;

/// An elementwise activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `min(max(x, -1), 1)`.
    ReluN1To1,
    /// `x > 0 ? x : alpha·x`.
    LeakyRelu(f32),
    /// `1 / (1 + e^−x)`.
    Logistic,
    /// `tanh(x)`.
    Tanh,
    /// `x · min(max(x + 3, 0), 6) / 6`.
    HardSwish,
    /// `√x` (NaN for negative x).
    Sqrt,
    /// `eˣ`.
    Exp,
}

impl UnaryOp {
    /// Applies the op to one value (the reference definition).
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Relu6 => x.clamp(0.0, 6.0),
            UnaryOp::ReluN1To1 => x.clamp(-1.0, 1.0),
            UnaryOp::LeakyRelu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    x * alpha
                }
            }
            UnaryOp::Logistic => logistic(x),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Exp => x.exp(),
        }
    }
}

#[inline(always)]
fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Runs `$body` with `$f` bound to a concrete closure for `$op` (one vectorizable loop per op).
macro_rules! with_unary {
    ($op:expr, $f:ident => $body:expr) => {
        match $op {
            UnaryOp::Relu => {
                let $f = |x: f32| x.max(0.0);
                $body
            }
            UnaryOp::Relu6 => {
                let $f = |x: f32| x.clamp(0.0, 6.0);
                $body
            }
            UnaryOp::ReluN1To1 => {
                let $f = |x: f32| x.clamp(-1.0, 1.0);
                $body
            }
            UnaryOp::LeakyRelu(alpha) => {
                // Unconditional product: keeps the select vectorizable.
                let $f = move |x: f32| {
                    let m = x * alpha;
                    if x > 0.0 {
                        x
                    } else {
                        m
                    }
                };
                $body
            }
            UnaryOp::Logistic => {
                let $f = logistic;
                $body
            }
            UnaryOp::Tanh => {
                let $f = |x: f32| x.tanh();
                $body
            }
            UnaryOp::HardSwish => {
                let $f = |x: f32| x * (x + 3.0).clamp(0.0, 6.0) / 6.0;
                $body
            }
            UnaryOp::Sqrt => {
                let $f = |x: f32| x.sqrt();
                $body
            }
            UnaryOp::Exp => {
                let $f = |x: f32| x.exp();
                $body
            }
        }
    };
}

/// `output[i] = op(input[i])`. Errors when the lengths differ.
pub fn unary(op: UnaryOp, input: &[f32], output: &mut [f32]) -> Result<()> {
    check_len("unary output", output.len(), input.len())?;
    with_unary!(op, f => {
        for (o, &x) in output.iter_mut().zip(input) {
            *o = f(x);
        }
    });
    Ok(())
}

/// `data[i] = op(data[i])`.
pub fn unary_in_place(op: UnaryOp, data: &mut [f32]) {
    with_unary!(op, f => {
        for x in data.iter_mut() {
            *x = f(*x);
        }
    });
}

/// Reference twin of [`unary`]: [`UnaryOp::apply`] per element.
pub fn unary_ref(op: UnaryOp, input: &[f32], output: &mut [f32]) -> Result<()> {
    check_len("unary output", output.len(), input.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        *o = op.apply(x);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        let x = [-4.0, -0.5, 0.0, 0.5, 7.0];
        let run = |op| {
            let mut o = [0.0; 5];
            unary(op, &x, &mut o).unwrap();
            o
        };
        assert_eq!(run(UnaryOp::Relu), [0.0, 0.0, 0.0, 0.5, 7.0]);
        assert_eq!(run(UnaryOp::Relu6), [0.0, 0.0, 0.0, 0.5, 6.0]);
        assert_eq!(run(UnaryOp::ReluN1To1), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(run(UnaryOp::LeakyRelu(0.1)), [-0.4, -0.05, 0.0, 0.5, 7.0]);
        assert_eq!(
            run(UnaryOp::HardSwish),
            [0.0, -0.5 * 2.5 / 6.0, 0.0, 0.5 * 3.5 / 6.0, 7.0]
        );
        let l = run(UnaryOp::Logistic);
        assert_eq!(l[2], 0.5);
        assert!((l[4] - 0.999_088_9).abs() < 1e-6);
        let t = run(UnaryOp::Tanh);
        assert!((t[3] - 0.462_117_16).abs() < 1e-6);
        let mut d = x;
        unary_in_place(UnaryOp::Relu, &mut d);
        assert_eq!(d, run(UnaryOp::Relu));
    }

    proptest! {
        // Exact: the same scalar expression per element.
        #[test]
        fn matches_reference(x in proptest::collection::vec(0.0f32..10.0, 0..100), k in 0u8..9, alpha in 0.0f32..1.0) {
            let op = [UnaryOp::Relu, UnaryOp::Relu6, UnaryOp::ReluN1To1, UnaryOp::LeakyRelu(alpha),
                UnaryOp::Logistic, UnaryOp::Tanh, UnaryOp::HardSwish, UnaryOp::Sqrt, UnaryOp::Exp][k as usize];
            let x: Vec<f32> = x.iter().map(|v| if op == UnaryOp::Sqrt { *v } else { *v * 2.0 - 10.0 }).collect();
            let mut got = vec![0.0; x.len()];
            let mut want = vec![0.0; x.len()];
            unary(op, &x, &mut got).unwrap();
            unary_ref(op, &x, &mut want).unwrap();
            prop_assert_eq!(&got, &want);
            let mut y = x.clone();
            unary_in_place(op, &mut y);
            prop_assert_eq!(&y, &want);
        }
    }
}
