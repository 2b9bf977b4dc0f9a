//! Access to burn's Flex primitives behind `Tensor`, for the custom differentiable ops of
//! [`crate::conv`], [`crate::pool`] and [`crate::batchnorm`], and float sums shared by them.

use burn::backend::flex::FlexTensor;
use burn::backend::{
    Autodiff, BackendTensor, DispatchAutodiffContext, DispatchKindConversion, DispatchTensor, Flex,
};
use burn::tensor::{DType, Tensor, TensorData};

pub(crate) type Ad = Autodiff<Flex>;
pub(crate) type AdTensor = <Ad as burn::backend::BackendTypes>::FloatTensorPrimitive;

/// A Flex tensor whose f32 data is one contiguous slice of its element count (copies only
/// when the layout is not contiguous); `None` for other dtypes.
pub(crate) fn contiguous(t: FlexTensor) -> Option<FlexTensor> {
    if t.dtype() != DType::F32 {
        return None;
    }
    let t = if t.is_contiguous() && t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    };
    let numel = t.layout().shape().num_elements();
    (t.as_slice::<f32>().map(<[f32]>::len) == Some(numel)).then_some(t)
}

/// The f32 data of a tensor checked by [`contiguous`].
pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().unwrap_or(&[])
}

/// A contiguous Flex tensor of `shape` owning `data`.
pub(crate) fn flex(data: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape.to_vec()))
}

/// A float tensor's primitive: plain Flex, or tracked by autodiff.
pub(crate) enum Prim {
    Plain(FlexTensor),
    Tracked(AdTensor),
}

/// The primitive behind `t` (a cheap clone), if it lives on the Flex backend.
pub(crate) fn prim<const D: usize>(t: &Tensor<D>) -> Option<Prim> {
    let d: DispatchTensor = t.clone().into_dispatch();
    if d.autodiff == DispatchAutodiffContext::Disabled {
        match <DispatchTensor as DispatchKindConversion<Flex>>::try_into_backend(d).ok()? {
            BackendTensor::Float(f) => Some(Prim::Plain(f)),
            _ => None,
        }
    } else {
        match <DispatchTensor as DispatchKindConversion<Ad>>::try_into_backend(d).ok()? {
            BackendTensor::Float(f) => Some(Prim::Tracked(f)),
            _ => None,
        }
    }
}

impl Prim {
    /// As an autodiff tensor (a plain one becomes an untracked leaf).
    pub(crate) fn tracked(self) -> AdTensor {
        match self {
            Prim::Plain(f) => AdTensor::new(f),
            Prim::Tracked(t) => t,
        }
    }
}

/// `Σ f(v[i])` with 8 interleaved accumulators (vectorizes; a fixed order, so deterministic),
/// combined pairwise, then the tail.
#[inline(always)]
fn sum8(v: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let (blocks, tail) = v.as_chunks::<8>();
    let mut acc = [0f32; 8];
    for b in blocks {
        for (a, &x) in acc.iter_mut().zip(b) {
            *a += f(x);
        }
    }
    let t: f32 = tail.iter().map(|&x| f(x)).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + t
}

/// `Σ v`.
pub(crate) fn sum(v: &[f32]) -> f32 {
    sum8(v, |x| x)
}

/// `Σ (v − mu)²`.
pub(crate) fn sum_sq_dev(v: &[f32], mu: f32) -> f32 {
    sum8(v, |x| (x - mu) * (x - mu))
}
