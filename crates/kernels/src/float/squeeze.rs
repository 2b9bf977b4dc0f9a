//! SQUEEZE: a no-op on the data.

use crate::Result;

/// SQUEEZE removes unit dims only, so the data is unchanged (see [`super::reshape`]).
pub fn squeeze<T: Copy>(input: &[T], output: &mut [T]) -> Result<()> {
    super::reshape(input, output)
}
