//! File modes: every file embarc writes is created with the mode it asks the
//! kernel for, and the kernel takes the umask (or a folder's default ACL) off
//! it, as for any Unix tool. Objects and refs never change, so they are asked
//! for read-only and readable by others (`0444`: `r--r--r--` under the usual
//! umask 022, `r--------` under 077); everything else (the marker, the index,
//! exported and rendered files) for `0666` (`rw-r--r--` under 022). Folders are
//! made with `0777`, umask taken off, by `create_dir_all`.
//!
//! The mode is given when the file is created, never set afterwards, so
//! embarc never needs to read the umask (`umask(2)` can only be read by
//! setting it, which races with other threads) and a temp file keeps its mode
//! when renamed into place. A file created read-only is still written through
//! the descriptor that created it.

use std::path::Path;
use tempfile::NamedTempFile;

/// The mode asked for objects and refs, which are never rewritten: read-only,
/// readable by others (the umask may take that away).
pub(crate) const IMMUTABLE: u32 = 0o444;

/// The mode asked for every other file (the marker, the index, exports,
/// rendered pages and media): what the umask allows, as `touch` would.
pub(crate) const SHARED: u32 = 0o666;

/// A new temp file in `dir`, named `PREFIX…`, created with `mode` (less the
/// umask); it takes its final name by rename, mode and all.
pub(crate) fn temp_file(dir: &Path, prefix: &str, mode: u32) -> std::io::Result<NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
}
