//! The self-contained HTML quantization report: inline SVG plots drawn with `plotters`
//! (per-layer SQNR chart, float-vs-quantized histograms with the representable range for the
//! worst layers), the layers to keep in float with the command line that does it, and the
//! full per-tensor table. No scripts, no external resources.

use super::{Comparison, Histogram, TensorStats};
use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// What the report shows besides the comparison itself.
pub struct ReportContext<'a> {
    /// Float model path as given by the user.
    pub float_model: &'a str,
    /// Quantized model path as given by the user.
    pub quant_model: &'a str,
    /// Description of the data the models ran on.
    pub data: &'a str,
    /// Nodes recommended to keep in float, most harmful first.
    pub keep_float: Vec<&'a TensorStats>,
    /// The `edgequant quantize ... --keep-float ...` command to print, if one can be built.
    pub command: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("cannot draw the report plot: {e:?}")
}

/// Bar chart of the SQNR (dB) of every matched tensor in execution order; bars of the
/// recommended keep-float layers in red, float tensors in grey.
pub fn sqnr_chart(c: &Comparison, highlight: &[&TensorStats]) -> Result<String> {
    let mut svg = String::new();
    {
        let n = c.tensors.len().max(1);
        let top = c
            .tensors
            .iter()
            .map(|t| t.sqnr_db.unwrap_or(0.0).min(super::SQNR_CAP_DB))
            .fold(10.0f64, f64::max)
            * 1.1;
        let root = SVGBackend::with_string(&mut svg, (960, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("SQNR per tensor (dB, higher is better)", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("tensor # (execution order, see table)")
            .y_desc("SQNR dB")
            .x_labels(n.min(30))
            .x_label_formatter(&|x| format!("{}", *x as usize))
            .disable_x_mesh()
            .draw()
            .map_err(plot_err)?;
        let hot: Vec<&str> = highlight.iter().map(|t| t.name.as_str()).collect();
        chart
            .draw_series(c.tensors.iter().enumerate().map(|(i, t)| {
                let v = t
                    .sqnr_db
                    .unwrap_or(super::SQNR_CAP_DB)
                    .min(super::SQNR_CAP_DB);
                let color = if hot.contains(&t.name.as_str()) {
                    RGBColor(214, 39, 40)
                } else if t.quant.is_none() {
                    RGBColor(160, 160, 160)
                } else {
                    RGBColor(31, 119, 180)
                };
                Rectangle::new(
                    [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, v)],
                    color.filled(),
                )
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Histogram plot of one tensor: float values and dequantized quantized values over the same
/// bins (log-scaled counts), with the representable range and the observed float range
/// marked.
pub fn histogram_chart(h: &Histogram, t: &TensorStats) -> Result<String> {
    let mut svg = String::new();
    {
        let x0 = h.start;
        let x1 = h.start + h.width * h.float_counts.len() as f64;
        let peak = h
            .float_counts
            .iter()
            .chain(&h.quant_counts)
            .copied()
            .max()
            .unwrap_or(1)
            .max(1);
        let ymax = ((peak as f64) + 1.0).log10() * 1.05;
        let root = SVGBackend::with_string(&mut svg, (460, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(short(&t.name, 48), ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, 0f64..ymax)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_desc("log10(count+1)")
            .x_label_formatter(&|x| format!("{x:.3}"))
            .draw()
            .map_err(plot_err)?;
        let lg = |c: u64| ((c as f64) + 1.0).log10();
        chart
            .draw_series(h.float_counts.iter().enumerate().map(|(i, &c)| {
                let a = x0 + h.width * i as f64;
                Rectangle::new(
                    [(a, 0.0), (a + h.width, lg(c))],
                    RGBColor(31, 119, 180).mix(0.55).filled(),
                )
            }))
            .map_err(plot_err)?
            .label("float")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 12, y + 5)],
                    RGBColor(31, 119, 180).mix(0.55).filled(),
                )
            });
        chart
            .draw_series(h.quant_counts.iter().enumerate().map(|(i, &c)| {
                let a = x0 + h.width * i as f64;
                Rectangle::new(
                    [(a, 0.0), (a + h.width, lg(c))],
                    RGBColor(255, 127, 14).mix(0.55).filled(),
                )
            }))
            .map_err(plot_err)?
            .label("quantized (dequantized)")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 12, y + 5)],
                    RGBColor(255, 127, 14).mix(0.55).filled(),
                )
            });
        let vline = |x: f64, color: RGBColor| {
            LineSeries::new(vec![(x, 0.0), (x, ymax)], color.stroke_width(2))
        };
        if let Some(q) = &t.quant {
            chart
                .draw_series(vline(q.representable.0 as f64, RGBColor(214, 39, 40)))
                .map_err(plot_err)?
                .label("representable range")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], RGBColor(214, 39, 40))
                });
            chart
                .draw_series(vline(q.representable.1 as f64, RGBColor(214, 39, 40)))
                .map_err(plot_err)?;
        }
        chart
            .draw_series(vline(t.float_range.0 as f64, RGBColor(44, 160, 44)))
            .map_err(plot_err)?
            .label("observed float range")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], RGBColor(44, 160, 44)));
        chart
            .draw_series(vline(t.float_range.1 as f64, RGBColor(44, 160, 44)))
            .map_err(plot_err)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 11))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let tail: Vec<char> = s.chars().rev().take(max - 1).collect();
    format!("…{}", tail.into_iter().rev().collect::<String>())
}

