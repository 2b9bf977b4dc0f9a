//! RESHAPE: a no-op on the data.

use crate::error::check_len;
use crate::Result;

/// RESHAPE keeps the row-major element order, so the data is unchanged: this copies `input`
/// into `output` (same length). An interpreter normally moves the buffer and only changes the
/// shape instead of calling this.
pub fn reshape<T: Copy>(input: &[T], output: &mut [T]) -> Result<()> {
    check_len("reshape output", output.len(), input.len())?;
    output.copy_from_slice(input);
    Ok(())
}
