//! File conformance: under each example policy and standard profile, a real
//! program's path syscalls get, from the kernel and the monitor, exactly what
//! `clawc explain` says the policy decides — in each state.
//!
//! For every policy a tree of files, directories, symlinks (to files, to
//! directories, chains, into `~/.ssh` and `/etc`, dangling ones, a loop), hard
//! links and missing names is built in the workspace, a data and results
//! directory, the build-log directory, `/tmp`, `~/.ssh` and a directory outside
//! everything; system paths and `/proc/self/...` are added. The probe
//! (progs/probe.py) performs every request natively on the tree (the kernel's own
//! answer), then, on the same tree rebuilt, under `clawless`. A request the policy
//! allows must get the native answer; a refused one the policy's errno. The only
//! exceptions are those `clawc explain --format json` states: a path that does not
//! resolve gets the kernel's error where the policy lets the agent see it
//! (`paths[].if_missing == "kernel"`), and an `O_CREAT` open of a file that exists
//! is decided as the open without `O_CREAT` (`if_exists`). The request that reads a
//! secret (`.env`) is in the middle: what follows it is asked in the state explain
//! says it moves to.

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const O_WRONLY: u64 = 0o1;
const O_RDWR: u64 = 0o2;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const O_DIRECTORY: u64 = 0o200000;
const O_NOFOLLOW: u64 = 0o400000;
const O_PATH: u64 = 0o10000000;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
/// The probe's `openat` relative to an `O_PATH` descriptor of the path's parent
/// (`/` itself: `.` relative to `/`); explain is asked about `openat` with a
/// descriptor (`dfd=3`), not `AT_FDCWD`.
const OPENAT_PFD: &str = "openat_pfd";

/// One entry of a case directory: its name, what it is, and the path (relative to
/// the case directory, or absolute) a followed lookup ends at.
struct Entry {
    name: &'static str,
    /// Symlink target (`{C}` the case directory, `{HOME}`, `{ROOT}`, `{ID}`).
    link: Option<&'static str>,
    kind: Kind,
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    File,
    Dir,
    /// A directory with a file in it (rmdir: ENOTEMPTY).
    Full,
    Prog,
    Hard,
    Link,
    Missing,
}

const ENTRIES: &[Entry] = &[
    Entry {
        name: "file",
        link: None,
        kind: Kind::File,
    },
    Entry {
        name: "dir",
        link: None,
        kind: Kind::Dir,
    },
    Entry {
        name: "full",
        link: None,
        kind: Kind::Full,
    },
    Entry {
        name: "prog",
        link: None,
        kind: Kind::Prog,
    },
    Entry {
        name: "hard",
        link: None,
        kind: Kind::Hard,
    },
    // No hard link of a secret made before the session: the runtime decides an
    // open that reads one as the secret (runtime/src/emulate/aliases.rs), which
    // `clawc explain`, deciding on names, cannot know. The attack test
    // `a_secret_hard_linked_before_the_session_is_still_the_secret` covers it.
    Entry {
        name: "link_file",
        link: Some("file"),
        kind: Kind::Link,
    },
    Entry {
        name: "link_dir",
        link: Some("dir"),
        kind: Kind::Link,
    },
    Entry {
        name: "link_prog",
        link: Some("prog"),
        kind: Kind::Link,
    },
    Entry {
        name: "chain",
        link: Some("link_file"),
        kind: Kind::Link,
    },
    Entry {
        name: "up",
        link: Some("../{CN}/file"),
        kind: Kind::Link,
    },
    Entry {
        name: "dangling",
        link: Some("new_rel"),
        kind: Kind::Link,
    },
    Entry {
        name: "dangling_abs",
        link: Some("{C}/new_abs"),
        kind: Kind::Link,
    },
    Entry {
        name: "dangling_chain",
        link: Some("hop"),
        kind: Kind::Link,
    },
    Entry {
        name: "hop",
        link: Some("new_chain"),
        kind: Kind::Link,
    },
    Entry {
        name: "dangling_out",
        link: Some("{ROOT}/outside/drop/{ID}"),
        kind: Kind::Link,
    },
    Entry {
        name: "dangling_secret",
        link: Some("{HOME}/.ssh/drop_{ID}"),
        kind: Kind::Link,
    },
    Entry {
        name: "dangling_nodir",
        link: Some("nodir/new"),
        kind: Kind::Link,
    },
    Entry {
        name: "link_secret",
        link: Some("{HOME}/.ssh/id_test"),
        kind: Kind::Link,
    },
    Entry {
        name: "link_etc",
        link: Some("/etc/hostname"),
        kind: Kind::Link,
    },
    Entry {
        name: "loop",
        link: Some("loop"),
        kind: Kind::Link,
    },
    Entry {
        name: "missing",
        link: None,
        kind: Kind::Missing,
    },
    Entry {
        name: "nodir/x",
        link: None,
        kind: Kind::Missing,
    },
];

