//! RESIZE_NEAREST_NEIGHBOR on any element type.
//!
//! Reproduces `reference_ops::ResizeNearestNeighbor` / `GetNearestNeighbor` (source index
//! computed in `float`: `floor((x + offset) * scale)`, or `round` with `align_corners`).

use super::resize_bilinear::ResizeOptions;
use super::{check_len, numel};

fn nearest(
    value: usize,
    input_size: usize,
    output_size: usize,
    align_corners: bool,
    half_pixel_centers: bool,
) -> usize {
    let scale = if align_corners && output_size > 1 {
        (input_size as f32 - 1.0) / (output_size - 1) as f32
    } else {
        input_size as f32 / output_size as f32
    };
    let offset = if half_pixel_centers { 0.5f32 } else { 0.0 };
    let v = if align_corners {
        ((value as f32 + offset) * scale).round() as i64
    } else {
        ((value as f32 + offset) * scale).floor() as i64
    };
    let v = v.min(input_size as i64 - 1);
    let v = if half_pixel_centers { v.max(0) } else { v };
    v.max(0) as usize
}

/// Nearest-neighbour resize of `[N, H, W, C]` to `[N, OH, OW, C]`.
pub fn resize_nearest<T: Copy>(
    options: ResizeOptions,
    input: &[T],
    input_shape: [usize; 4],
    output: &mut [T],
    output_hw: (usize, usize),
) -> crate::Result<()> {
    let [batches, in_h, in_w, depth] = input_shape;
    let (out_h, out_w) = output_hw;
    check_len("resize input", input.len(), numel(&input_shape)?)?;
    check_len(
        "resize output",
        output.len(),
        numel(&[batches, out_h, out_w, depth])?,
    )?;
    if in_h == 0 || in_w == 0 {
        return Ok(());
    }
    let mut o = 0;
    for b in 0..batches {
        for y in 0..out_h {
            let iy = nearest(
                y,
                in_h,
                out_h,
                options.align_corners,
                options.half_pixel_centers,
            );
            for x in 0..out_w {
                let ix = nearest(
                    x,
                    in_w,
                    out_w,
                    options.align_corners,
                    options.half_pixel_centers,
                );
                let base = ((b * in_h + iy) * in_w + ix) * depth;
                output[o..o + depth].copy_from_slice(&input[base..base + depth]);
                o += depth;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsample() {
        let input = [1i8, 2, 3, 4];
        let mut out = [0i8; 16];
        resize_nearest(
            ResizeOptions::default(),
            &input,
            [1, 2, 2, 1],
            &mut out,
            (4, 4),
        )
        .unwrap();
        assert_eq!(&out[..8], &[1, 1, 2, 2, 1, 1, 2, 2]);
        assert_eq!(&out[8..], &[3, 3, 4, 4, 3, 3, 4, 4]);
    }
}
