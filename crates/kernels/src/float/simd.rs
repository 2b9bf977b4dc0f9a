//! Runtime CPU-feature dispatch for the hand-vectorized inner loops.
//!
//! Inner loops are written once as `#[inline(always)]` generic functions over [`Arith`] and
//! compiled twice: plainly (SSE2 baseline) and inside an `avx2,fma` target-feature wrapper where
//! the multiply-add becomes a fused `vfmadd`. Fused and unfused results differ by rounding only
//! (at most 1 ulp per accumulation step).

/// Multiply-add flavour used by a dispatched inner loop.
pub(crate) trait Arith: Copy {
    /// `a * b + c`.
    fn madd(a: f32, b: f32, c: f32) -> f32;
}

/// Separate multiply and add (any CPU).
#[derive(Clone, Copy)]
pub(crate) struct Plain;

impl Arith for Plain {
    #[inline(always)]
    fn madd(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// Fused multiply-add; only used inside functions compiled with the `fma` target feature.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Fused;

#[cfg(target_arch = "x86_64")]
impl Arith for Fused {
    #[inline(always)]
    fn madd(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// True when the CPU has AVX2 and FMA (checked once, cached by std).
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
