//! RESIZE_BILINEAR ↔ [`ResizeBilinear`]. Operands: input, size.
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, ResizeBilinear};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::RESIZE_BILINEAR,
    inputs: 2..=2,
    ir_name: ResizeBilinear::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx.op.builtin_options_as_resize_bilinear_options();
    Ok(Op::ResizeBilinear(ResizeBilinear {
        align_corners: o.is_some_and(|o| o.align_corners()),
        half_pixel_centers: o.is_some_and(|o| o.half_pixel_centers()),
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::ResizeBilinear(r) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match ctx.in_dtype(0) {
        Some(DType::I16) => 4,
        _ if r.half_pixel_centers => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let args = fb::ResizeBilinearOptionsArgs {
        align_corners: r.align_corners,
        half_pixel_centers: r.half_pixel_centers,
    };
    let o = fb::ResizeBilinearOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::RESIZE_BILINEAR,
        fb::BuiltinOptions::ResizeBilinearOptions,
        o,
        version,
    ))
}
