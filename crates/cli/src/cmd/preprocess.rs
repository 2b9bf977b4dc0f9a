//! The data-preprocessing flags shared by every command that reads samples (`quantize`,
//! `eval`, `compare`, `train`, `qat`): `--mean`, `--std`, `--resize`, `--layout`.

use anyhow::Result;
use edgequant_calib::{Layout, ReadOptions};

/// How uint8 data and images become float model inputs (see [`ReadOptions`]).
#[derive(clap::Args, Debug, Clone)]
pub struct PreprocessArgs {
    /// Per-channel mean subtracted from uint8 data/images (one value or one per channel).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub mean: Vec<f32>,
    /// Per-channel divisor of uint8 data/images (one value or one per channel).
    #[arg(long, value_delimiter = ',', default_value = "255")]
    pub std: Vec<f32>,
    /// Resize images to H,W.
    #[arg(long, value_delimiter = ',', num_args = 1)]
    pub resize: Option<Vec<usize>>,
    /// Layout of image samples: nhwc or nchw.
    #[arg(long, default_value = "nhwc")]
    pub layout: String,
}

impl PreprocessArgs {
    /// The reading options for these flags, keeping at most `max_samples` samples. Errors
    /// when `--resize` is not `H,W` or `--layout` is neither `nhwc` nor `nchw`.
    pub fn read_options(&self, max_samples: Option<usize>) -> Result<ReadOptions> {
        Ok(ReadOptions {
            max_samples,
            mean: self.mean.clone(),
            std: self.std.clone(),
            resize: super::quantize::parse_resize(self.resize.as_deref())?,
            layout: self.layout.parse::<Layout>()?,
        })
    }
}
