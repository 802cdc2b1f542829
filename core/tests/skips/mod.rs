//! Notes left by skipped tests, so that a green run that skipped a suite
//! says so: `make test` lists them at the end (tests/skips/summary.sh).
//!
//! A test that cannot run here calls [`skip`] and returns. The reason
//! always goes to stderr; when `TESSERA_SKIP_DIR` is set (the Makefile
//! sets it), it is also written to `<dir>/<suite>/<test>`.

use std::path::PathBuf;

/// Says that `test` of `suite` is skipped, and why.
pub fn skip(suite: &str, test: &str, reason: &str) {
    eprintln!("{test}: skipped, {reason}");
    let Some(dir) = std::env::var_os("TESSERA_SKIP_DIR").filter(|d| !d.is_empty()) else {
        return;
    };
    let dir = PathBuf::from(dir).join(suite);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(test), format!("{reason}\n")))
        .unwrap_or_else(|e| panic!("cannot leave a skip note in {}: {e}", dir.display()));
}
