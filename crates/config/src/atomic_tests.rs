use super::*;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn replaces_by_rename_and_keeps_the_existing_mode() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("script.sh");
    fs::write(&p, "old").unwrap();
    chmod(&p, 0o750);
    let before = fs::metadata(&p).unwrap().ino();
    let mut held = fs::File::open(&p).unwrap();
    AtomicWrite::new().write(&p, b"new").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(mode(&p), 0o750);
    // A new inode: a reader holding the old file still sees the old, complete contents.
    assert_ne!(fs::metadata(&p).unwrap().ino(), before);
    let mut old = String::new();
    io::Read::read_to_string(&mut held, &mut old).unwrap();
    assert_eq!(old, "old");
    assert_eq!(names(d.path()), ["script.sh"]);
}

#[cfg(unix)]
#[test]
fn new_file_modes() {
    let d = tempfile::tempdir().unwrap();
    // Keep: a new file gets what any new file gets here (0666 minus the umask).
    let reference = d.path().join("reference");
    fs::write(&reference, "").unwrap();
    let p = d.path().join("keep");
    AtomicWrite::new().write(&p, b"x").unwrap();
    assert_eq!(mode(&p), mode(&reference));
    // Keep minus bits: the default without group/other access.
    let p = d.path().join("keep-private");
    AtomicWrite::new()
        .without_bits(0o077)
        .write(&p, b"x")
        .unwrap();
    assert_eq!(mode(&p), mode(&reference) & 0o700);
    // KeepOr: exactly the given mode for a new file, the old mode for an existing one.
    let p = d.path().join("keep-or");
    let keep_or = AtomicWrite::new().mode(Mode::KeepOr(0o640));
    keep_or.write(&p, b"x").unwrap();
    assert_eq!(mode(&p), 0o640);
    chmod(&p, 0o664);
    keep_or.write(&p, b"y").unwrap();
    assert_eq!(mode(&p), 0o664);
}

#[cfg(unix)]
#[test]
fn explicit_mode_wins_over_the_existing_one() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.json");
    fs::write(&p, "{}").unwrap();
    chmod(&p, 0o644);
    AtomicWrite::new()
        .mode(Mode::Set(0o600))
        .write(&p, b"{\"a\":1}")
        .unwrap();
    assert_eq!(mode(&p), 0o600);
    assert_eq!(fs::read(&p).unwrap(), b"{\"a\":1}");
    // Bits removed from a kept mode.
    chmod(&p, 0o664);
    AtomicWrite::new()
        .without_bits(0o077)
        .write(&p, b"secret")
        .unwrap();
    assert_eq!(mode(&p), 0o600);
}

#[cfg(unix)]
#[test]
fn parent_folder_policies() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a/b/f.txt");
    let e = AtomicWrite::new().write(&p, b"x").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    assert!(!d.path().join("a").exists());

    AtomicWrite::new()
        .parent(Parent::Create)
        .write(&p, b"x")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"x");

    let q = d.path().join("private/sub/auth.json");
    AtomicWrite::new()
        .parent(Parent::CreateWithMode(0o700))
        .write(&q, b"y")
        .unwrap();
    assert_eq!(mode(&d.path().join("private")), 0o700);
    assert_eq!(mode(&d.path().join("private/sub")), 0o700);
    // An existing folder is left as it is.
    chmod(&d.path().join("private/sub"), 0o750);
    AtomicWrite::new()
        .parent(Parent::CreateWithMode(0o700))
        .write(&q, b"z")
        .unwrap();
    assert_eq!(mode(&d.path().join("private/sub")), 0o750);
}

#[test]
fn a_failed_write_leaves_no_temp_file_and_the_target_untouched() {
    let d = tempfile::tempdir().unwrap();
    // The target is a non-empty folder: the temp file is written, the rename fails.
    let target = d.path().join("dir");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside"), "keep").unwrap();
    for policy in [
        AtomicWrite::new(),
        AtomicWrite::new().mode(Mode::Set(0o600)),
    ] {
        assert!(policy.write(&target, b"data").is_err());
        assert_eq!(names(d.path()), ["dir"]);
        assert_eq!(fs::read(target.join("inside")).unwrap(), b"keep");
    }
}

