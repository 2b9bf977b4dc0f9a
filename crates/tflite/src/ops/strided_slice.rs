//! STRIDED_SLICE ↔ [`StridedSlice`]. Operands: input, begin, end, strides.
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, StridedSlice};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::STRIDED_SLICE,
    inputs: 4..=4,
    ir_name: StridedSlice::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    // The runtime computes indices in int32; reject wider constants up front.
    for (i, what) in [(1, "begin"), (2, "end"), (3, "strides")] {
        if let Some(values) = ctx.input(i).filter(|t| t.is_const()).map(|t| t.int_data()) {
            let values = values?;
            if let Some(v) = values.iter().find(|v| i32::try_from(**v).is_err()) {
                return Err(ctx.err(format!("{what} value {v} is outside the int32 range")));
            }
        }
    }
    let Some(o) = ctx.op.builtin_options_as_strided_slice_options() else {
        return Ok(Op::StridedSlice(StridedSlice::default()));
    };
    // Masks are bit sets stored as int32: reinterpret the bits.
    let bits = |v: i32| u32::from_ne_bytes(v.to_ne_bytes());
    Ok(Op::StridedSlice(StridedSlice {
        begin_mask: bits(o.begin_mask()),
        end_mask: bits(o.end_mask()),
        ellipsis_mask: bits(o.ellipsis_mask()),
        new_axis_mask: bits(o.new_axis_mask()),
        shrink_axis_mask: bits(o.shrink_axis_mask()),
        offset: o.offset(),
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::StridedSlice(s) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match ctx.in_dtype(0) {
        _ if s.offset => 8,
        _ if s.ellipsis_mask != 0 || s.new_axis_mask != 0 => 6,
        _ if ctx.in_rank(0) > 4 => 4,
        Some(DType::Bool) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let bits = |v: u32| i32::from_ne_bytes(v.to_ne_bytes());
    let args = fb::StridedSliceOptionsArgs {
        begin_mask: bits(s.begin_mask),
        end_mask: bits(s.end_mask),
        ellipsis_mask: bits(s.ellipsis_mask),
        new_axis_mask: bits(s.new_axis_mask),
        shrink_axis_mask: bits(s.shrink_axis_mask),
        offset: s.offset,
    };
    let o = fb::StridedSliceOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::STRIDED_SLICE,
        fb::BuiltinOptions::StridedSliceOptions,
        o,
        version,
    ))
}
