//! Build script: records the git commit the binary is built from (when built
//! from a clone) for `embarc --version`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let value = commit.unwrap_or_else(|| "not built from a git clone".into());
    println!("cargo:rustc-env=EMBARC_COMMIT={value}");
}
