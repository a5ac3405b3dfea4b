//! Shared fixtures for the runtime suites: a sandbox directory with a workspace, a
//! fake home holding a secret, the attack program, and `clawless` runs with a
//! deadline. Tests run on the real kernel; a missing kernel feature fails the test
//! with a message naming it.
#![allow(dead_code)]

pub mod net;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SECRET: &str = "TOP-SECRET ssh key material";

/// The clawless binary under test.
pub fn clawless() -> &'static str {
    env!("CARGO_BIN_EXE_clawless")
}

/// Whether this run of the suites forces mediated mode (`CLAWLESS_MODE=mediated`,
/// which `clawless` reads too: scripts/test.sh runs the runtime suites in both
/// modes). Otherwise `clawless` runs isolated (the test machines allow it).
pub fn mediated() -> bool {
    std::env::var("CLAWLESS_MODE").as_deref() == Ok("mediated")
}

/// Whether the kernel performs ordinary opens in this run (isolated mode,
/// `CLAWLESS_KERNEL_OPENS=1` (`0` or unset is off), with a policy that has an
/// isolated plan: docs/architecture.md "Isolated files"). Landlock then refuses
/// an open with `EACCES`, whatever errno the policy names. A run that asks for
/// them where they cannot be had (not root, no fanotify permission events)
/// fails here, naming what is missing, instead of testing mediated opens again.
pub fn kernel_opens() -> bool {
    if mediated() || std::env::var("CLAWLESS_KERNEL_OPENS").as_deref() != Ok("1") {
        return false;
    }
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        // SAFETY: geteuid takes nothing and cannot fail.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "CLAWLESS_KERNEL_OPENS=1 tests kernel-decided opens, whose tripwires are fanotify permission marks (CAP_SYS_ADMIN): run this pass as root"
        );
        // SAFETY: integer flags only; the descriptor is closed at once.
        let fd = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC,
                (libc::O_RDONLY | libc::O_CLOEXEC) as libc::c_uint,
            )
        };
        assert!(
            fd >= 0,
            "this kernel offers no fanotify permission events (fanotify_init(FAN_CLASS_CONTENT): {}; CONFIG_FANOTIFY_ACCESS_PERMISSIONS): kernel-decided opens cannot be tested here",
            std::io::Error::last_os_error()
        );
        // SAFETY: our own fresh descriptor.
        unsafe { libc::close(fd) };
    });
    true
}

/// The errno of an ordinary open (no `O_CREAT`, no `O_DIRECTORY`) the policy
/// refuses with `policy`: `EACCES` when the kernel decides opens.
pub fn open_refusal(policy: i32) -> i32 {
    if kernel_opens() {
        libc::EACCES
    } else {
        policy
    }
}

/// Fails (never skips) when the kernel lacks what enforcement needs.
/// Policies from source are compiled by the `clawc` next to `clawless`.
pub fn clawc_is_built() {
    let clawc = std::path::Path::new(clawless()).with_file_name("clawc");
    assert!(
        clawc.is_file(),
        "{} is missing: policies from source are compiled with clawc (cargo build -p clawc)",
        clawc.display()
    );
}

pub fn require_kernel() {
    let actions = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    assert!(
        actions.contains("user_notif"),
        "this kernel does not offer seccomp user notification (actions_avail: {actions:?}); the runtime cannot be tested here"
    );
    // landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    // SAFETY: the version query passes a null ruleset pointer with size 0, which
    // the kernel accepts and never dereferences.
    let abi = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0, 1) };
    assert!(
        abi >= 1,
        "this kernel does not enforce Landlock (landlock_create_ruleset: {}); the runtime cannot be tested here",
        std::io::Error::last_os_error()
    );
}

