//! `embarc::detect` never panics on arbitrary bytes, and its spans are in bounds.
//!
//! Input layout: byte 0 chooses the kind (`% 3`: Html, Markdown, Text), the rest
//! is the article.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::run_detect(data));
