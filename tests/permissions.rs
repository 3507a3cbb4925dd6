//! Archives others can read (issue 12), with the real binary: files follow
//! the umask as any Unix tool's do (objects and refs read-only, `0444` less
//! the umask; everything else `0666` less the umask), `render --link` links
//! objects others may read; a read-only archive (another user's, one nobody
//! may write) is listed, shown, verified, rendered and exported by another
//! user without a byte written into it; a missing archive or a location of an
//! unknown kind exits 2 naming it.
//!
//! Root ignores permission bits, so when these tests run as root the reader
//! is user `nobody` (through `setpriv`); otherwise it is the user itself.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::fake_x;

const PHOTO_POST: &str = "1641086480675225601";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_embarc"))
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/archive-v1")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs the binary under `umask` (through `sh`, so the umask is the
/// process's own from its first instruction).
fn under_umask(umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .output()
        .expect("run sh")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

fn dirs_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

fn article(dir: &Path) -> PathBuf {
    let path = dir.join("story.html");
    std::fs::write(
        &path,
        format!(
            r#"<p>Before.</p><blockquote class="twitter-tweet"><p>x</p>&mdash; S (@SamuelSusla) <a href="https://twitter.com/SamuelSusla/status/{PHOTO_POST}">March 31, 2023</a></blockquote><p>After.</p>"#
        ),
    )
    .expect("write article");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn files_follow_the_umask_and_objects_are_read_only() {
    let server = fake_x::start().await;
    let mirrors: Vec<String> = fake_x::mirror_flags(&server.base)
        .into_iter()
        .flat_map(|m| ["--mirror".to_string(), m])
        .collect();
    tokio::task::block_in_place(|| {
        // (umask, objects and refs, other files, folders)
        for (umask, immutable, shared, folder) in
            [("022", 0o444, 0o644, 0o755), ("077", 0o400, 0o600, 0o700)]
        {
            let dir = tempfile::tempdir().expect("tempdir");
            let archive = dir.path().join("archive");
            let a = archive.to_str().expect("utf-8");
            let story = article(dir.path());
            let mut args = vec!["--archive", a, "--json"];
            args.extend(mirrors.iter().map(String::as_str));
            let mut archive_args = args.clone();
            archive_args.extend(["archive", story.to_str().expect("utf-8")]);
            let out = under_umask(umask, &archive_args);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

            let objects = files_under(&archive.join("objects"));
            let refs = files_under(&archive.join("refs"));
            assert!(objects.len() >= 4, "records, answers, avatar, photo");
            assert!(refs.len() >= 2, "a capture and an article");
            for f in objects.iter().chain(&refs) {
                assert_eq!(mode(f), immutable, "umask {umask}: {}", f.display());
            }
            for f in ["EMBARC-ARCHIVE", "FORMAT.md", "index.sqlite"] {
                assert_eq!(mode(&archive.join(f)), shared, "umask {umask}: {f}");
            }
            for d in dirs_under(&archive) {
                assert_eq!(mode(&d), folder, "umask {umask}: {}", d.display());
            }
            assert!(
                files_under(&archive.join("tmp")).is_empty(),
                "no temp file left"
            );

            // Exports and rendered files: 0666 less the umask.
            let out_dir = dir.path().join("out");
            std::fs::create_dir(&out_dir).expect("mkdir");
            let (warc, wacz) = (out_dir.join("a.warc.gz"), out_dir.join("a.wacz"));
            let out = under_umask(
                umask,
                &[
                    "--archive",
                    a,
                    "export",
                    "--warc",
                    warc.to_str().expect("utf-8"),
                    "--wacz",
                    wacz.to_str().expect("utf-8"),
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            assert_eq!(mode(&warc), shared, "umask {umask}: WARC");
            assert_eq!(mode(&wacz), shared, "umask {umask}: WACZ");

            let site = dir.path().join("site");
            let out = under_umask(
                umask,
                &[
                    "--archive",
                    a,
                    "render",
                    story.to_str().expect("utf-8"),
                    "-o",
                    site.to_str().expect("utf-8"),
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let published = files_under(&site);
            assert_eq!(published.len(), 4, "page, stylesheet, avatar, photo");
            for f in &published {
                assert_eq!(mode(f), shared, "umask {umask}: {}", f.display());
                assert_eq!(std::fs::metadata(f).expect("meta").nlink(), 1, "copied");
            }

            // --link: objects others may read are hard-linked (the same
            // inode); objects only their owner may read are copied.
            let linked = dir.path().join("linked");
            let out = under_umask(
                umask,
                &[
                    "--archive",
                    a,
                    "render",
                    story.to_str().expect("utf-8"),
                    "-o",
                    linked.to_str().expect("utf-8"),
                    "--link",
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let media = files_under(&linked.join("media"));
            assert_eq!(media.len(), 2, "avatar and photo");
            for m in &media {
                let hex = m
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("HEX.EXT")
                    .to_string();
                let object = archive.join("objects/sha256").join(&hex[..2]).join(&hex);
                let (m_meta, o_meta) = (
                    std::fs::metadata(m).expect("media"),
                    std::fs::metadata(&object).expect("object"),
                );
                let same = (m_meta.dev(), m_meta.ino()) == (o_meta.dev(), o_meta.ino());
                if umask == "022" {
                    assert!(same, "hard-linked to {}", object.display());
                    assert_eq!(mode(m), 0o444);
                } else {
                    assert!(!same, "a private object is copied, not linked");
                    assert_eq!(mode(m), shared);
                }
            }
        }
    });
}

/// What a tree holds: every entry's path, kind, mode, size, modification
/// time and inode, and each file's bytes.
type Snapshot = BTreeMap<PathBuf, (bool, u32, u64, i64, i64, u64, Vec<u8>)>;

fn snapshot(dir: &Path) -> Snapshot {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let m = e.metadata().expect("meta");
            let bytes = if m.is_file() {
                std::fs::read(e.path()).expect("read")
            } else {
                Vec::new()
            };
            (
                e.path().to_path_buf(),
                (
                    m.is_dir(),
                    m.mode(),
                    m.len(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ino(),
                    bytes,
                ),
            )
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let dest = to.join(entry.path().strip_prefix(from).expect("under"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
            // As a clone checks it out, whatever mode this working tree has.
            set_mode(&dest, 0o644);
        }
    }
}

/// Takes every write permission bit off a tree.
fn make_read_only(dir: &Path) {
    // Contents before their folder (changing a mode needs no write
    // permission on the folder, but keep the order plain anyway).
    let entries: Vec<_> = walkdir::WalkDir::new(dir)
        .contents_first(true)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .collect();
    for p in entries {
        let m = mode(&p);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m & !0o222)).expect("chmod");
    }
}

fn set_mode(path: &Path, m: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).expect("chmod");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

/// The reader: `nobody` when the tests run as root (root ignores permission
/// bits), else the user itself.
struct Reader {
    /// The binary, where the reader may run it.
    bin: PathBuf,
    as_nobody: bool,
}

impl Reader {
    fn new(dir: &Path) -> Reader {
        let as_nobody = is_root();
        let mut reader = Reader {
            bin: bin(),
            as_nobody,
        };
        // The build's binary may sit where `nobody` may not go: copy it.
        if as_nobody
            && !reader
                .command()
                .arg("--version")
                .status()
                .is_ok_and(|s| s.success())
        {
            let copy = dir.join("embarc");
            std::fs::copy(bin(), &copy).expect("copy the binary");
            set_mode(&copy, 0o755);
            reader.bin = copy;
        }
        reader
    }

    fn command(&self) -> Command {
        if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
                .arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        }
    }

    fn run(&self, cwd: &Path, archive: &Path, args: &[&str]) -> Output {
        self.command()
            .current_dir(cwd)
            .arg("--archive")
            .arg(archive)
            .args(args)
            .output()
            .expect("run embarc")
    }
}

/// Runs the owner's binary (no change of user).
fn owner(cwd: &Path, archive: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(cwd)
        .arg("--archive")
        .arg(archive)
        .args(args)
        .output()
        .expect("run embarc")
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn another_user_reads_a_read_only_archive_without_writing_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    set_mode(root, 0o755); // others may reach what is inside
    copy_tree(&fixture().join("articles"), &root.join("articles"));
    let reference = root.join("reference");
    copy_tree(&fixture().join("archive"), &reference);
    let reader = Reader::new(root);
    let articles = root.join("articles");

    // What the owner sees on a writable copy.
    let ls = owner(&articles, &reference, &["--json", "ls"]);
    assert_eq!(ls.status.code(), Some(0), "{}", text(&ls.stderr));
    let expected_ls = json_lines(&ls);
    let post = format!("twitter:{PHOTO_POST}");
    let show = owner(&articles, &reference, &["--json", "show", &post]);
    let expected_show = json_lines(&show);
    assert_eq!(expected_show.len(), 3, "three captures");
    let owner_site = root.join("owner-site");
    let render = owner(
        &articles,
        &reference,
        &[
            "render",
            "story.html",
            "notes.md",
            "-o",
            owner_site.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(render.status.code(), Some(0), "{}", text(&render.stderr));

    // Three read-only archives: one without an index (read into memory),
    // one whose index was built before nobody could write it (read as an
    // immutable file: a ref removed since is still listed from it), and
    // one its owner may write but the reader may not (an index in WAL mode
    // the reader cannot open: read into memory).
    let bare = root.join("bare");
    copy_tree(&fixture().join("archive"), &bare);
    let indexed = root.join("indexed");
    copy_tree(&fixture().join("archive"), &indexed);
    assert_eq!(owner(&articles, &indexed, &["ls"]).status.code(), Some(0));
    assert!(indexed.join("index.sqlite").is_file());
    let shared = root.join("shared");
    copy_tree(&fixture().join("archive"), &shared);
    assert_eq!(owner(&articles, &shared, &["ls"]).status.code(), Some(0));
    make_read_only(&bare);
    make_read_only(&indexed);
    for d in dirs_under(&shared) {
        set_mode(&d, 0o755);
    }
    for f in files_under(&shared) {
        set_mode(&f, 0o644);
    }
    let out = root.join("out");
    std::fs::create_dir(&out).expect("mkdir");
    set_mode(&out, 0o777);

    // Without root there is no other user: an archive its owner may write
    // is not read-only to the reader.
    let archives = if reader.as_nobody {
        vec![&bare, &indexed, &shared]
    } else {
        vec![&bare, &indexed]
    };
    for archive in archives {
        let name = archive.file_name().and_then(|n| n.to_str()).expect("name");
        let before = snapshot(archive);

        let ls = reader.run(&articles, archive, &["--json", "ls"]);
        assert_eq!(ls.status.code(), Some(0), "{name}: {}", text(&ls.stderr));
        assert_eq!(json_lines(&ls), expected_ls, "{name}: ls");

        let show = reader.run(&articles, archive, &["--json", "show", &post]);
        assert_eq!(
            show.status.code(),
            Some(0),
            "{name}: {}",
            text(&show.stderr)
        );
        assert_eq!(json_lines(&show), expected_show, "{name}: show");

        let verify = reader.run(&articles, archive, &["verify"]);
        assert_eq!(
            verify.status.code(),
            Some(0),
            "{name}: {}",
            text(&verify.stderr)
        );
        assert!(text(&verify.stderr).contains("all good"), "{name}");

        let site = out.join(format!("{name}-site"));
        let render = reader.run(
            &articles,
            archive,
            &[
                "render",
                "story.html",
                "notes.md",
                "-o",
                site.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(
            render.status.code(),
            Some(0),
            "{name}: {}",
            text(&render.stderr)
        );
        for f in files_under(&owner_site) {
            let rel = f.strip_prefix(&owner_site).expect("under");
            assert_eq!(
                std::fs::read(site.join(rel)).ok(),
                std::fs::read(&f).ok(),
                "{name}: render {}",
                rel.display()
            );
        }
        // --link from an archive the reader does not own: the system may
        // refuse the link (protected_hardlinks); the media are then copied.
        let linked = out.join(format!("{name}-linked"));
        let render = reader.run(
            &articles,
            archive,
            &[
                "render",
                "story.html",
                "-o",
                linked.to_str().expect("utf-8"),
                "--link",
            ],
        );
        assert_eq!(
            render.status.code(),
            Some(0),
            "{name}: {}",
            text(&render.stderr)
        );
        let media = files_under(&linked.join("media"));
        assert!(!media.is_empty(), "{name}: media published");
        for m in media {
            let same = owner_site.join("media").join(m.file_name().expect("name"));
            assert_eq!(
                std::fs::read(&m).ok(),
                std::fs::read(&same).ok(),
                "{name}: {}",
                m.display()
            );
        }
        let card = reader.run(&articles, archive, &["render", "--post", &post]);
        assert_eq!(
            card.status.code(),
            Some(0),
            "{name}: {}",
            text(&card.stderr)
        );
        assert!(text(&card.stdout).contains("<figure"), "{name}: a card");

        let wacz = out.join(format!("{name}.wacz"));
        let export = reader.run(
            &articles,
            archive,
            &["--json", "export", "--wacz", wacz.to_str().expect("utf-8")],
        );
        assert_eq!(
            export.status.code(),
            Some(0),
            "{name}: {}",
            text(&export.stderr)
        );
        assert_eq!(json_lines(&export)[0]["posts"], expected_ls.len(), "{name}");
        assert!(wacz.is_file(), "{name}: the WACZ is written");

        assert!(
            snapshot(archive) == before,
            "{name}: nothing in the archive changed (no file added, removed or touched)"
        );
    }

    // The immutable index is the one read: a post whose only ref went after
    // the index was built is still listed from it.
    let gone = "twitter:3333333333333333333";
    set_mode(&indexed.join("refs/posts/twitter"), 0o755);
    set_mode(
        &indexed.join("refs/posts/twitter/3333333333333333333"),
        0o755,
    );
    std::fs::remove_dir_all(indexed.join("refs/posts/twitter/3333333333333333333")).expect("rm");
    make_read_only(&indexed);
    let listed = |archive: &Path| {
        let ls = reader.run(&articles, archive, &["--json", "ls"]);
        assert_eq!(ls.status.code(), Some(0), "{}", text(&ls.stderr));
        json_lines(&ls).iter().any(|l| l["post"] == gone)
    };
    assert!(listed(&indexed), "listed from the index file");
    // Without it, the index is built from the refs in memory: the
    // post is gone.
    set_mode(&indexed, 0o755);
    std::fs::remove_file(indexed.join("index.sqlite")).expect("rm index");
    make_read_only(&indexed);
    assert!(!listed(&indexed), "listed from the refs");
    assert!(!indexed.join("index.sqlite").exists(), "no index written");

    // reindex cannot write the index and says what to do.
    let reindex = reader.run(&articles, &bare, &["reindex"]);
    assert_eq!(reindex.status.code(), Some(2));
    assert!(
        text(&reindex.stderr).contains("--index"),
        "{}",
        text(&reindex.stderr)
    );
    let elsewhere = out.join("bare.sqlite");
    let reindex = reader.run(
        &articles,
        &bare,
        &["--index", elsewhere.to_str().expect("utf-8"), "reindex"],
    );
    assert_eq!(reindex.status.code(), Some(0), "{}", text(&reindex.stderr));

    // Leave the temp dir removable by a user who is not root.
    for p in [&bare, &indexed] {
        for d in dirs_under(p) {
            set_mode(&d, 0o755);
        }
    }
}

#[test]
fn a_missing_archive_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-archive");
    let m = missing.to_str().expect("utf-8");
    let article = dir.path().join("a.html");
    std::fs::write(&article, "<p>nothing</p>").expect("write");
    let a = article.to_str().expect("utf-8");
    let out = dir.path().join("out");
    let o = out.to_str().expect("utf-8");
    let wacz = dir.path().join("x.wacz");
    for args in [
        vec!["ls"],
        vec!["verify"],
        vec!["reindex"],
        vec!["show", "twitter:20"],
        vec!["export", "--wacz", wacz.to_str().expect("utf-8")],
        vec!["render", a, "-o", o],
        vec!["render", "--post", "twitter:20"],
    ] {
        let run = owner(dir.path(), &missing, &args);
        let err = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.contains(&format!("no embarc archive at {m}")),
            "{args:?}: {err}"
        );
        assert!(err.contains("embarc add"), "says what to do: {err}");
        assert!(!missing.exists(), "{args:?} created the archive");
        assert!(!wacz.exists() && !out.join("a.html").exists(), "{args:?}");
    }
    // A writer creates it.
    let run = owner(dir.path(), &missing, &["archive", a]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(missing.join("EMBARC-ARCHIVE").is_file());
    let ls = owner(dir.path(), &missing, &["ls"]);
    assert_eq!(ls.status.code(), Some(0), "an empty archive lists nothing");
    assert!(ls.stdout.is_empty());
}

#[test]
fn an_archive_location_of_an_unknown_kind_exits_2_for_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let article = dir.path().join("a.html");
    std::fs::write(&article, "<p>nothing</p>").expect("write");
    let a = article.to_str().expect("utf-8");
    for location in ["ftp://x/y", "http://example.org/archive", "file:///tmp/a"] {
        for args in [
            vec!["ls"],
            vec!["verify"],
            vec!["reindex"],
            vec!["show", "twitter:20"],
            vec!["export", "--warc", "x.warc.gz"],
            vec!["render", a, "-o", "out"],
            vec!["add", "twitter:20"],
            vec!["archive", a],
            vec!["scan", a],
        ] {
            let run = owner(dir.path(), Path::new(location), &args);
            let err = text(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{location} {args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
            assert!(err.contains(location), "names it: {err}");
            assert!(
                err.contains("s3://BUCKET/PREFIX") && err.contains("folder"),
                "lists what works: {err}"
            );
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("a.html")],
        "no folder made"
    );
}
