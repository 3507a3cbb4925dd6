//! A fake X on a local port, to watch the whole pipeline offline:
//!
//! ```sh
//! cargo run --example fake-x            # prints the --mirror flags to use
//! cargo run -- $(those flags) add https://twitter.com/SamuelSusla/status/1641086480675225601
//! ```
//!
//! It plays every host embarc fetches with the real answers in
//! `tests/fixtures/corpus/responses/` (set `EMBARC_RESPONSES` to point elsewhere),
//! plus X's failure modes for the ids listed in `tests/support/fake_x.rs`.

#[path = "../tests/support/mod.rs"]
mod support;

use support::fake_x;

#[tokio::main]
async fn main() {
    let server = fake_x::start().await;
    let flags: Vec<String> = fake_x::mirror_flags(&server.base)
        .iter()
        .map(|m| format!("--mirror {m}"))
        .collect();
    println!("fake X listening on {}", server.base);
    println!(
        "use: cargo run -- {} add https://twitter.com/SamuelSusla/status/1641086480675225601",
        flags.join(" ")
    );
    println!(
        "or:  export EMBARC_MIRROR={}",
        fake_x::mirror_flags(&server.base).join(",")
    );
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
}