fn fmt_sqnr(s: Option<f64>) -> String {
    s.map_or("∞".into(), |d| format!("{d:.2}"))
}

/// Renders the whole report as one HTML document.
pub fn render(
    c: &Comparison,
    hists: &[(Histogram, &TensorStats)],
    ctx: &ReportContext,
) -> Result<String> {
    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    h += "<title>edgequant quantization report</title>\n<style>\n";
    h += "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}\
          h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\
          table{border-collapse:collapse;font-size:11px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}\
          td.l,th.l{text-align:left}tr.hot td{background:#fde0e0}code,pre{background:#f4f4f4;padding:2px 4px}\
          pre{padding:8px;white-space:pre-wrap;word-break:break-all}td.l{max-width:300px;word-break:break-all}.grid{display:flex;flex-wrap:wrap;gap:12px}\
          .k{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}\n";
    h += "</style></head><body>\n<h1>edgequant quantization report</h1>\n";
    h += &format!(
        "<p>Float model <code>{}</code> vs quantized model <code>{}</code>, {} sample(s) from <code>{}</code>; {} tensors matched{}.</p>\n",
        esc(ctx.float_model),
        esc(ctx.quant_model),
        c.samples,
        esc(ctx.data),
        c.tensors.len(),
        if c.unmatched.is_empty() {
            String::new()
        } else {
            format!(", {} float tensor(s) without a counterpart", c.unmatched.len())
        }
    );
    if !c.outputs.is_empty() {
        h += "<p>Model outputs: ";
        let parts: Vec<String> = c
            .outputs
            .iter()
            .map(|&i| {
                let t = &c.tensors[i];
                format!(
                    "<code>{}</code> SQNR {} dB, max |error| {:.4}",
                    esc(&t.name),
                    fmt_sqnr(t.sqnr_db),
                    t.max_abs_error
                )
            })
            .collect();
        h += &parts.join("; ");
        h += "</p>\n";
    }

    h += "<h2>Layers to keep in float</h2>\n";
    if ctx.keep_float.is_empty() {
        h += "<p>No quantized layer loses much SQNR by itself: nothing to keep in float.</p>\n";
    } else {
        h += "<p>These quantized layers add the most quantization noise themselves (lowest <em>own SQNR</em>: \
              the SQNR of the noise a layer adds on top of the noise of its inputs), so keeping them in float \
              removes the most error per layer:</p>\n<ol>\n";
        for t in &ctx.keep_float {
            h += &format!(
                "<li><code>{}</code> ({}): SQNR {} dB, own SQNR {} dB, clipped {:.3} %</li>\n",
                esc(t.node.as_deref().unwrap_or(&t.name)),
                esc(t.op.as_deref().unwrap_or("")),
                fmt_sqnr(t.sqnr_db),
                fmt_sqnr(t.own_sqnr_db),
                100.0 * t.clipped_fraction
            );
        }
        h += "</ol>\n";
        if let Some(cmd) = &ctx.command {
            h += &format!("<pre>{}</pre>\n", esc(cmd));
        }
        h += "<p>To keep only as many as needed to reach an accuracy target, use \
              <code>edgequant quantize --target-accuracy ACC --eval-data X --eval-labels Y</code>.</p>\n";
    }

    h += "<h2>SQNR per tensor</h2>\n";
    h += "<p><span class=\"k\" style=\"background:#1f77b4\"></span>quantized\
          <span class=\"k\" style=\"background:#d62728\"></span>recommended to keep in float\
          <span class=\"k\" style=\"background:#a0a0a0\"></span>float in the quantized model</p>\n";
    h += &sqnr_chart(c, &ctx.keep_float)?;
    h += "\n<h2>Ranges of the worst layers</h2>\n<p>Histograms of the float values and of the quantized values \
          (dequantized) of the tensors with the lowest SQNR. Red lines: the range the integer type can \
          represent, <code>[(qmin − zero_point)·scale, (qmax − zero_point)·scale]</code>; green lines: \
          the observed float range. Float values outside the red lines are clipped.</p>\n<div class=\"grid\">\n";
    for (hist, t) in hists {
        h += "<div>";
        h += &histogram_chart(hist, t)?;
        h += "</div>\n";
    }
    h += "</div>\n<h2>All tensors</h2>\n<table>\n<tr><th>#</th><th class=\"l\">tensor</th><th class=\"l\">node</th><th class=\"l\">op</th>\
          <th>SQNR dB</th><th>own SQNR dB</th><th>MSE</th><th>max |err|</th><th>mean err</th><th class=\"l\">type</th>\
          <th>scale</th><th>zero point</th><th>float range</th><th>representable</th><th>clipped %</th></tr>\n";
    let hot: Vec<&str> = ctx.keep_float.iter().map(|t| t.name.as_str()).collect();
    for (i, t) in c.tensors.iter().enumerate() {
        let (ty, scale, zp, repr) = match &t.quant {
            Some(q) => (
                q.dtype.clone(),
                format!("{:.6e}", q.scale),
                q.zero_point.to_string(),
                format!("[{:.4}, {:.4}]", q.representable.0, q.representable.1),
            ),
            None => ("float32".into(), "".into(), "".into(), "".into()),
        };
        h += &format!(
            "<tr{}><td>{i}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>\
             <td>{:.3e}</td><td>{:.3e}</td><td>{:.2e}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>[{:.4}, {:.4}]</td><td>{}</td><td>{:.3}</td></tr>\n",
            if hot.contains(&t.name.as_str()) { " class=\"hot\"" } else { "" },
            esc(&short(&t.name, 60)),
            esc(&short(t.node.as_deref().unwrap_or("(model input)"), 40)),
            esc(t.op.as_deref().unwrap_or("")),
            fmt_sqnr(t.sqnr_db),
            fmt_sqnr(t.own_sqnr_db),
            t.mse,
            t.max_abs_error,
            t.mean_error,
            ty,
            scale,
            zp,
            t.float_range.0,
            t.float_range.1,
            repr,
            100.0 * t.clipped_fraction
        );
    }
    h += "</table>\n";
    if !c.unmatched.is_empty() {
        h += "<p>Float tensors without a counterpart in the quantized model: ";
        h += &c
            .unmatched
            .iter()
            .map(|n| format!("<code>{}</code>", esc(n)))
            .collect::<Vec<_>>()
            .join(", ");
        h += "</p>\n";
    }
    h += &format!(
        "<p style=\"color:#777;font-size:11px\">edgequant {}</p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(h)
}
