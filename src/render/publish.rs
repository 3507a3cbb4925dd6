//! Publishing what rendered pages use next to them: archived media under
//! content-addressed names (`media/HEX.EXT`, copied or hard-linked, verified
//! either way) and the stylesheet. Every file is written to a temporary name
//! and renamed, so an interrupted render never leaves a partial file under a
//! final name. Pages, the stylesheet and copied media are created like any
//! file a Unix tool writes (`0666` less the umask: `rw-r--r--` under 022), so a
//! web server can read them; a hard link shares its object's mode.

use super::view::MediaRef;
use crate::error::{Error, Result};
use crate::store::mode::{SHARED, temp_file};
use crate::store::{Archive, Digest};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How media files reach the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    /// Copied (verified while copied).
    Copy,
    /// Hard-linked to the archive object (verified first); copied when the
    /// output is on another filesystem, the archive is a bucket, or the
    /// object is not readable by others (a link shares its mode).
    Link,
}

/// What publishing did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Files written now.
    pub written: usize,
    /// Files already there (same name, same size).
    pub present: usize,
    /// Bytes written or linked.
    pub bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Publishes `files` under `dir` (created if needed).
pub fn media(
    archive: &Archive,
    files: impl IntoIterator<Item = MediaRef>,
    dir: &Path,
    mode: MediaMode,
) -> Result<Published> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut done = Published::default();
    for m in files {
        let name = format!("{}.{}", m.digest.hex(), m.ext);
        let dest = dir.join(&name);
        let object = archive.object_path(&m.digest);
        let size = archive.object_size(&m.digest)?;
        if std::fs::metadata(&dest).is_ok_and(|d| d.is_file() && d.len() == size) {
            done.present += 1;
            continue;
        }
        // A link shares the object's mode: only an object others may read
        // (what a web server needs) is linked; any other is copied.
        let readable = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&object).is_ok_and(|md| md.permissions().mode() & 0o004 != 0)
        };
        if mode == MediaMode::Link && !archive.is_remote() && readable {
            verify(archive, &m.digest)?;
            let tmp = temp_name(dir, &name);
            if std::fs::hard_link(&object, &tmp).is_ok() {
                std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
                done.written += 1;
                done.bytes += size;
                continue;
            }
        }
        let mut reader = archive.open_object(&m.digest)?;
        let mut tmp = temp_file(dir, ".embarc-", SHARED).map_err(io(dir))?;
        // The verifying reader fails at EOF on a mismatch: nothing is renamed.
        let n = copy(&mut reader, tmp.as_file_mut(), &object, &dest)?;
        tmp.as_file_mut().flush().map_err(io(&dest))?;
        tmp.persist(&dest).map_err(|e| Error::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        done.written += 1;
        done.bytes += n;
    }
    Ok(done)
}

fn verify(archive: &Archive, d: &Digest) -> Result<()> {
    let object = archive.object_path(d);
    copy(
        &mut archive.open_object(d)?,
        &mut std::io::sink(),
        &object,
        Path::new("-"),
    )?;
    Ok(())
}

/// Copies, naming the object on a read error (a corrupt object says so) and
/// the destination on a write error.
fn copy(r: &mut impl Read, w: &mut impl Write, from: &Path, to: &Path) -> Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let got = match r.read(&mut buf) {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(from)(e)),
        };
        if got == 0 {
            return Ok(n);
        }
        w.write_all(&buf[..got]).map_err(io(to))?;
        n += got as u64;
    }
}

fn temp_name(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".embarc-{}-{name}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = temp_file(dir, ".embarc-", SHARED).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.persist(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}
