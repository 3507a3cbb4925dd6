//! `embarc::detect` on HTML-shaped input: the fuzzer's bytes are a program that
//! assembles an article from embed-markup fragments, so mutations reach the
//! blockquote, comment, raw-text, attribution and short-link paths quickly
//! instead of being stopped by the prefilter. Same invariants as `detect`.
//!
//! Input layout: byte 0 chooses the kind (`% 4`: Html twice as often, Markdown,
//! Text); then each byte is one op:
//! - `0..FRAGMENTS.len()`: append that fragment;
//! - `0xF0`: append 1..=20 digits (count and digits from the following bytes);
//! - `0xF1`: append 1..=16 handle/id characters `[A-Za-z0-9_]`;
//! - `0xF2`: append the next `n` bytes verbatim (`n` = next byte % 32);
//! - `0xF3`: repeat the last appended piece `2 + next byte % 8` times;
//!   (the article is capped at `MAX_OUT` bytes)
//! - anything else: append the byte itself (literal text, incl. invalid UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
mod html_shaped;

fuzz_target!(|data: &[u8]| html_shaped::run(data));
