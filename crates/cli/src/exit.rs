//! Exit codes and top-level error reporting.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | bad input: unreadable, corrupt or unsupported model or data, or a failed check |
//! | 2 | usage error (unknown flag, missing argument; reported by clap) |
//! | 70 | internal error: a bug in edgequant (a caught panic) |

/// Exit code for bad input (see module docs).
pub const BAD_INPUT: i32 = 1;
/// Exit code for internal errors (see module docs).
pub const INTERNAL: i32 = 70;

/// Prints `error: <cause chain>` on one line (see [`one_line`]) and exits with [`BAD_INPUT`].
pub fn report(e: &anyhow::Error) -> ! {
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    eprintln!("error: {}", one_line(&chain));
    std::process::exit(BAD_INPUT);
}

/// Joins an error's cause chain (outermost first) with `": "` on one line: whitespace is
/// folded, a cause whose text the line already ends with is left out, and a cause that starts
/// with `PATH: ` where the line already quotes `'PATH'` loses that prefix.
pub fn one_line(chain: &[String]) -> String {
    let mut line = String::new();
    for msg in chain {
        let mut m = msg.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            line = m;
            continue;
        }
        if line.ends_with(&m) {
            continue;
        }
        if let Some((head, rest)) = m.split_once(": ") {
            if line.contains(&format!("'{head}'")) {
                m = rest.to_string();
            }
        }
        line.push_str(": ");
        line.push_str(&m);
    }
    line
}

/// Makes any panic print an internal-error message that asks for a bug report and exit with
/// [`INTERNAL`] instead of Rust's default panic output and code 101.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let loc = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!(
            "internal error: {msg}{loc}\nThis is a bug in edgequant {}. Please report it with the command line you ran and, if you can share it, the model file.",
            env!("CARGO_PKG_VERSION")
        );
        std::process::exit(INTERNAL);
    }));
}

/// Environment variable naming a fault-injection point (see [`fault_point`]); for tests only.
pub const INJECT_PANIC_ENV: &str = "EDGEQUANT_INJECT_PANIC";

/// Panics when the environment variable [`INJECT_PANIC_ENV`] equals `point`. Lets the tests
/// prove that a panic anywhere is reported as an internal error (point `main`, before the
/// subcommand runs) and that a crash in the middle of writing an output leaves the output path
/// untouched (point `write`, after the temporary file is written and before it is renamed). Unset in normal use.
pub fn fault_point(point: &str) {
    if std::env::var_os(INJECT_PANIC_ENV).is_some_and(|v| v == point) {
        panic!("fault injected at '{point}' ({INJECT_PANIC_ENV})");
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn drops_repeated_cause_and_quoted_path_prefix() {
        let c = s(&[
            "cannot read calibration data 'd/x.gz'",
            "d/x.gz: corrupt deflate stream",
            "corrupt deflate stream",
        ]);
        assert_eq!(
            one_line(&c),
            "cannot read calibration data 'd/x.gz': corrupt deflate stream"
        );
    }

    #[test]
    fn keeps_distinct_causes_and_unquoted_paths() {
        let c = s(&["cannot read 'a'", "b: bad\n  header", "io error"]);
        assert_eq!(one_line(&c), "cannot read 'a': b: bad header: io error");
    }
}