#[cfg(unix)]
#[test]
fn symlink_policies() {
    use std::os::unix::fs::symlink;
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("real.txt");
    fs::write(&real, "old").unwrap();
    fs::create_dir(d.path().join("links")).unwrap();
    // A chain of relative links, each resolved against its own folder.
    let first = d.path().join("links/first");
    symlink("../second", &first).unwrap();
    symlink("real.txt", d.path().join("second")).unwrap();
    let follow = AtomicWrite::new().symlinks(Symlinks::Follow);
    follow.write(&first, b"via links").unwrap();
    assert!(
        fs::symlink_metadata(&first)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(&real).unwrap(), b"via links");
    // A dangling link's target is created.
    let dangling = d.path().join("dangling");
    symlink("made.txt", &dangling).unwrap();
    follow.write(&dangling, b"made").unwrap();
    assert_eq!(fs::read(d.path().join("made.txt")).unwrap(), b"made");
    assert!(
        fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // Replace: the link becomes a regular file, its target keeps its contents.
    let second = d.path().join("second");
    AtomicWrite::new().write(&second, b"own file").unwrap();
    assert!(fs::symlink_metadata(&second).unwrap().file_type().is_file());
    assert_eq!(fs::read(&real).unwrap(), b"via links");
    assert!(names(d.path()).iter().all(|n| !n.ends_with(".tmp")));
}

#[cfg(unix)]
#[test]
fn hard_link_policies() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a");
    let b = d.path().join("b");
    fs::write(&a, "old").unwrap();
    fs::hard_link(&a, &b).unwrap();
    AtomicWrite::new()
        .hard_links(HardLinks::RewriteInPlace)
        .write(&b, b"shared")
        .unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"shared");
    AtomicWrite::new().write(&b, b"mine").unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"shared");
    assert_eq!(fs::read(&b).unwrap(), b"mine");
    assert_eq!(names(d.path()), ["a", "b"]);
}

#[cfg(unix)]
#[test]
fn read_only_files() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ro.txt");
    fs::write(&p, "keep").unwrap();
    chmod(&p, 0o444);
    let e = AtomicWrite::new()
        .refuse_read_only(true)
        .write(&p, b"x")
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(e.to_string(), "the file is read-only");
    assert_eq!(fs::read(&p).unwrap(), b"keep");
    // Without the check the file is replaced and stays read-only.
    AtomicWrite::new().write(&p, b"x").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"x");
    assert_eq!(mode(&p), 0o444);
}

#[test]
fn concurrent_writers_in_one_process_use_distinct_temp_files() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("meta.json");
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let p = &p;
            s.spawn(move || {
                for _ in 0..25 {
                    AtomicWrite::new()
                        .mode(Mode::Set(0o600))
                        .write(p, &[b'0' + t; 64])
                        .unwrap();
                }
            });
        }
    });
    let got = fs::read(&p).unwrap();
    assert!(
        got.len() == 64 && got.iter().all(|&b| b == got[0]),
        "torn: {got:?}"
    );
    assert_eq!(names(d.path()), ["meta.json"]);
}

/// The pid of a process that has ended (spawned, waited for, reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    child.id()
}

#[test]
fn temp_files_of_dead_writers_are_removed_before_writing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("auth.json");
    let dead = dead_pid();
    let live = std::process::id();
    for stale in [
        format!(".auth.json.sx-{dead}-0.tmp"),
        format!(".auth.json.tmp.{dead}"),
    ] {
        fs::write(d.path().join(stale), "token").unwrap();
    }
    // Kept: a running writer's, another file's, names that only look alike.
    let kept = [
        format!(".auth.json.sx-{live}-7.tmp"),
        format!(".other.json.sx-{dead}-0.tmp"),
        ".auth.json.sx-x-0.tmp".to_string(),
        "auth.json.bak".to_string(),
    ];
    for k in &kept {
        fs::write(d.path().join(k), "x").unwrap();
    }
    // Without the policy nothing is removed.
    AtomicWrite::new().write(&p, b"{}").unwrap();
    assert_eq!(names(d.path()).len(), 7);
    AtomicWrite::new()
        .clean_stale_temps(true)
        .write(&p, b"{}")
        .unwrap();
    let mut want: Vec<String> = kept.to_vec();
    want.push("auth.json".into());
    want.sort();
    assert_eq!(names(d.path()), want);
    assert_eq!(remove_stale_temps(&p), 0);
}

#[test]
fn a_link_planted_at_a_temp_name_is_not_written_through() {
    // The temp names are predictable (pid and a counter): links put at the next ones must
    // make the writer pick another name, never write to where they point.
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("auth.json");
    let victim = d.path().join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    // (Other tests of this process move the counter; plant far enough ahead that every
    // attempt of this write meets a link.)
    for n in 0..2000 {
        let name = format!(".auth.json.sx-{}-{n}.tmp", std::process::id());
        std::os::unix::fs::symlink(&victim, d.path().join(name)).unwrap();
    }
    let e = AtomicWrite::new()
        .mode(Mode::Set(0o600))
        .write(&target, b"{\"tokens\":1}")
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(!target.exists());
}
