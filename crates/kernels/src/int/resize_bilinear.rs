//! RESIZE_BILINEAR on int8 / int16 (integer path).
//!
//! Reproduces `reference_ops::ResizeBilinearInteger` (used by `resize_bilinear.cc` for int8
//! under the reference resolver): source coordinates in 1/1024 units, weights in Q10, the
//! Q20 sum rounded half away from zero (default double-rounding build).

use super::{check_len, invalid, numel, QuantInt};

/// Builtin options of RESIZE_BILINEAR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResizeOptions {
    /// Align corner pixels.
    pub align_corners: bool,
    /// Sample at pixel centres.
    pub half_pixel_centers: bool,
}

fn interpolation_values(
    value: i32,
    scale_10: i32,
    half_pixel_centers: bool,
    input_size: i32,
) -> (i32, i32, i32) {
    let scaled = if half_pixel_centers {
        value * scale_10 + scale_10 / 2 - (1 << 9)
    } else {
        value * scale_10
    };
    // TFLite does not bound `lower` above (it can read past the row for extreme upsampling
    // ratios, which is undefined behaviour there); bounding it keeps us in range and agrees
    // with TFLite everywhere its result is defined.
    let lower = (scaled / (1 << 10)).clamp(0, input_size - 1);
    let upper = ((scaled + (1 << 10) - 1) / (1 << 10)).min(input_size - 1);
    (scaled, lower, upper)
}

/// `reference_ops::ResizeBilinearInteger`: `input` is `[N, H, W, C]`, output `[N, OH, OW, C]`.
pub fn resize_bilinear<T: QuantInt>(
    options: ResizeOptions,
    input: &[T],
    input_shape: [usize; 4],
    output: &mut [T],
    output_hw: (usize, usize),
) -> crate::Result<()> {
    if options.align_corners && options.half_pixel_centers {
        return invalid("resize_bilinear: half_pixel_centers requires align_corners = false");
    }
    let [batches, in_h, in_w, depth] = input_shape;
    let (out_h, out_w) = output_hw;
    check_len("resize input", input.len(), numel(&input_shape)?)?;
    check_len(
        "resize output",
        output.len(),
        numel(&[batches, out_h, out_w, depth])?,
    )?;
    if out_h == 0 || out_w == 0 || in_h == 0 || in_w == 0 {
        return Ok(());
    }
    if in_h > (1 << 20) || in_w > (1 << 20) || out_h > (1 << 20) || out_w > (1 << 20) {
        return invalid("resize_bilinear: sizes too large for the Q10 integer path");
    }
    let (ih, iw, oh, ow) = (in_h as i32, in_w as i32, out_h as i32, out_w as i32);
    let mut height_scale_10 = ((1 << 10) * ih + oh / 2) / oh;
    let mut width_scale_10 = ((1 << 10) * iw + ow / 2) / ow;
    if options.align_corners && oh > 1 {
        height_scale_10 = ((1 << 10) * (ih - 1) + (oh - 1) / 2) / (oh - 1);
    }
    if options.align_corners && ow > 1 {
        width_scale_10 = ((1 << 10) * (iw - 1) + (ow - 1) / 2) / (ow - 1);
    }
    let idx = |b: usize, y: i32, x: i32, c: usize| {
        ((b * in_h + y as usize) * in_w + x as usize) * depth + c
    };
    let mut o = 0;
    for b in 0..batches {
        for y in 0..oh {
            let (input_y, y0, y1) =
                interpolation_values(y, height_scale_10, options.half_pixel_centers, ih);
            let dy = (input_y - (1 << 10) * y0) as i64;
            for x in 0..ow {
                let (input_x, x0, x1) =
                    interpolation_values(x, width_scale_10, options.half_pixel_centers, iw);
                let dx = (input_x - (1 << 10) * x0) as i64;
                for c in 0..depth {
                    let v00 = input[idx(b, y0, x0, c)].to_i32() as i64;
                    let v10 = input[idx(b, y1, x0, c)].to_i32() as i64;
                    let v01 = input[idx(b, y0, x1, c)].to_i32() as i64;
                    let v11 = input[idx(b, y1, x1, c)].to_i32() as i64;
                    let output_20 = v00 * ((1 << 10) - dy) * ((1 << 10) - dx)
                        + v10 * dy * ((1 << 10) - dx)
                        + v01 * ((1 << 10) - dy) * dx
                        + v11 * dy * dx;
                    let round: i64 = if output_20 > 0 { 1 << 19 } else { -(1 << 19) };
                    output[o] = T::from_i32(((output_20 + round) / (1 << 20)) as i32);
                    o += 1;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsample_2x() {
        let input = [0i8, 100, -100, 50];
        let mut out = [0i8; 16];
        resize_bilinear(
            ResizeOptions {
                align_corners: false,
                half_pixel_centers: true,
            },
            &input,
            [1, 2, 2, 1],
            &mut out,
            (4, 4),
        )
        .unwrap();
        // Corners replicate, centre samples interpolate.
        assert_eq!(out[0], 0);
        assert_eq!(out[1], 25);
        assert_eq!(out[3], 100);
        assert_eq!(out[15], 50);
        let mut out = [0i8; 4];
        resize_bilinear(
            ResizeOptions::default(),
            &input,
            [1, 2, 2, 1],
            &mut out,
            (2, 2),
        )
        .unwrap();
        assert_eq!(out, input);
    }
}
