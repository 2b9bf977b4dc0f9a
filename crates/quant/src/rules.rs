//! Per-op quantization rules: the declarative table that says, for each op, which operands are
//! quantized activations, which are weights and biases, and how the output's parameters are
//! chosen (DESIGN.md section 3).

use edgequant_ir::{DType, Op};

/// How an op's output parameters are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutputRule {
    /// From the output's own calibrated range.
    Own,
    /// Equal to the parameters of the first activation operand (pooling, reshape, pad, ...).
    SameAsInput,
    /// All activation operands and the output share one set of parameters computed from the
    /// output's range (concatenation, pack, maximum, minimum: the output covers every value
    /// the op produces; input values beyond it saturate without changing the result, and
    /// constant operands are quantized saturating). A producer with its own parameters whose
    /// only reader is the op takes the shared parameters; other operands whose producer fixed
    /// different parameters are requantized.
    Shared,
    /// Fixed by the spec: `(scale, zero_point)` for int8 and for int16.
    Fixed { int8: (f32, i32), int16: (f32, i32) },
}

/// Weight operand: index and per-channel axis (`None` = per tensor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightRule {
    pub operand: usize,
    pub axis: Option<usize>,
}

/// The quantization rule of one op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// Operands that are activations (quantized per tensor; a constant one is quantized
    /// asymmetrically from its own min/max).
    pub activations: &'static [usize],
    /// The weight operand, quantized symmetric narrow-range int8.
    pub weights: Option<WeightRule>,
    /// The bias operand: int32 (int64 for 16x8), scale = activation scale × weight scale.
    pub bias: Option<usize>,
    pub output: OutputRule,
    /// Whether the 16x8 mode (int16 activations) has an integer kernel for this op.
    pub int16: bool,
    /// Every operand is an activation (variadic ops: concatenation, pack).
    pub variadic: bool,
}

const SAME: OutputRule = OutputRule::SameAsInput;

const fn act(activations: &'static [usize], output: OutputRule, int16: bool) -> Rule {
    Rule {
        activations,
        weights: None,
        bias: None,
        output,
        int16,
        variadic: false,
    }
}

const fn weighted(
    input: &'static [usize],
    weights: usize,
    axis: Option<usize>,
    bias: usize,
) -> Rule {
    Rule {
        activations: input,
        weights: Some(WeightRule {
            operand: weights,
            axis,
        }),
        bias: Some(bias),
        output: OutputRule::Own,
        int16: true,
        variadic: false,
    }
}

/// The rule for `op`, or `None` when the op has no integer kernel (it stays float) or is not
/// a float computation (QUANTIZE, DEQUANTIZE, SHAPE).
///
/// `fc_per_channel` selects per-channel weights for FULLY_CONNECTED (newer runtimes);
/// TensorFlow's converter writes per-tensor.
pub fn rule(op: &Op, fc_per_channel: bool) -> Option<Rule> {
    let fixed_sigmoid = OutputRule::Fixed {
        int8: (1.0 / 256.0, -128),
        int16: (1.0 / 32768.0, 0),
    };
    Some(match op {
        Op::Conv2d(_) => weighted(&[0], 1, Some(0), 2),
        Op::DepthwiseConv2d(_) => weighted(&[0], 1, Some(3), 2),
        Op::TransposeConv(_) => weighted(&[2], 1, Some(0), 3),
        Op::FullyConnected(_) => weighted(&[0], 1, fc_per_channel.then_some(0), 2),
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) => act(&[0, 1], OutputRule::Own, true),
        Op::Maximum(_) | Op::Minimum(_) => act(&[0, 1], OutputRule::Shared, true),
        Op::Relu(_) | Op::Relu6(_) | Op::ReluN1To1(_) => act(&[0], OutputRule::Own, true),
        Op::LeakyRelu(_) => act(&[0], OutputRule::Own, true),
        Op::Prelu(_) => act(&[0, 1], OutputRule::Own, false),
        Op::HardSwish(_) => act(&[0], OutputRule::Own, false),
        Op::Logistic(_) | Op::Softmax(_) => act(&[0], fixed_sigmoid, true),
        Op::Tanh(_) => act(
            &[0],
            OutputRule::Fixed {
                int8: (1.0 / 128.0, 0),
                int16: (1.0 / 32768.0, 0),
            },
            true,
        ),
        Op::MaxPool2d(_) | Op::AveragePool2d(_) => act(&[0], SAME, true),
        Op::Mean(_) => act(&[0], OutputRule::Own, true),
        Op::Pad(_) | Op::Reshape(_) | Op::Transpose(_) | Op::Squeeze(_) | Op::StridedSlice(_) => {
            act(&[0], SAME, true)
        }
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => act(&[0], SAME, true),
        Op::Concatenation(_) | Op::Pack(_) => Rule {
            variadic: true,
            ..act(&[], OutputRule::Shared, true)
        },
        Op::Div(_) | Op::Dequantize(_) | Op::Quantize(_) | Op::Shape(_) => return None,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

impl Rule {
    /// The activation operand indices of a node with `n` operands.
    pub fn activation_operands(&self, n: usize) -> Vec<usize> {
        if self.variadic {
            (0..n).collect()
        } else {
            self.activations
                .iter()
                .copied()
                .filter(|&i| i < n)
                .collect()
        }
    }

    /// Whether the op has an integer kernel for activations of `dtype`.
    pub fn supports(&self, dtype: DType) -> bool {
        match dtype {
            DType::I16 => self.int16,
            _ => true,
        }
    }
}
