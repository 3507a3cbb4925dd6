//! The archive under accident and attack (issue 19), with the real binary
//! against the fake X: a `tmp/` symlinked out of the archive deletes nothing
//! outside, symlinked folders are refused, `verify` names symlinks, stray
//! files, FIFOs and folders, racing first writers all succeed, a corrupt or
//! missing object is healed by a re-capture and by `verify --repair` (from
//! the network or another archive), one lost record or one garbage ref
//! degrades only its post, and a garbage index is rebuilt.

mod support;

use support::fake_x::{Env, env};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::fake_x;

/// What a run of embarc gave: exit code, stdout, stderr.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn command(archive: &Path, server: &support::Server, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
    cmd.arg("--archive").arg(archive);
    for m in fake_x::mirror_flags(&server.base) {
        cmd.arg("--mirror").arg(m);
    }
    cmd.args(args).env_remove("EMBARC_ALLOW_SYMLINKS");
    cmd
}

fn output(mut cmd: Command) -> Out {
    let out = cmd.output().expect("run embarc");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(env: &Env, args: &[&str]) -> Out {
    output(command(&env.archive, &env.server, args))
}

fn post(n: u64) -> String {
    format!("twitter:{}", fake_x::synthetic_id(n))
}

/// Adds synthetic posts (two photos each) and checks they were stored.
fn add(env: &Env, ns: &[u64]) {
    let posts: Vec<String> = ns.iter().map(|n| post(*n)).collect();
    let mut args = vec!["add"];
    args.extend(posts.iter().map(String::as_str));
    let out = run(env, &args);
    assert_eq!(out.code, Some(0), "{out:?}");
}

fn object(archive: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    archive.join("objects/sha256").join(&hex[..2]).join(hex)
}

/// The digests of a post's photos (from `show --json`).
fn photos(env: &Env, n: u64) -> Vec<String> {
    let out = run(env, &["show", "--json", &post(n)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines = out.json();
    let last = lines.last().expect("a capture");
    last["media"]
        .as_array()
        .expect("media")
        .iter()
        .filter(|m| m["role"] == "photo")
        .map(|m| m["digest"].as_str().expect("digest").to_string())
        .collect()
}

/// The digest of a post's newest capture record (from `show --json`).
fn record(env: &Env, n: u64) -> String {
    let out = run(env, &["show", "--json", &post(n)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.json().last().expect("a capture")["capture"]
        .as_str()
        .expect("capture")
        .to_string()
}

fn flip_byte(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut bytes = std::fs::read(path).expect("read object");
    bytes[10] ^= 0x01;
    std::fs::write(path, bytes).expect("write object");
}

fn verify_json(env: &Env) -> (Option<i32>, Vec<Value>) {
    let out = run(env, &["verify", "--json"]);
    (out.code, out.json())
}

fn touch_old(path: &Path) {
    let ok = Command::new("touch")
        .args(["-h", "-d", "3 hours ago"])
        .arg(path)
        .status()
        .expect("touch")
        .success();
    assert!(ok, "touch -d {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tmp_symlinked_out_of_the_archive_deletes_nothing_outside() {
    let env = env().await;
    add(&env, &[1]);
    // Old files beside the archive, one named like embarc's temp files.
    let outside = env.dir.path();
    let planted: Vec<PathBuf> = ["notes.txt", ".put-abcdef", ".ref-abcdef"]
        .iter()
        .map(|n| outside.join(n))
        .collect();
    for p in &planted {
        std::fs::write(p, b"mine").expect("plant");
        touch_old(p);
    }
    let tmp = env.archive.join("tmp");
    std::fs::remove_dir_all(&tmp).expect("rm tmp");
    std::os::unix::fs::symlink("..", &tmp).expect("symlink tmp");

    let out = run(&env, &["add", &post(2)]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains(&tmp.display().to_string())
            && out.stderr.contains("symlink")
            && out.stderr.contains("EMBARC_ALLOW_SYMLINKS"),
        "{out:?}"
    );
    // Deliberate: allowed, and still nothing outside is cleaned.
    let mut cmd = command(&env.archive, &env.server, &["add", &post(2)]);
    cmd.env("EMBARC_ALLOW_SYMLINKS", "1");
    let out = output(cmd);
    assert_eq!(out.code, Some(0), "{out:?}");
    for p in &planted {
        assert!(p.exists(), "{} was deleted", p.display());
    }
    // Only embarc's own old temp files go, from a real tmp/.
    std::fs::remove_file(&tmp).expect("rm link");
    std::fs::create_dir(&tmp).expect("mkdir tmp");
    for name in [".put-old123", "keep.txt"] {
        std::fs::write(tmp.join(name), b"x").expect("plant");
        touch_old(&tmp.join(name));
    }
    let out = run(&env, &["add", &post(1)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!tmp.join(".put-old123").exists());
    assert!(tmp.join("keep.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn symlinked_folders_are_refused_and_listed_by_verify() {
    let env = env().await;
    add(&env, &[1]);
    let d = photos(&env, 1).remove(0);
    let fan_out = object(&env.archive, &d)
        .parent()
        .expect("fan-out")
        .to_path_buf();
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::rename(&fan_out, &elsewhere).expect("move fan-out");
    std::os::unix::fs::symlink(&elsewhere, &fan_out).expect("symlink fan-out");
    let before: Vec<_> = std::fs::read_dir(&elsewhere).expect("ls").collect();

    let out = run(&env, &["add", &post(2)]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains(&fan_out.display().to_string()) && out.stderr.contains("symlink"),
        "{out:?}"
    );
    let after: Vec<_> = std::fs::read_dir(&elsewhere).expect("ls").collect();
    assert_eq!(before.len(), after.len(), "written through the link");

    let (code, problems) = verify_json(&env);
    assert_eq!(code, Some(1), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p["problem"] == "symlink" && p["path"] == fan_out.display().to_string()),
        "{problems:?}"
    );

    // refs/ symlinked out: refused too.
    std::fs::remove_file(&fan_out).expect("rm link");
    std::fs::rename(&elsewhere, &fan_out).expect("move back");
    let refs = env.archive.join("refs");
    let refs_elsewhere = env.dir.path().join("refs-elsewhere");
    std::fs::rename(&refs, &refs_elsewhere).expect("move refs");
    std::os::unix::fs::symlink(&refs_elsewhere, &refs).expect("symlink refs");
    let out = run(&env, &["add", &post(3)]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains(&refs.display().to_string()), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_lists_symlinks_stray_files_fifos_and_folders() {
    let env = env().await;
    add(&env, &[1]);
    let d = photos(&env, 1).remove(0);
    let obj = object(&env.archive, &d);
    // An object replaced by a symlink to a file of other bytes.
    let decoy = env.dir.path().join("decoy");
    std::fs::write(&decoy, b"not the photo").expect("decoy");
    std::fs::remove_file(&obj).expect("rm object");
    std::os::unix::fs::symlink(&decoy, &obj).expect("symlink object");
    let sha = env.archive.join("objects/sha256");
    std::fs::write(sha.join("junk"), b"junk").expect("junk");
    let fifo = sha.join("ff");
    std::fs::create_dir_all(&fifo).expect("mkdir ff");
    let fifo = fifo.join("a-fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let deeper = sha.join("ab").join("deeper");
    std::fs::create_dir_all(&deeper).expect("deeper");
    std::fs::write(deeper.join("x"), b"x").expect("deeper file");
    let ref_fifo = env.archive.join("refs/posts/twitter/odd-fifo");
    std::fs::create_dir_all(ref_fifo.parent().expect("parent")).expect("mkdir");
    assert!(
        Command::new("mkfifo")
            .arg(&ref_fifo)
            .status()
            .expect("mkfifo")
            .success()
    );

    let (code, problems) = verify_json(&env);
    assert_eq!(code, Some(1), "{problems:?}");
    let has = |kind: &str, path: &Path| {
        problems
            .iter()
            .any(|p| p["problem"] == kind && p["path"] == path.display().to_string())
    };
    assert!(has("symlink", &obj), "{problems:?}");
    assert!(has("stray", &sha.join("junk")), "{problems:?}");
    assert!(has("special", &fifo), "{problems:?}");
    assert!(has("special", &ref_fifo), "{problems:?}");
    assert!(has("stray_folder", &deeper), "{problems:?}");
    // The symlinked object is not taken for the photo: it is missing.
    assert!(
        problems
            .iter()
            .any(|p| p["problem"] == "missing" && p["digest"] == d.as_str()),
        "{problems:?}"
    );
    // Reading through the link is refused too, naming it.
    let out = run(&env, &["verify"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("symlink: "), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn four_first_writers_race_and_all_succeed() {
    let env = env().await;
    for round in 0..20u64 {
        let archive = env.dir.path().join(format!("race-{round}"));
        let started = std::time::Instant::now();
        let children: Vec<_> = (0..4u64)
            .map(|i| {
                let mut cmd = command(
                    &archive,
                    &env.server,
                    &["add", "--quiet", &post(100 + i % 2)],
                );
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().expect("spawn")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("wait");
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(archive.join("EMBARC-ARCHIVE").is_file());
        assert!(
            std::fs::read_to_string(archive.join("FORMAT.md"))
                .expect("FORMAT.md")
                .starts_with("# embarc archive format")
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "round {round} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_created_archive_is_completed() {
    let env = env().await;
    for dir in ["objects/sha256", "refs", "tmp"] {
        std::fs::create_dir_all(env.archive.join(dir)).expect("mkdir");
    }
    std::fs::write(env.archive.join("FORMAT.md"), b"").expect("empty FORMAT.md");
    std::fs::write(env.archive.join("tmp/.ref-XyZ123"), b"").expect("temp file");
    // A reader sees an empty archive, not a foreign folder.
    let out = run(&env, &["ls"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    add(&env, &[1]);
    assert!(
        std::fs::read_to_string(env.archive.join("FORMAT.md"))
            .expect("FORMAT.md")
            .starts_with("# embarc archive format")
    );
    // A folder with anything else is still refused.
    let other = env.dir.path().join("other");
    std::fs::create_dir_all(other.join("refs/x")).expect("mkdir");
    let out = output(command(&other, &env.server, &["add", &post(1)]));
    assert_eq!(out.code, Some(2), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_photo_is_healed_by_a_refreshed_capture() {
    let env = env().await;
    add(&env, &[1]);
    let d = photos(&env, 1).remove(0);
    flip_byte(&object(&env.archive, &d));
    let (code, problems) = verify_json(&env);
    assert_eq!(code, Some(1), "{problems:?}");
    assert!(problems.iter().any(|p| p["problem"] == "corrupt"));

    let out = run(&env, &["add", "--refresh", &post(1)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let (code, problems) = verify_json(&env);
    assert_eq!(code, Some(0), "not healed: {problems:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_repair_fetches_corrupt_and_missing_media_again() {
    let env = env().await;
    add(&env, &[1]);
    let mut ds = photos(&env, 1);
    let (a, b) = (ds.remove(0), ds.remove(0));
    flip_byte(&object(&env.archive, &a));
    std::fs::remove_file(object(&env.archive, &b)).expect("rm photo");

    let out = run(&env, &["verify", "--repair", "--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let repaired: Vec<String> = out
        .json()
        .iter()
        .filter_map(|l| l["repaired"].as_str().map(str::to_string))
        .collect();
    assert!(repaired.contains(&a) && repaired.contains(&b), "{out:?}");
    let (code, problems) = verify_json(&env);
    assert_eq!(code, Some(0), "{problems:?}");

    // A lost record cannot be fetched: it stays broken, exit 1.
    let rec = record(&env, 1);
    std::fs::remove_file(object(&env.archive, &rec)).expect("rm record");
    let out = run(&env, &["verify", "--repair"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout.contains("missing: ") && out.stdout.contains(&rec),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_repair_copies_from_another_archive() {
    let env = env().await;
    add(&env, &[1, 2]);
    let backup = env.dir.path().join("backup");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&env.archive)
        .arg(&backup)
        .status()
        .expect("cp");
    assert!(copied.success());
    let photo = photos(&env, 1).remove(0);
    let rec = record(&env, 2);
    flip_byte(&object(&env.archive, &photo));
    std::fs::remove_file(object(&env.archive, &rec)).expect("rm record");

    // No network: mirrors that refuse every connection.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
    cmd.arg("--archive").arg(&env.archive);
    for m in fake_x::mirror_flags(&format!("http://127.0.0.1:{port}")) {
        cmd.arg("--mirror").arg(m);
    }
    cmd.args(["verify", "--repair", "--from"]).arg(&backup);
    let out = output(cmd);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains(&photo) && out.stdout.contains(&rec),
        "{out:?}"
    );
    let (code, problems) = verify_json(&env);
    assert_eq!(code, Some(0), "{problems:?}");
    let out = run(&env, &["show", &post(2)]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_lost_record_degrades_only_its_post() {
    let env = env().await;
    add(&env, &[1, 2, 3]);
    let lost = record(&env, 2);
    std::fs::remove_file(object(&env.archive, &lost)).expect("rm record");
    std::fs::remove_file(env.archive.join("index.sqlite")).expect("rm index");

    let out = run(&env, &["ls"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    for n in [1, 2, 3] {
        assert!(out.stdout.contains(&fake_x::synthetic_id(n)), "{out:?}");
    }
    assert!(out.stdout.contains("broken"), "{out:?}");
    let lines = run(&env, &["ls", "--json"]).json();
    let broken: Vec<&Value> = lines.iter().filter(|l| l["problem"].is_string()).collect();
    assert_eq!(broken.len(), 1, "{lines:?}");
    assert_eq!(broken[0]["post"], post(2).as_str());

    let out = run(&env, &["show", &post(2)]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(lost.trim_start_matches("sha256:")) && out.stderr.contains("verify"),
        "{out:?}"
    );
    assert_eq!(run(&env, &["show", &post(1)]).code, Some(0));

    let out = run(&env, &["reindex"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("skipped") && out.stderr.contains(&post(2)),
        "{out:?}"
    );
    // Writers go on with the other posts (and capture the broken one again).
    let out = run(&env, &["add", &post(4), &post(2)]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_garbage_ref_is_listed_by_verify() {
    let env = env().await;
    add(&env, &[1, 2]);
    let rec = record(&env, 1);
    let dir = env
        .archive
        .join("refs/posts/twitter")
        .join(fake_x::synthetic_id(1));
    // One named after its target, one not, both holding garbage.
    let named = dir.join(format!(
        "20990101T000000.000000Z-{}",
        rec.trim_start_matches("sha256:")
    ));
    let unnamed = dir.join("garbage");
    std::fs::write(&named, b"\x00\xffgarbage").expect("ref");
    std::fs::write(&unnamed, b"not a digest").expect("ref");
    let short = env.archive.join("refs/short/t.co/abc");
    std::fs::create_dir_all(short.parent().expect("parent")).expect("mkdir");
    std::fs::write(&short, b"junk").expect("ref");

    let out = run(&env, &["verify"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("bad ref: "), "{out:?}");
    for p in [&named, &unnamed, &short] {
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        assert!(out.stdout.contains(&name), "{name} not listed: {out:?}");
    }
    std::fs::remove_file(env.archive.join("index.sqlite")).expect("rm index");
    let out = run(&env, &["ls"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&fake_x::synthetic_id(2)), "{out:?}");
    let out = run(&env, &["add", &post(3)]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_garbage_index_is_rebuilt() {
    let env = env().await;
    add(&env, &[1, 2]);
    let index = env.archive.join("index.sqlite");
    for garbage in [b"this is not a database at all".repeat(200), Vec::new()] {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", index.display()));
        }
        std::fs::write(&index, &garbage).expect("garbage");
        let out = run(&env, &["ls"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        for n in [1, 2] {
            assert!(out.stdout.contains(&fake_x::synthetic_id(n)), "{out:?}");
        }
    }
    // A truncated database: its first page kept, the rest cut.
    let bytes = std::fs::read(&index).expect("index");
    std::fs::write(&index, &bytes[..bytes.len().min(4096) / 2]).expect("truncate");
    let out = run(&env, &["reindex"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("indexed 2 captures"), "{out:?}");
    let out = run(&env, &["ls"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&fake_x::synthetic_id(2)), "{out:?}");
}

/// A tmpfs mounted at a folder, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` at `dir`; `None` where this process may not
    /// mount (not root, no CAP_SYS_ADMIN), and the test then checks nothing.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .expect("mount")
            .success();
        assert!(ok, "remount {options}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_and_a_read_only_one_are_named() {
    let env = env().await;
    let Some(mount) = Mount::tmpfs(&env.dir.path().join("small"), "4k") else {
        // Root (as CI runs) must be able to mount: a failure there fails the
        // test. Only an unprivileged developer's run cannot check this case.
        let root = unsafe { libc::geteuid() } == 0;
        assert!(!root, "running as root, yet a tmpfs could not be mounted");
        eprintln!("not checked: only root can mount the small tmpfs this test fills");
        return;
    };
    let archive = mount.0.join("archive");
    let out = output(command(&archive, &env.server, &["add", &post(1)]));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("disk full (ENOSPC)"), "{out:?}");
    // Space freed: the half-made archive is completed by the next run.
    mount.remount("size=1m");
    let out = output(command(&archive, &env.server, &["add", &post(1)]));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        std::fs::read_to_string(archive.join("FORMAT.md"))
            .expect("FORMAT.md")
            .starts_with("# embarc archive format")
    );
    mount.remount("ro");
    let out = output(command(&archive, &env.server, &["add", &post(2)]));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("read-only file system (EROFS)"),
        "{out:?}"
    );
    // Readers still read it.
    let out = output(command(&archive, &env.server, &["ls"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&fake_x::synthetic_id(1)), "{out:?}");
}

/// `embarc --archive s3://BUCKET/PREFIX ARGS…` against the fake S3 and X,
/// every cache in the test's folder.
fn on_bucket(env: &Env, s3: &support::s3::S3, args: &[&str]) -> Out {
    let mut cmd = command(Path::new(&s3.url("news")), &env.server, args);
    for name in support::s3::S3::foreign_env() {
        cmd.env_remove(name);
    }
    cmd.envs(s3.env())
        .env("XDG_CACHE_HOME", env.dir.path().join("cache"))
        .env("HOME", env.dir.path());
    output(cmd)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_object_in_a_bucket_is_healed() {
    let env = env().await;
    let s3 = tokio::task::block_in_place(support::s3::start);
    let out = on_bucket(&env, &s3, &["add", &post(1)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = on_bucket(&env, &s3, &["show", "--json", &post(1)]);
    let ds: Vec<String> = out.json()[0]["media"]
        .as_array()
        .expect("media")
        .iter()
        .filter(|m| m["role"] == "photo")
        .map(|m| m["digest"].as_str().expect("digest").to_string())
        .collect();
    let key = |d: &str| {
        let hex = d.trim_start_matches("sha256:");
        format!("news/objects/sha256/{}/{hex}", &hex[..2])
    };
    // Cut short: the next capture's upload overwrites it.
    let good = s3.get(&key(&ds[0])).expect("photo");
    s3.put(&key(&ds[0]), &good[..good.len() / 2]);
    let out = on_bucket(&env, &s3, &["add", "--refresh", &post(1)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        s3.get(&key(&ds[0])) == Some(good),
        "not healed by the capture"
    );
    // A byte flipped (same size): `verify --repair` replaces it.
    let mut flipped = s3.get(&key(&ds[1])).expect("photo");
    let good = flipped.clone();
    flipped[10] ^= 1;
    s3.put(&key(&ds[1]), &flipped);
    let out = on_bucket(&env, &s3, &["verify"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let out = on_bucket(&env, &s3, &["verify", "--repair"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        s3.get(&key(&ds[1])) == Some(good),
        "not healed by the repair"
    );
}