/// A request for the probe and for explain.
#[derive(Clone)]
struct Req {
    op: &'static str,
    flags: u64,
    a: String,
    b: String,
    /// The syscall's arguments for explain (`flags=...`, `mode=...`).
    args: Vec<String>,
    /// The paths the monitor decides on (canonical, in the agent's view).
    model: Vec<String>,
    /// Does the lookup reach an object (or, for calls that create or remove a
    /// name, its parent directory)?
    resolves: bool,
    /// For `O_CREAT` opens: does the file the open would use exist?
    exists: bool,
    /// Which of `model` fails to resolve when `resolves` is false.
    failing: usize,
}

/// Where case directories live, and the tree's fixed places.
struct Tree {
    root: PathBuf,
    ws: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
    locations: Vec<PathBuf>,
    true_bin: Vec<u8>,
    /// Ask `openat` relative to a parent's `O_PATH` descriptor ([`OPENAT_PFD`]):
    /// only where the policy lets every path be seen (a policy with an isolated
    /// plan), so the probe can always take the descriptor.
    pfd: bool,
}

fn expand(s: &str, c: &Path, t: &Tree, id: &str) -> String {
    s.replace("{C}", &c.display().to_string())
        .replace("{CN}", &c.file_name().unwrap().to_string_lossy())
        .replace("{HOME}", &t.home.display().to_string())
        .replace("{ROOT}", &t.root.display().to_string())
        .replace("{ID}", id)
}

/// The entries other entries point to, last in the order calls that change names
/// are made in (so that each call still finds the entries it goes through as they
/// were built): `hop` is only gone through, never changed.
const TARGETS: &[&str] = &["hop", "link_file", "dir", "file"];

fn change_order() -> impl Iterator<Item = &'static Entry> {
    let last = |name: &str| TARGETS.iter().position(|t| *t == name);
    let mut v: Vec<&Entry> = ENTRIES.iter().filter(|e| e.name != "hop").collect();
    v.sort_by_key(|e| last(e.name).map_or(0, |i| i + 1));
    v.into_iter()
}

/// Makes one case directory `c` with every entry, and `sources` files `src_N`.
fn make_case(t: &Tree, c: &Path, id: &str, sources: usize) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(c).unwrap();
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for i in 0..sources {
        std::fs::write(c.join(format!("src_{i}")), "source\n").unwrap();
    }
    for e in ENTRIES {
        let p = c.join(e.name);
        match e.kind {
            Kind::File => {
                std::fs::write(&p, "case file\n").unwrap();
                mode(&p, 0o755);
            }
            Kind::Dir => {
                std::fs::create_dir(&p).unwrap();
                mode(&p, 0o755);
            }
            Kind::Full => {
                std::fs::create_dir(&p).unwrap();
                mode(&p, 0o755);
                std::fs::write(p.join("inner"), "x").unwrap();
            }
            Kind::Prog => {
                std::fs::write(&p, &t.true_bin).unwrap();
                mode(&p, 0o755);
            }
            Kind::Hard => std::fs::hard_link(c.join("file"), &p).unwrap(),
            Kind::Link => std::os::unix::fs::symlink(expand(e.link.unwrap(), c, t, id), &p).unwrap(),
            Kind::Missing => {}
        }
    }
}

/// Where a lookup of `name` in `c` ends (following symlinks in the last component
/// when `follow`), lexically, as the monitor shows it.
fn model_path(t: &Tree, c: &Path, name: &str, follow: bool, id: &str) -> String {
    let mut here = c.join(name);
    if follow {
        for _ in 0..8 {
            let Ok(target) = std::fs::read_link(&here) else {
                break;
            };
            let next = here.parent().unwrap().join(target);
            if next == here {
                break; // the loop: the kernel gives ELOOP on the name itself
            }
            here = lexical(&next);
        }
    }
    let _ = (t, id);
    lexical(&here).display().to_string()
}

fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

fn exists(p: &str, follow: bool) -> bool {
    if follow {
        std::fs::metadata(p).is_ok()
    } else {
        std::fs::symlink_metadata(p).is_ok()
    }
}

fn parent_exists(p: &str) -> bool {
    Path::new(p).parent().is_some_and(|d| d.is_dir())
}

