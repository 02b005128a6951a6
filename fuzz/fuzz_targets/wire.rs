//! Feeds each input to every view and every `Repr::parse` of `ubond-wire`, raw and dissected as
//! an Ethernet frame, with the invariant checks of `crates/ubond-wire/tests/support/exercise.rs`
//! (the same code the property tests run). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/ubond-wire/tests/support/exercise.rs"]
mod exercise;

fuzz_target!(|data: &[u8]| {
    exercise::exercise(data);
});
