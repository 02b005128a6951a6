//! What the property tests of several files share.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Runs `test` on values of `strategy`, for a property whose every case is tens of
/// conversions (through each format, or each pair of formats): on `local` cases, or on a
/// tenth of `PROPTEST_CASES` where that is more.
///
/// `proptest!` takes `PROPTEST_CASES` as it is, over the test's own count: CI's 20,000 made
/// one such test five minutes long. A tenth is still over 100,000 conversions a test.
/// `source` is the caller's `file!()`, which `proptest!` gives proptest too: it names the
/// `.proptest-regressions` file beside the test.
pub fn heavy<S: Strategy>(
    source: &'static str,
    local: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let asked = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse::<u32>().ok());
    let cases = asked.map_or(local, |n| local.max(n / 10));
    let mut runner =
        TestRunner::new(Config { cases, source_file: Some(source), ..Config::default() });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}\n{runner}");
    }
}