/// The attack program, compiled once per test binary.
pub fn attack_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/runtime/progs/attack.c");
        let out = scratch_root().join(format!("attack-{}", std::process::id()));
        let st = Command::new("gcc")
            .args(["-O1", "-pthread", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("gcc is needed for the attack programs (scripts/setup.sh installs it)");
        assert!(st.success(), "compiling {} failed", src.display());
        out
    })
}

/// Where fixtures live: the target directory's scratch space (never under /tmp,
/// where the standard profiles refuse to run programs).
fn scratch_root() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runtime");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One test's sandbox: `ws/` (the workspace), `home/` (HOME, with a secret in
/// `home/.ssh/id_test`).
pub struct Fixture {
    pub root: PathBuf,
    pub ws: PathBuf,
    pub home: PathBuf,
    pub secret: PathBuf,
}

impl Fixture {
    pub fn new(name: &str) -> Fixture {
        require_kernel();
        let root = scratch_root().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ws = root.join("ws");
        let home = root.join("home");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        let secret = home.join(".ssh/id_test");
        std::fs::write(&secret, SECRET).unwrap();
        std::fs::write(ws.join("ok.txt"), "ordinary workspace file\n").unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        Fixture {
            ws: root.join("ws"),
            home: root.join("home"),
            secret: root.join("home/.ssh/id_test"),
            root,
        }
    }

    /// Copies the attack program into the workspace (where the policy lets it run).
    pub fn with_attack(self) -> Fixture {
        std::fs::copy(attack_binary(), self.ws.join("attack")).unwrap();
        self
    }

    pub fn path(&self, rel: &str) -> String {
        self.ws.join(rel).display().to_string()
    }

    /// `clawless exec [extra...] --workspace ws -- cmd...` in `ws`, HOME=home.
    pub fn command(&self, extra: &[&str], cmd: &[&str]) -> Command {
        let mut c = Command::new(clawless());
        c.arg("exec")
            .args(extra)
            .arg("--workspace")
            .arg(&self.ws)
            .arg("--")
            .args(cmd);
        c.current_dir(&self.ws)
            .env("HOME", &self.home)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        run_with_deadline(self.command(extra, cmd), Duration::from_secs(120))
    }

    /// Runs a shell script in the sandbox (default policy).
    pub fn sh(&self, script: &str) -> Output {
        self.run(&[], &["/bin/sh", "-c", script])
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs a command, killing it if it outlives `limit` (then the test fails).
pub fn run_with_deadline(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawning clawless");
    wait_with_deadline(child, limit)
}

/// Starts a command (a `clawless` run, usually from [`Fixture::command`]) with its
/// standard output and error piped, for a test that acts while it runs and then
/// collects the run with [`wait_with_deadline`].
pub fn spawn_piped(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("spawning clawless")
}

/// Asks `ready` every `every` until it says yes or `limit` has passed; returns its
/// last answer (the caller asserts on it where the wait must succeed).
pub fn wait_until(limit: Duration, every: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Waits (every 5 ms, up to `limit`) until `path` exists: a marker file the agent
/// makes when it got to a step. Returns whether it exists.
pub fn wait_for_file(path: &Path, limit: Duration) -> bool {
    wait_until(limit, Duration::from_millis(5), || path.exists())
}

/// Waits for `child` (started by [`spawn_piped`] or with its output piped),
/// killing it if it outlives `limit` (then the test fails).
pub fn wait_with_deadline(child: Child, limit: Duration) -> Output {
    let pid = child.id() as i32;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let start = Instant::now();
    let watchdog = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            if start.elapsed() > limit {
                // SAFETY: kill(2) with integer arguments touches no memory of ours; the pid is a child this test started (at worst the signal misses).
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    });
    let out = child.wait_with_output().expect("waiting for clawless");
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let timed_out = watchdog.join().unwrap_or(false);
    assert!(!timed_out, "clawless did not finish within {limit:?}");
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit status as the shell shows it (128+signal when killed).
pub fn code(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0))
}

/// A short description for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        code(o),
        stdout(o),
        stderr(o)
    )
}