/// Builds the tree (the same every time it is called) and the request list for
/// `phases` phases (the second after the trigger).
fn build(t: &Tree, phases: usize) -> Vec<Req> {
    let _ = std::fs::remove_dir_all(&t.tmp);
    for l in &t.locations {
        let _ = std::fs::remove_dir_all(l);
    }
    let _ = std::fs::remove_dir_all(t.root.join("outside"));
    std::fs::create_dir_all(t.root.join("outside/drop")).unwrap();
    for f in std::fs::read_dir(t.home.join(".ssh")).unwrap() {
        let f = f.unwrap();
        if f.file_name().to_string_lossy().starts_with("drop_") {
            std::fs::remove_file(f.path()).unwrap();
        }
    }
    std::fs::write(t.home.join(".ssh/id_test"), SECRET).unwrap();
    // The native run's chmod through `link_secret` changed its mode.
    std::fs::set_permissions(
        t.home.join(".ssh/id_test"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(t.ws.join(".env"), "TOKEN=conformance\n").unwrap();
    // A secret behind a symlink with a secret's name (`/**/.env.*`), its real
    // file named ordinarily: explain finds the link on the file system as the
    // runtime does (`claw_ir::names`), and decides a read of the file as a read
    // of `.env.linked` too.
    let _ = std::fs::remove_file(t.ws.join(".env.linked"));
    std::fs::create_dir_all(t.ws.join("dotfiles")).unwrap();
    std::fs::write(t.ws.join("dotfiles/env"), "TOKEN=linked\n").unwrap();
    std::os::unix::fs::symlink("dotfiles/env", t.ws.join(".env.linked")).unwrap();
    // And a dangling one (`.env.later -> dotfiles/later.env`): an `O_CREAT` open
    // that reads, of the file where it ends, is decided as a read of
    // `.env.later` too, by explain and the runtime alike (red team round 7,
    // secret-link-end-naming).
    let _ = std::fs::remove_file(t.ws.join(".env.later"));
    let _ = std::fs::remove_file(t.ws.join("dotfiles/later.env"));
    std::os::unix::fs::symlink("dotfiles/later.env", t.ws.join(".env.later")).unwrap();
    let _ = std::fs::remove_file(t.ws.join("audit.log"));
    std::fs::create_dir_all(t.ws.join(".review")).unwrap();
    std::fs::write(t.ws.join(".review/report.md"), "# Review\n").unwrap();
    let mut reqs = Vec::new();
    for phase in 0..phases {
        if phase == 1 {
            let env = t.ws.join(".env").display().to_string();
            reqs.push(open_req("open", 0, &env, vec![env.clone()], true, false));
        }
        for (li, loc) in t.locations.iter().enumerate() {
            // Looks and opens that change no name share one case directory.
            let shared = loc.join(format!("s{phase}"));
            make_case(t, &shared, &format!("s{phase}_{li}"), 0);
            looks(t, &shared, &format!("s{phase}_{li}"), &mut reqs);
            // Each call that creates or removes names gets a directory of its own,
            // where it is made on every entry.
            for (k, &m) in CHANGES.iter().enumerate() {
                let id = format!("m{phase}_{li}_{k}");
                let c = loc.join(&id);
                let sources = if m.1 == 1 { ENTRIES.len() } else { 0 };
                make_case(t, &c, &id, sources);
                for (i, e) in change_order().enumerate() {
                    if e.name == "link_etc"
                        && m.0 != "rename"
                        && m.0 != "link"
                        && m.0 != "symlink"
                        && m.0 != "unlink"
                        && m.0 != "mkdir"
                        && m.0 != "rmdir"
                    {
                        continue; // never opened for writing, natively as root
                    }
                    reqs.push(mutation(t, &c, e.name, m, &id, i));
                }
            }
        }
        system(t, &mut reqs);
        if phase == 0 {
            let later = t.ws.join("dotfiles/later.env").display().to_string();
            reqs.push(open_req(
                "open",
                O_RDWR | O_CREAT,
                &later,
                vec![later.clone()],
                true,
                false,
            ));
            let linked = t.ws.join("dotfiles/env").display().to_string();
            reqs.push(open_req("open", 0, &linked, vec![linked.clone()], true, false));
        }
    }
    reqs
}

fn open_req(
    op: &'static str,
    flags: u64,
    path: &str,
    model: Vec<String>,
    resolves: bool,
    exists: bool,
) -> Req {
    let args = match op {
        "creat" => vec![],
        OPENAT_PFD => vec!["dfd=3".into(), format!("flags={flags}")],
        _ => vec![format!("flags={flags}")],
    };
    Req {
        op,
        flags,
        a: path.to_string(),
        b: String::new(),
        args,
        model,
        resolves,
        exists,
        failing: 0,
    }
}

/// Opens and looks, per entry (never writing through a link to /etc).
fn looks(t: &Tree, c: &Path, id: &str, reqs: &mut Vec<Req>) {
    let opens: &[(&'static str, u64)] = &[
        ("open", 0),
        ("open", O_WRONLY),
        ("open", O_RDWR),
        ("open", O_WRONLY | O_APPEND),
        ("open", O_NOFOLLOW),
        ("open", O_PATH),
        ("open", O_DIRECTORY),
        ("open", O_WRONLY | O_TRUNC),
        ("openat", 0),
        ("openat", O_WRONLY | O_APPEND),
        // Relative to an O_PATH descriptor of the parent (a tree walk's): with
        // O_DIRECTORY the kernel's in isolated mode.
        (OPENAT_PFD, O_DIRECTORY),
        (OPENAT_PFD, O_DIRECTORY | O_NOFOLLOW),
        (OPENAT_PFD, O_DIRECTORY | O_PATH),
        (OPENAT_PFD, O_DIRECTORY | O_WRONLY),
        (OPENAT_PFD, 0),
    ];
    // Programs are run before anything here is opened for writing: the monitor
    // closes its copy of a file it opened just after the agent resumes, and an
    // `execve` in that instant meets ETXTBSY (see fs::hand_over).
    for e in ENTRIES {
        let raw = c.join(e.name).display().to_string();
        let m = model_path(t, c, e.name, true, id);
        reqs.push(Req {
            op: "execve",
            flags: 0,
            a: raw.clone(),
            b: String::new(),
            args: vec![],
            resolves: exists(&raw, true),
            model: vec![m],
            exists: false,
            failing: 0,
        });
    }
    for e in ENTRIES {
        let raw = c.join(e.name).display().to_string();
        let writes_etc = e.name == "link_etc";
        for &(op, flags) in opens {
            if writes_etc && flags & (O_WRONLY | O_RDWR | O_TRUNC) != 0 {
                continue;
            }
            if op == OPENAT_PFD && (!t.pfd || e.name.contains('/')) {
                continue; // its parent is missing: the O_PATH open's error
            }
            let follow = flags & O_NOFOLLOW == 0;
            let m = model_path(t, c, e.name, follow, id);
            let resolves = if flags & O_DIRECTORY != 0 && follow {
                Path::new(&raw).is_dir()
            } else if flags & O_DIRECTORY != 0 {
                std::fs::symlink_metadata(&raw).is_ok_and(|m| m.is_dir())
            } else {
                exists(&raw, follow)
            };
            reqs.push(open_req(op, flags, &raw, vec![m], resolves, false));
        }
        let mut look = |op: &'static str, flags: u64, follow: bool, args: Vec<String>| {
            let m = model_path(t, c, e.name, follow, id);
            reqs.push(Req {
                op,
                flags,
                a: raw.clone(),
                b: String::new(),
                args,
                resolves: exists(&raw, follow),
                model: vec![m],
                exists: false,
                failing: 0,
            });
        };
        look("stat", 0, true, vec![]);
        look("lstat", 0, false, vec![]);
        look("newfstatat", 0, true, vec![]);
        look("newfstatat", AT_SYMLINK_NOFOLLOW, false, vec![]);
        look("access", 0, true, vec![]);
        look("access", 2, true, vec![]);
        look("readlink", 0, false, vec![]);
        look("statx", 0, true, vec![]);
        look("statx", AT_SYMLINK_NOFOLLOW, false, vec![]);
        look("faccessat2", 0, true, vec![]);
        look("faccessat2", AT_SYMLINK_NOFOLLOW, false, vec![]);
        if !writes_etc {
            look("chmod", 0, true, vec![]);
            look("truncate", 0, true, vec![]);
            look("chown", 0, true, vec![]);
            look("lchown", 0, false, vec![]);
            look("utimensat", 0, true, vec![]);
            look("utimensat", AT_SYMLINK_NOFOLLOW, false, vec![]);
        }
    }
}

/// Calls that create, remove or rename a name.
const CHANGES: &[(&str, u64)] = &[
    ("mkdir", 0),
    ("rmdir", 0),
    ("unlink", 0),
    ("rename", 0),
    ("rename", 1),
    ("link", 0),
    ("link", 1),
    ("symlink", 0),
    ("unlinkat", AT_REMOVEDIR),
    ("linkat", AT_SYMLINK_FOLLOW),
    ("open", O_WRONLY | O_CREAT),
    ("open", O_WRONLY | O_CREAT | O_EXCL),
    ("open", O_WRONLY | O_CREAT | O_NOFOLLOW),
    ("open", O_WRONLY | O_CREAT | O_TRUNC),
    ("open", O_RDWR | O_CREAT | O_APPEND),
    ("openat", O_WRONLY | O_CREAT),
    ("creat", 0),
];

fn mutation(t: &Tree, c: &Path, name: &str, (op, flags): (&'static str, u64), id: &str, n: usize) -> Req {
    let raw = c.join(name).display().to_string();
    let own = model_path(t, c, name, false, id);
    match op {
        "open" | "openat" | "creat" => {
            let follow = op == "creat" || flags & (O_EXCL | O_NOFOLLOW) == 0;
            let m = model_path(t, c, name, follow, id);
            // The file exists (followed, or the name itself when not following);
            // else it is created where its directory exists and the last name is
            // no symlink (a loop gives ELOOP).
            let here = exists(&raw, follow);
            let resolves = here || parent_exists(&m) && !exists(&m, false);
            let mut r = open_req(op, flags, &raw, vec![m], resolves, here);
            if op == "creat" {
                r.flags = 0;
            }
            r
        }
        "rename" | "link" => {
            let other = c.join(format!("{op}_to_{n}")).display().to_string();
            let (a, b, ma, mb) = if flags == 0 {
                (raw.clone(), other.clone(), own.clone(), other.clone())
            } else {
                let src = c.join(format!("src_{n}")).display().to_string();
                (src.clone(), raw.clone(), src, own.clone())
            };
            Req {
                op,
                flags: 0,
                a,
                b,
                args: vec![],
                resolves: parent_exists(&own),
                model: vec![ma, mb],
                exists: false,
                failing: flags as usize,
            }
        }
        "linkat" => {
            // The source followed (an object), the new name beside it.
            let other = c.join(format!("linkat_to_{n}")).display().to_string();
            let m = model_path(t, c, name, true, id);
            Req {
                op,
                flags,
                a: raw.clone(),
                b: other.clone(),
                args: vec![],
                resolves: exists(&raw, true),
                model: vec![m, other],
                exists: false,
                failing: 0,
            }
        }
        "symlink" => Req {
            op,
            flags: 0,
            a: raw,
            b: "target".into(),
            args: vec![],
            resolves: parent_exists(&own),
            model: vec![own],
            exists: false,
            failing: 0,
        },
        _ => Req {
            op,
            flags,
            a: raw,
            b: String::new(),
            args: vec![],
            resolves: parent_exists(&own),
            model: vec![own],
            exists: false,
            failing: 0,
        },
    }
}

/// System paths and the agent's own `/proc` entries: looks and reads only.
fn system(t: &Tree, reqs: &mut Vec<Req>) {
    let python = std::fs::canonicalize("/usr/bin/python3")
        .unwrap()
        .display()
        .to_string();
    let file = t.locations[0].join("s0/file").display().to_string();
    let paths: Vec<(String, String)> = vec![
        ("/etc/hostname".into(), "/etc/hostname".into()),
        ("/etc/shadow".into(), "/etc/shadow".into()),
        (
            "/etc/claw-conformance-missing".into(),
            "/etc/claw-conformance-missing".into(),
        ),
        (
            "/usr/bin/true".into(),
            std::fs::canonicalize("/usr/bin/true")
                .unwrap()
                .display()
                .to_string(),
        ),
        ("/".into(), "/".into()),
        ("/dev/null".into(), "/dev/null".into()),
        ("/proc/cpuinfo".into(), "/proc/cpuinfo".into()),
        ("/proc/self/status".into(), "/proc/self/status".into()),
        ("/proc/self/environ".into(), "/proc/self/environ".into()),
        ("/proc/self/mem".into(), "/proc/self/mem".into()),
        (
            "/proc/thread-self/status".into(),
            "/proc/thread-self/status".into(),
        ),
        ("/proc/self/exe".into(), python),
        ("/proc/self/root/etc/hostname".into(), "/etc/hostname".into()),
        (
            format!(
                "/proc/self/cwd/../ws/{}",
                file.strip_prefix(&format!("{}/", t.ws.display())).unwrap()
            ),
            file.clone(),
        ),
        (
            format!("{}/.ssh/id_test", t.home.display()),
            format!("{}/.ssh/id_test", t.home.display()),
        ),
        (
            format!("{}/.ssh/missing", t.home.display()),
            format!("{}/.ssh/missing", t.home.display()),
        ),
        (
            format!("{}/.gitconfig", t.home.display()),
            format!("{}/.gitconfig", t.home.display()),
        ),
    ];
    // Single files policies name: the reviewer's report, the analysis' audit file.
    for single in [".review/report.md", "audit.log"] {
        let p = t.ws.join(single).display().to_string();
        for flags in [
            O_WRONLY | O_APPEND,
            O_WRONLY,
            O_RDWR | O_APPEND,
            O_WRONLY | O_TRUNC,
            O_WRONLY | O_CREAT | O_APPEND,
        ] {
            let here = exists(&p, true);
            reqs.push(open_req(
                "open",
                flags,
                &p,
                vec![p.clone()],
                here || flags & O_CREAT != 0 && parent_exists(&p),
                here,
            ));
        }
    }
    // Directories opened with O_DIRECTORY from the working directory (the
    // monitor's) and relative to a descriptor (the kernel's in isolated mode: a
    // directory granted alone, `/`, is Landlock's EACCES there, declared stricter).
    for d in [
        "/".to_string(),
        "/usr".into(),
        "/etc".into(),
        format!("{}/.ssh", t.home.display()),
        t.ws.display().to_string(),
        t.tmp.display().to_string(),
    ] {
        let resolves = Path::new(&d).is_dir();
        reqs.push(open_req(
            "open",
            O_DIRECTORY,
            &d,
            vec![d.clone()],
            resolves,
            false,
        ));
        if t.pfd {
            reqs.push(open_req(
                OPENAT_PFD,
                O_DIRECTORY,
                &d,
                vec![d.clone()],
                resolves,
                false,
            ));
        }
    }
    for (raw, m) in paths {
        // The test's own /proc/self is not the probe's: look at what it names.
        let resolves = exists(&m, true);
        for flags in [0, O_PATH, O_RDWR] {
            if flags == O_RDWR && !raw.starts_with("/proc/self/mem") && !raw.starts_with("/dev/") {
                continue;
            }
            reqs.push(open_req("open", flags, &raw, vec![m.clone()], resolves, false));
        }
        for op in ["stat", "access", "execve"] {
            if op == "execve" && raw == "/proc/self/exe" {
                continue; // python with no script would read the requests
            }
            let args = vec![];
            reqs.push(Req {
                op,
                flags: 0,
                a: raw.clone(),
                b: String::new(),
                args,
                model: vec![m.clone()],
                resolves,
                exists: false,
                failing: 0,
            });
        }
    }
}

fn probe_input(reqs: &[Req]) -> String {
    reqs.iter()
        .map(|r| format!("{}\t{}\t{}\t{}\n", r.op, r.flags, r.a, r.b))
        .collect()
}

fn probe_script() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/runtime/progs/probe.py"))
        .unwrap()
}

/// Runs the probe (natively or under clawless) on `reqs`; one answer per request.
fn run_probe(mut cmd: Command, reqs: &[Req]) -> Vec<String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning the probe");
    let input = probe_input(reqs);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let o = wait_with_deadline(child, Duration::from_secs(120));
    writer.join().unwrap();
    let out = stdout(&o);
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    assert!(
        lines.last().is_some_and(|l| l == "probe: done") && lines.len() == reqs.len() + 1,
        "the probe did not answer every request ({} of {})\n{}",
        lines.len().saturating_sub(1),
        reqs.len(),
        show(&o)
    );
    lines[..reqs.len()].to_vec()
}

/// explain's answers, one per request, asked in `state`.
fn explain(art: &Path, t: &Tree, reqs: &[Req], state: Option<&str>) -> Vec<Value> {
    let clawc = Path::new(clawless()).with_file_name("clawc");
    let lines: String = reqs
        .iter()
        .map(|r| {
            let syscall = if r.op == OPENAT_PFD { "openat" } else { r.op };
            let mut q = serde_json::json!({ "syscall": syscall, "args": r.args, "paths": r.model });
            if let Some(s) = state {
                q["state"] = Value::from(s);
            }
            format!("{q}\n")
        })
        .collect();
    let batch = t.root.join("questions.jsonl");
    std::fs::write(&batch, lines).unwrap();
    let o = Command::new(clawc)
        .arg("explain")
        .arg(art)
        .args(["--format", "json", "--batch"])
        .arg(&batch)
        .args(["--env", &format!("WORKSPACE={}", t.ws.display())])
        .args(["--env", &format!("HOME={}", t.home.display())])
        .args(["--env", "TMPDIR=/tmp"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let answers: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), reqs.len());
    for (a, r) in answers.iter().zip(reqs) {
        assert!(
            a.get("error").is_none(),
            "explain refused {} {:?}: {a}",
            r.op,
            r.model
        );
    }
    answers
}

/// What the runtime must answer, from explain's answer and the kernel's.
fn expected(r: &Req, a: &Value, native: &str) -> (String, &'static str) {
    let refusal = |d: &Value| format!("errno={}", d["errno"].as_u64().unwrap_or(0));
    if !r.resolves {
        // Allowed (then the agent may see it), decided in the kernel, or said by
        // explain to be visible: the kernel's own error.
        if a["allowed"] == true
            || a["decided_by"] == "kernel"
            || a["paths"][r.failing]["if_missing"] == "kernel"
        {
            return (native.to_string(), "unresolved, visible: the kernel's error");
        }
        return (refusal(a), "unresolved, hidden: the policy's refusal");
    }
    let d = if r.exists && !a["if_exists"].is_null() {
        &a["if_exists"]
    } else {
        a
    };
    if d["allowed"].as_bool().unwrap() {
        (native.to_string(), "allowed: the kernel's answer")
    } else {
        (refusal(d), "refused: the policy's errno")
    }
}

fn tree(f: &Fixture, extra: &[&str]) -> Tree {
    let tmp = PathBuf::from(format!(
        "/tmp/claw-conformance-{}-{}",
        std::process::id(),
        f.root.file_name().unwrap().to_string_lossy()
    ));
    Tree {
        // The workspace, scratch space, a secret directory, a directory no policy
        // names, and the workspace directories this policy has rules of its own for.
        locations: [
            f.ws.join("cases"),
            tmp.join("cases"),
            f.home.join(".ssh/cases"),
            f.root.join("outside/cases"),
        ]
        .into_iter()
        .chain(extra.iter().map(|d| f.ws.join(d).join("cases")))
        .collect(),
        root: f.root.clone(),
        ws: f.ws.clone(),
        home: f.home.clone(),
        tmp,
        true_bin: std::fs::read("/usr/bin/true").unwrap(),
        pfd: false,
    }
}

/// Isolated files (docs/architecture.md "Isolated files"): the kernel performs an
/// ordinary open (no `O_CREAT` or `O_PATH`; `O_DIRECTORY` only relative to a
/// descriptor), so the answer differs from explain's exactly where the plan says:
/// Landlock refuses with `EACCES`; a tripwire the policy refuses answers
/// fanotify's `EPERM`; a directory granted alone (a literal pattern) is refused
/// without `O_DIRECTORY`, and with it relative to a descriptor; reading below the
/// private `/proc` is allowed (`IsolatedPlan::looser`).
struct Kernel {
    plan: claw_ir::isolate::IsolatedPlan,
    env: claw_ir::Env,
}

impl Kernel {
    fn of(art: &Path, t: &Tree) -> Option<Kernel> {
        if !kernel_opens() {
            return None;
        }
        let a = claw_artifact::Artifact::from_bytes(&std::fs::read(art).ok()?).ok()?;
        // The plan the runtime takes: the artifact's proved one (none: mediated).
        let plan = a.isolated?;
        let mut env = claw_ir::Env::new();
        env.set("WORKSPACE", &t.ws.display().to_string())
            .set("HOME", &t.home.display().to_string())
            .set("TMPDIR", "/tmp");
        Some(Kernel { plan, env })
    }

    fn plain_open(r: &Req) -> bool {
        (r.op == "open" || r.op == "openat" || r.op == OPENAT_PFD)
            && r.flags & (O_CREAT | O_DIRECTORY | O_PATH) == 0
            && r.resolves
    }

    /// An `O_DIRECTORY` open relative to a descriptor (not `O_PATH`, which
    /// Landlock does not check) of a directory: the kernel performs it, as the
    /// same open without `O_DIRECTORY`.
    fn dir_open_at(r: &Req) -> bool {
        r.op == OPENAT_PFD && r.flags & O_DIRECTORY != 0 && r.flags & (O_CREAT | O_PATH) == 0 && r.resolves
    }

    /// The answer the kernel gives instead of `want`, if it differs.
    fn adjust(&self, r: &Req, want: &str, native: &str, named: bool) -> Option<(String, &'static str)> {
        if !Kernel::plain_open(r) && !Kernel::dir_open_at(r) {
            return None;
        }
        let path = r.model.first()?;
        let refused = want != native && want.starts_with("errno=");
        if path == "/proc" || path.starts_with("/proc/") {
            if refused && r.flags & (O_WRONLY | O_RDWR) == 0 && !self.plan.looser.is_empty() {
                return Some((
                    native.to_string(),
                    "isolated: reading below /proc is Landlock's (looser)",
                ));
            }
            if refused {
                return Some(("errno=13".into(), "isolated: Landlock refuses"));
            }
            return None;
        }
        if refused && native.starts_with("errno=") {
            // The kernel's own error (EISDIR, ELOOP) comes before Landlock's.
            return Some((
                native.to_string(),
                "isolated: the kernel's error before Landlock's",
            ));
        }
        let readable = self
            .plan
            .landlock
            .fs
            .iter()
            .filter(|g| g.rights.contains(&claw_ir::landlock::FsRight::ReadFile))
            .filter(|g| !self.plan.literal_grants.contains(&g.path))
            .filter_map(|g| self.env.expand(&g.path))
            .any(|g| path == &g || path.starts_with(&format!("{g}/")));
        // A secret by its pattern, or by a secret name explain found (the
        // target of a secret-named symlink: a tripwire of `aliases.rs`).
        if refused && readable && (self.plan.is_secret(&self.env, path) || named) {
            return Some((
                "errno=1".into(),
                "isolated: a refusing tripwire (fanotify's EPERM)",
            ));
        }
        if refused {
            return Some(("errno=13".into(), "isolated: Landlock refuses"));
        }
        let literal_dir = self
            .plan
            .literal_grants
            .iter()
            .filter_map(|g| self.env.expand(g))
            .any(|g| &g == path && Path::new(&g).is_dir());
        if literal_dir && Kernel::dir_open_at(r) {
            return Some((
                "errno=13".into(),
                "isolated: a directory granted alone, opened relative to a descriptor (stricter)",
            ));
        }
        if literal_dir {
            return Some((
                "errno=13".into(),
                "isolated: a directory granted alone needs O_DIRECTORY",
            ));
        }
        None
    }
}

/// Compiles `policy` (a file or `std::profiles` with a name), runs the whole
/// comparison, and fails listing every mismatch.
fn conform(name: &str, source: &str, policy: Option<&str>, extra: &[&str]) {
    clawc_is_built();
    let f = Fixture::new(&format!("conf-{name}"));
    let mut t = tree(&f, extra);
    let art = f.root.join("policy.bin");
    let clawc = Path::new(clawless()).with_file_name("clawc");
    let mut c = Command::new(&clawc);
    c.arg("compile").arg(source).arg("-o").arg(&art);
    if let Some(p) = policy {
        c.args(["--policy", p]);
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "compiling {source}\n{}", show(&o));
    let ir = claw_states(&clawc, &art);
    let phases = if ir.len() > 1 { 2 } else { 1 };
    t.pfd = claw_artifact::Artifact::from_bytes(&std::fs::read(&art).unwrap())
        .unwrap()
        .isolated
        .is_some();

    let script = probe_script();
    let clock = std::time::Instant::now();
    let lap = |what: &str| eprintln!("{name}: {what} at {:?}", clock.elapsed());
    let reqs = build(&t, phases);
    lap("built");
    let mut native = Command::new("python3");
    native
        .args(["-c", &script])
        .current_dir(&t.ws)
        .env("HOME", &t.home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let kernel = run_probe(native, &reqs);
    lap("native");
    let again = build(&t, phases);
    lap("rebuilt");
    assert_eq!(probe_input(&again), probe_input(&reqs));
    // Explain before the sandboxed run, on the tree as the session finds it at
    // its start: the secret names explain reads from the file system (a
    // secret-named symlink's target, `claw_ir::names`) are those the runtime
    // discovers then.
    // Explain in the state each request is made in: from the initial state on,
    // until a request the policy allows, that reaches its file, moves to another.
    let mut answers: Vec<Value> = Vec::new();
    let mut states: Vec<String> = Vec::new();
    let mut state: Option<String> = None;
    let mut moved = 0;
    while answers.len() < reqs.len() {
        let from = answers.len();
        let batch = explain(&art, &t, &reqs[from..], state.as_deref());
        let fired = batch
            .iter()
            .zip(&reqs[from..])
            .position(|(a, r)| !a["then"].is_null() && r.resolves);
        let take = fired.map_or(batch.len(), |k| k + 1);
        for a in batch.into_iter().take(take) {
            states.push(a["state"].as_str().unwrap_or("").to_string());
            answers.push(a);
        }
        if fired.is_some() {
            state = answers.last().unwrap()["then"].as_str().map(str::to_string);
            moved += 1;
            assert!(moved < 16, "{name}: transitions do not settle");
        }
    }
    if name.contains("coding") {
        assert!(moved > 0, "reading a secret moves {name} to another state");
    }
    lap("explained");
    // The symlinked secret was explained through its secret name.
    let linked = t.ws.join("dotfiles/env").display().to_string();
    let named = reqs
        .iter()
        .zip(&answers)
        .find(|(r, _)| r.a == linked)
        .map(|(_, a)| a["secret_names"].to_string())
        .unwrap_or_default();
    if name.contains("coding") {
        assert!(
            named.contains(".env.linked"),
            "{name}: explain does not name the secret behind `.env.linked`: {named}"
        );
    }
    // So was the file created where the dangling `.env.later` ends.
    let later = t.ws.join("dotfiles/later.env").display().to_string();
    let (_, a) = reqs
        .iter()
        .zip(&answers)
        .find(|(r, _)| r.a == later)
        .expect("the creation at `.env.later`'s end is asked");
    if name.contains("coding") {
        assert!(
            a["secret_names"].to_string().contains(".env.later"),
            "{name}: explain does not name `.env.later` for a creation where it ends: {a}"
        );
    }
    let mut sandboxed = f.command(
        &["--policy", art.to_str().unwrap(), "--require-landlock"],
        &["python3", "-c", &script],
    );
    sandboxed.env("TMPDIR", "/tmp");
    let got = run_probe(sandboxed, &reqs);
    lap("sandboxed");

    let mut mismatches = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let isolated = Kernel::of(&art, &t);
    for (i, r) in reqs.iter().enumerate() {
        let a = &answers[i];
        let (want, why) = expected(r, a, &kernel[i]);
        let (want, why) = isolated
            .as_ref()
            .and_then(|k| {
                let named = a["secret_names"].as_array().is_some_and(|n| !n.is_empty());
                k.adjust(r, &want, &kernel[i], named)
            })
            .unwrap_or((want, why));
        *counts.entry(why).or_default() += 1;
        if got[i] != want {
            mismatches.push(format!(
                "{} flags={:#o} {} {} [state {}] model {:?}: clawless {} but expected {} ({why}; kernel {}, explain {} by {})",
                r.op,
                r.flags,
                r.a,
                r.b,
                states.get(i).map_or("", String::as_str),
                r.model,
                got[i],
                want,
                kernel[i],
                a["decision"],
                a["rule"]
            ));
        }
    }
    eprintln!(
        "{name}: {} requests, {} mismatches; {counts:?}",
        reqs.len(),
        mismatches.len()
    );
    let _ = std::fs::remove_dir_all(&t.tmp);
    assert!(
        mismatches.is_empty(),
        "{name}: {} of {} requests disagree with clawc explain:\n{}",
        mismatches.len(),
        reqs.len(),
        mismatches.join("\n")
    );
    // Something of each kind was compared.
    assert!(counts.len() >= 3, "{counts:?}");
}

/// The policy's states, from `clawc disasm`.
fn claw_states(clawc: &Path, art: &Path) -> Vec<String> {
    let o = Command::new(clawc).arg("disasm").arg(art).output().unwrap();
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.starts_with("states:"))
        .unwrap_or("states:");
    line["states:".len()..]
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../examples/{name}.claw"))
        .display()
        .to_string()
}

#[test]
fn coding_agent_example_agrees_with_explain() {
    conform("coding_agent", &example("coding_agent"), None, &[".agent/log"]);
}

#[test]
fn offline_analysis_example_agrees_with_explain() {
    conform(
        "offline_analysis",
        &example("offline_analysis"),
        None,
        &["data", "results"],
    );
}

#[test]
fn readonly_reviewer_example_agrees_with_explain() {
    conform("readonly_reviewer", &example("readonly_reviewer"), None, &[]);
}

#[test]
fn std_offline_agrees_with_explain() {
    conform("std_offline", "std::profiles", Some("offline"), &[]);
}

#[test]
fn std_readonly_workspace_agrees_with_explain() {
    conform(
        "std_readonly_workspace",
        "std::profiles",
        Some("readonly_workspace"),
        &[],
    );
}

#[test]
fn std_coding_agent_agrees_with_explain() {
    conform("std_coding_agent", "std::profiles", Some("coding_agent"), &[]);
}
