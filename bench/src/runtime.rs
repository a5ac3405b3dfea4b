//! `cargo run --release -p claw-bench --bin runtime`: real workloads natively and
//! under `clawless exec` (the embedded default policy), interleaved in one run, as
//! ratios; the monitor's throughput on notified opens with 1 and 8 threads; and
//! the network: a 100 MB loopback download and connects per second, natively and
//! in both modes (`runtime N net` runs only those), and connect setup to a domain
//! endpoint vs an address endpoint (`runtime N dns` runs only that).
//! Needs release builds of `clawless` and `clawc` next to this binary (the command
//! in docs/BENCHMARKS.md builds them). Set `CLAW_BENCH_KEEP=1` to keep the
//! generated workspace and the build's audit log for analysis.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

fn clawless() -> PathBuf {
    let p = target_dir().join("clawless");
    if !p.is_file() {
        eprintln!(
            "error: {} not found; build it first: cargo build --release -p claw-runtime",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

fn sh(dir: &Path, script: &str) {
    let st = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(st.success(), "set-up failed: {script}");
}

/// A C project of `n` files, each including a few system headers and holding
/// `funcs` functions of real work (loops, arithmetic, string handling).
fn make_project(dir: &Path, n: usize, funcs: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut objs = Vec::new();
    std::fs::write(
        dir.join("common.h"),
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <math.h>\nint f0(int);\n",
    )
    .unwrap();
    for i in 0..n {
        let mut body = String::from("#include \"common.h\"\n");
        for j in 0..funcs {
            body.push_str(&format!(
                "static double g{j}(const double *v, int n) {{\n  double acc = {j}.0;\n  for (int k = 0; k < n; k++) {{\n    acc += v[k] * (k % {m} + 1) / (1.0 + acc * acc);\n    if (acc > 1e6) acc = sqrt(acc);\n  }}\n  char buf[64]; snprintf(buf, sizeof buf, \"%f\", acc);\n  return acc + (double)strlen(buf);\n}}\n",
                m = j % 7 + 2
            ));
        }
        body.push_str(&format!("int f{i}(int x) {{\n  double v[16] = {{0}}; double t = 0;\n  for (int k = 0; k < 16; k++) v[k] = x + k;\n"));
        for j in 0..funcs {
            body.push_str(&format!("  t += g{j}(v, 16);\n"));
        }
        body.push_str("  return (int)t;\n}\n");
        std::fs::write(dir.join(format!("f{i}.c")), body).unwrap();
        objs.push(format!("f{i}.o"));
    }
    std::fs::write(
        dir.join("main.c"),
        "#include \"common.h\"\nint main(void) { return f0(3) > 100; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Makefile"),
        format!(
            "CFLAGS = -O2 -Wall\nprog: main.o {objs}\n\t$(CC) -o $@ $^ -lm\n%.o: %.c common.h\n\t$(CC) $(CFLAGS) -c $< -o $@\nclean:\n\trm -f prog *.o\n",
            objs = objs.join(" ")
        ),
    )
    .unwrap();
}

/// A tree of `dirs` × `files` small text files.
fn make_tree(dir: &Path, dirs: usize, files: usize) {
    make_tree_of(dir, dirs, files, false)
}

/// [`make_tree`], where `distinct` gives each file a first line of its own (its
/// name), so that git stores every file as an object of its own; without it the
/// 2,000 files hold two contents, and git stores two objects and *freshens*
/// them (`utime`) once for each other file.
fn make_tree_of(dir: &Path, dirs: usize, files: usize, distinct: bool) {
    for d in 0..dirs {
        let sub = dir.join(format!("d{d:03}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..files {
            let body = if (d + f) % 17 == 0 {
                "has the needle\n"
            } else {
                "plain text line\n"
            };
            let head = if distinct {
                format!("d{d:03}/f{f:03}\n")
            } else {
                String::new()
            };
            std::fs::write(sub.join(format!("f{f:03}.txt")), head + &body.repeat(20)).unwrap();
        }
    }
}

struct Workload {
    name: &'static str,
    what: &'static str,
    script: &'static str,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "build",
        what: "`make -j2` of a 41-file C project, 30 functions per file (gcc -O2), from clean",
        script: "cd proj && make -s clean && make -s -j2",
    },
    Workload {
        name: "build, one job",
        what: "the same with `make -j1`: one of the two cores is left to the monitor",
        script: "cd proj && make -s clean && make -s -j1",
    },
    Workload {
        name: "build, tiny files",
        what: "the same with one small function per file: almost all header lookups",
        script: "cd tiny && make -s clean && make -s -j2",
    },
    Workload {
        name: "tree walk",
        what: "`find` + `grep -rl` + `du` over 2,000 files in 40 directories",
        script: "find tree -type f | wc -l >/dev/null && grep -rl needle tree | wc -l >/dev/null && du -s tree >/dev/null",
    },
    Workload {
        name: "git",
        what: "`git init/add/commit/status/log` of the same 2,000 files",
        script: "cd tree && rm -rf .git && git init -q && git add -A && git -c user.name=b -c user.email=b@x commit -qm m && git status --porcelain | wc -l >/dev/null && git log --oneline >/dev/null",
    },
];

fn time(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "workload failed: {:?}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let clawless = clawless();
    let ws = target_dir().join("bench-runtime");
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).unwrap();
    let ws = std::fs::canonicalize(&ws).unwrap();
    if std::env::args().nth(2).as_deref() == Some("files") {
        // `runtime N files`: native vs isolated vs mediated file work only.
        files(&clawless, &ws, runs);
        let _ = std::fs::remove_dir_all(&ws);
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("dns") {
        // `runtime N dns`: connect setup by name vs by address only.
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("progs/netload.c");
        let st = Command::new("gcc")
            .args(["-O2", "-o"])
            .arg(ws.join("netload"))
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success());
        domains(&clawless, &ws, runs);
        let _ = std::fs::remove_dir_all(&ws);
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("net") {
        // `runtime N net`: the network rows only.
        network(&clawless, &ws, runs);
        domains(&clawless, &ws, runs);
        let _ = std::fs::remove_dir_all(&ws);
        return;
    }
    make_project(&ws.join("proj"), 40, 30);
    make_project(&ws.join("tiny"), 40, 1);
    make_tree(&ws.join("tree"), 40, 50);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("progs/openloop.c");
    let st = Command::new("gcc")
        .args(["-O2", "-pthread", "-o"])
        .arg(ws.join("openloop"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(ws.join("target.txt"), "x").unwrap();
    sh(&ws, "cd proj && make -s -j2 && cd ../tiny && make -s -j2"); // warm the page cache

    let native = |script: &str| {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script).current_dir(&ws);
        c
    };
    let boxed = |script: &str| {
        let mut c = Command::new(&clawless);
        c.arg("exec")
            .arg("--workspace")
            .arg(&ws)
            .args(["--", "/bin/sh", "-c", script])
            .current_dir(&ws);
        c
    };

    println!("| workload | what | native (median of {runs}) | under clawless | ratio |");
    println!("|---|---|---:|---:|---:|");
    for w in WORKLOADS {
        let (mut n, mut b) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            n.push(time(&mut native(w.script)));
            b.push(time(&mut boxed(w.script)));
        }
        let (mn, mb) = (median(n), median(b));
        println!(
            "| {} | {} | {:.3} s | {:.3} s | **{:.2}×** |",
            w.name,
            w.what,
            mn,
            mb,
            mb / mn
        );
    }

    // How many calls the monitor decided for the build (one audited run).
    // Beside the workspace: an audit log the agent could write is refused.
    let log = ws.with_file_name("audit.jsonl");
    let mut c = Command::new(&clawless);
    c.arg("exec")
        .arg("--workspace")
        .arg(&ws)
        .arg("--audit-log")
        .arg(&log)
        .args(["--", "/bin/sh", "-c", WORKLOADS[0].script])
        .current_dir(&ws);
    time(&mut c);
    let notified = std::fs::read_to_string(&log)
        .map(|s| s.lines().count())
        .unwrap_or(0);
    println!();
    println!(
        "The build made {notified} calls that the monitor decided (from one audited run; \
         opens of missing files, answered ENOENT without a decision, are not in the log)."
    );
    println!();

    println!("| monitor throughput | native opens/s | under clawless (notified opens/s) | ratio |");
    println!("|---|---:|---:|---:|");
    for threads in [1, 8] {
        let count = if threads == 1 { "20000" } else { "5000" };
        let args = [
            ws.join("target.txt").display().to_string(),
            threads.to_string(),
            count.to_string(),
        ];
        let rate = |c: &mut Command| -> f64 {
            let out = c.output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        let (mut n, mut b) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            n.push(rate(Command::new(ws.join("openloop")).args(&args)));
            b.push(rate(
                Command::new(&clawless)
                    .arg("exec")
                    .arg("--workspace")
                    .arg(&ws)
                    .arg("--")
                    .arg(ws.join("openloop"))
                    .args(&args),
            ));
        }
        let (mn, mb) = (median(n), median(b));
        println!(
            "| {threads} thread{} | {:.0} | {:.0} | {:.1}× slower |",
            if threads == 1 { "" } else { "s" },
            mn,
            mb,
            mn / mb
        );
    }
    network(&clawless, &ws, runs);
    if std::env::var_os("CLAW_BENCH_KEEP").is_some() {
        println!(
            "\nKept {} (its audit.jsonl shows what the monitor decided).",
            ws.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&ws);
    }
}

/// Bytes of the download.
const DOWNLOAD: usize = 100 << 20;

/// The CPU the network rows' client runs on (`taskset`); the loopback server's
/// sending threads run on CPU 0.
const CLIENT_CPU: &str = "1";

/// Whether the network rows pin their two ends to CPUs (the default;
/// `CLAWLESS_BENCH_NOPIN=1` lets the scheduler place them, as in real use).
fn pinning() -> bool {
    std::env::var_os("CLAWLESS_BENCH_NOPIN").is_none()
}

/// A command that runs its program on [`CLIENT_CPU`] when [`pinning`].
fn pinned() -> Command {
    let mut c = Command::new("taskset");
    if pinning() {
        c.args(["-c", CLIENT_CPU]);
    } else {
        // All CPUs: taskset with a full mask changes nothing.
        c.args(["-c", "0-1023"]);
    }
    c
}

/// Pins the calling thread to one CPU (best effort: on a 1-CPU machine the
/// call fails and the thread stays where it is).
fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bit set on our stack, initialised by CPU_ZERO
    // before use; sched_setaffinity(0, ...) affects only the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A loopback server on `ip:443` (a port the default profile allows): each
/// connection gets `bytes` bytes, then is closed.
fn serve(ip: &str, bytes: usize) {
    let l = std::net::TcpListener::bind((ip, 443))
        .unwrap_or_else(|e| panic!("binding {ip}:443: {e} (run as root)"));
    // The standard library listens with a backlog of 128, which a client
    // connecting in a loop overflows (SYNs dropped and retried a second later).
    // SAFETY: listen with integer arguments on the socket `l` owns, which
    // outlives the call.
    unsafe {
        libc::listen(std::os::fd::AsRawFd::as_raw_fd(&l), 4096);
    }
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 16];
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            if bytes == 0 {
                // Connects only: accept as fast as the clients connect (a thread
                // each would let the backlog overflow and SYNs be retried).
                continue;
            }
            let chunk = chunk.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                // The sender on CPU 0 and the client on CPU 1 (`pinned`): a
                // transfer that the scheduler moves between CPUs, or puts both
                // ends on one, varies 2x from run to run on a 2-CPU machine.
                if pinning() {
                    pin_to(0);
                }
                let mut left = bytes;
                while left > 0 {
                    let k = left.min(chunk.len());
                    if s.write_all(&chunk[..k]).is_err() {
                        break;
                    }
                    left -= k;
                }
            });
        }
    });
}

/// Network rows: a 100 MB download over loopback and connects per second,
/// natively and under `clawless` in both modes, interleaved.
fn network(clawless: &Path, ws: &Path, runs: usize) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("progs/netload.c");
    let prog = ws.join("netload");
    let st = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&prog)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let (dl, cn) = ("127.77.9.1", "127.77.9.2");
    serve(dl, DOWNLOAD);
    serve(cn, 0);
    // Every number `netload` printed.
    let measure_all = |mode: Option<&str>, args: &[&str]| -> Vec<f64> {
        let mut c = pinned();
        match mode {
            None => {
                c.arg(&prog);
            }
            Some(m) => {
                c.arg(clawless)
                    .arg("exec")
                    .args(["--mode", m])
                    .arg("--workspace")
                    .arg(ws)
                    .arg("--")
                    .arg(&prog);
            }
        }
        let out = c.args(args).current_dir(ws).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect()
    };
    let measure = |mode: Option<&str>, args: &[&str]| -> f64 { measure_all(mode, args)[0] };
    let modes = [None, Some("mediated"), Some("isolated")];
    println!();
    println!("| network (median of {runs}) | native | mediated | ratio | isolated | ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    let rows: [(&str, Vec<&str>); 2] = [
        ("100 MB download over loopback, MB/s", vec!["download", dl, "443"]),
        (
            "connects per second (connect + close)",
            vec!["connects", cn, "443", "2000"],
        ),
    ];
    for (what, args) in rows {
        let mut got = vec![Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..runs {
            for (i, m) in modes.iter().enumerate() {
                got[i].push(measure(*m, &args));
            }
        }
        // The best run too: on a shared machine a transfer of a tenth of a
        // second is often preempted, and the best of each is the least disturbed.
        let best: Vec<f64> = got
            .iter()
            .map(|v| v.iter().copied().fold(0.0, f64::max))
            .collect();
        let med: Vec<f64> = got.into_iter().map(median).collect();
        println!(
            "| {what} | {:.0} | {:.0} | **{:.2}×** | {:.0} | **{:.2}×** |",
            med[0],
            med[1],
            med[0] / med[1],
            med[2],
            med[0] / med[2]
        );
        println!(
            "| the same, best of {runs} | {:.0} | {:.0} | {:.2}× | {:.0} | {:.2}× |",
            best[0],
            best[1],
            best[0] / best[1],
            best[2],
            best[0] / best[2]
        );
        if what.starts_with("connects") {
            let added = |r: f64| (1.0 / r - 1.0 / med[0]) * 1e6;
            println!(
                "| connect setup added, µs | | {:.0} | | {:.0} | |",
                added(med[1]),
                added(med[2])
            );
        }
    }
    // Where a connect's time goes: the same loop, each call timed
    // (`netload steps`), median of the runs per call.
    let calls = ["socket", "connect", "setsockopt", "close"];
    let mut steps = vec![vec![Vec::new(); calls.len()]; modes.len()];
    for _ in 0..runs {
        for (i, m) in modes.iter().enumerate() {
            let v = measure_all(*m, &["steps", cn, "443", "2000"]);
            for (k, x) in v.into_iter().enumerate().take(calls.len()) {
                steps[i][k].push(x);
            }
        }
    }
    println!();
    println!("| one connect, µs per call (median of {runs}) | native | mediated | isolated |");
    println!("|---|---:|---:|---:|");
    for (k, call) in calls.iter().enumerate() {
        let med: Vec<f64> = steps.iter().map(|s| median(s[k].clone())).collect();
        println!("| `{call}` | {:.1} | {:.1} | {:.1} |", med[0], med[1], med[2]);
    }
    // The mechanism's floor: the same loop under a minimal monitor of a few
    // lines of C (bench/progs/notiffloor.c), nothing of ClawLess in it.
    let floor = ws.join("notiffloor");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("progs/notiffloor.c");
    let st = Command::new("gcc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&floor)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let out = pinned()
        .arg(&floor)
        .args(["2000", &runs.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let us: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| {
            let (name, v) = l.split_once(' ')?;
            Some((name.to_string(), v.trim().parse().ok()?))
        })
        .collect();
    let native = us.iter().find(|(n, _)| n == "native").map_or(0.0, |(_, v)| *v);
    println!();
    println!("| minimal monitor (notiffloor, median of {runs}) | µs per connect | added |");
    println!("|---|---:|---:|");
    for (name, v) in &us {
        println!("| {name} | {v:.1} | {:.1} |", v - native);
    }
}

/// The file workloads of `runtime N files`: each run natively, in isolated mode
/// (the kernel decides opens; Landlock and tripwires) and in mediated mode (the
/// monitor decides every open), interleaved.
const FILE_WORKLOADS: &[Workload] = &[
    Workload {
        name: "tree walk",
        what: "`find` + `grep -rl` + `du` over 2,000 files in 40 directories",
        script: "find tree -type f | wc -l >/dev/null && grep -rl needle tree | wc -l >/dev/null && du -s tree >/dev/null",
    },
    Workload {
        name: "git",
        what: "`git init/add/commit/status/log` of the same 2,000 files",
        script: "cd tree && rm -rf .git && git init -q && git add -A && git -c user.name=b -c user.email=b@x commit -qm m && git status --porcelain | wc -l >/dev/null && git log --oneline >/dev/null",
    },
    Workload {
        name: "git, distinct files",
        what: "the same of 2,000 files of distinct contents: 2,000 objects written (each a creation, a link and an unlink)",
        script: "cd treeu && rm -rf .git && git init -q && git add -A && git -c user.name=b -c user.email=b@x commit -qm m && git status --porcelain | wc -l >/dev/null && git log --oneline >/dev/null",
    },
    Workload {
        name: "git status/diff/log",
        what: "`git status`, `git diff`, `git log -p` in a committed 2,000-file repository (no object written)",
        script: "cd repo && git status --porcelain >/dev/null && git diff --stat >/dev/null && git log -p >/dev/null",
    },
    Workload {
        name: "grep -r",
        what: "`grep -r` over 3,000 files in 60 directories",
        script: "grep -r needle big | wc -l >/dev/null",
    },
    Workload {
        name: "git clone",
        what: "`git clone` of a local 2,000-file repository, then `git status`",
        script: "rm -rf clone && git clone -q repo clone && cd clone && git status --porcelain >/dev/null",
    },
    Workload {
        name: "build, tiny files",
        what: "`make -j2` of 40 one-function C files (gcc -O2), from clean",
        script: "cd tiny && make -s clean && make -s -j2",
    },
    Workload {
        name: "build",
        what: "`make -j2` of a 41-file C project, 30 functions per file (gcc -O2), from clean",
        script: "cd proj && make -s clean && make -s -j2",
    },
    Workload {
        name: "start-up",
        what: "`/bin/true`: set-up, tripwire discovery, exit",
        script: "true",
    },
];

fn files(clawless: &Path, ws: &Path, runs: usize) {
    make_project(&ws.join("proj"), 40, 30);
    make_project(&ws.join("tiny"), 40, 1);
    make_tree(&ws.join("tree"), 40, 50);
    make_tree(&ws.join("big"), 60, 50);
    make_tree(&ws.join("repo"), 40, 50);
    make_tree_of(&ws.join("treeu"), 40, 50, true);
    sh(
        ws,
        "cd repo && git init -q && git add -A && git -c user.name=b -c user.email=b@x commit -qm m",
    );
    std::fs::write(ws.join(".env"), "API_TOKEN=bench\n").unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("progs/openloop.c");
    let st = Command::new("gcc")
        .args(["-O2", "-pthread", "-o"])
        .arg(ws.join("openloop"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("progs/createloop.c");
    let st = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(ws.join("createloop"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::create_dir_all(ws.join("creations")).unwrap();
    std::fs::write(ws.join("target.txt"), "x").unwrap();
    sh(ws, "cd proj && make -s -j2 && cd ../tiny && make -s -j2"); // warm the page cache
    let native = |script: &str| {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script).current_dir(ws);
        c
    };
    let boxed = |mode: &str, script: &str| {
        let mut c = Command::new(clawless);
        c.arg("exec")
            .args(["--mode", mode])
            .arg("--workspace")
            .arg(ws)
            .args(["--", "/bin/sh", "-c", script])
            .current_dir(ws)
            .env("CLAWLESS_KERNEL_OPENS", "1")
            .stderr(std::process::Stdio::null());
        c
    };
    // The isolated rows measure kernel-decided opens only if this run has them
    // (root, a policy with a proved plan, no secret that keeps opens mediated,
    // such as an `.npmrc` in `HOME`): said, and the run stopped, otherwise.
    let probe = Command::new(clawless)
        .args(["exec", "--mode", "isolated", "--workspace"])
        .arg(ws)
        .args(["--", "true"])
        .env("CLAWLESS_KERNEL_OPENS", "1")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&probe.stderr);
    assert!(
        line.contains("the kernel decides opens"),
        "the isolated rows would measure mediated opens: {line}"
    );
    // An agent runs many commands in one session: the short workloads run five
    // times in one `clawless exec` (start-up, measured on its own row, paid once).
    println!("| workload (tree walk, git, grep: 5 times in one session) | what | native (median of {runs}) | isolated | mediated | isolated ratio | mediated ratio |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for w in FILE_WORKLOADS {
        // The short ones five times in one session; the long ones once.
        let script = if matches!(
            w.name,
            "tree walk" | "git" | "git, distinct files" | "git status/diff/log" | "grep -r"
        ) {
            format!("for i in 1 2 3 4 5; do ( {} ) || exit 1; done", w.script)
        } else {
            w.script.to_string()
        };
        let (mut n, mut i, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            n.push(time(&mut native(&script)));
            i.push(time(&mut boxed("isolated", &script)));
            m.push(time(&mut boxed("mediated", &script)));
        }
        let (mn, mi, mm) = (median(n), median(i), median(m));
        println!(
            "| {} | {} | {:.3} s | {:.3} s | {:.3} s | **{:.2}×** | {:.2}× |",
            w.name,
            w.what,
            mn,
            mi,
            mm,
            mi / mn,
            mm / mn
        );
    }
    println!();
    println!(
        "| open loop (1 thread, 20,000 opens) | native opens/s | isolated | mediated | isolated | mediated |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, file) in [
        ("ordinary file", "target.txt"),
        ("secret (`.env`, a tripwire)", ".env"),
    ] {
        let args = [ws.join(file).display().to_string(), "1".into(), "20000".into()];
        let rate = |c: &mut Command| -> f64 {
            let out = c.output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        let under = |mode: &str| program_under(clawless, ws, mode, "openloop", &args);
        let (mut n, mut i, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            n.push(rate(Command::new(ws.join("openloop")).args(&args)));
            i.push(rate(&mut under("isolated")));
            m.push(rate(&mut under("mediated")));
        }
        let (mn, mi, mm) = (median(n), median(i), median(m));
        println!(
            "| {name} | {mn:.0} | {mi:.0} | {mm:.0} | **{:.2}× slower** | {:.2}× slower |",
            mn / mi,
            mn / mm
        );
    }
    creations(clawless, ws, runs);
}

/// `clawless exec --mode MODE` (kernel-decided opens asked for) of the program
/// `ws/prog` with `args`, its messages dropped.
fn program_under(clawless: &Path, ws: &Path, mode: &str, prog: &str, args: &[String]) -> Command {
    let mut c = Command::new(clawless);
    c.arg("exec")
        .args(["--mode", mode])
        .arg("--workspace")
        .arg(ws)
        .arg("--")
        .arg(ws.join(prog))
        .args(args)
        .env("CLAWLESS_KERNEL_OPENS", "1")
        .stderr(std::process::Stdio::null());
    c
}

/// What leaving creations and renames with the monitor costs (a new name may be
/// a secret's, so both modes notify them): `createloop` natively, isolated
/// (kernel-decided opens) and mediated, interleaved.
fn creations(clawless: &Path, ws: &Path, runs: usize) {
    let dir = ws.join("creations");
    let args = [dir.display().to_string(), "5000".into()];
    let rates = |c: &mut Command| -> [f64; 3] {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = text.split_whitespace().map(|x| x.parse().unwrap()).collect();
        [v[0], v[1], v[2]]
    };
    let under = |mode: &str| program_under(clawless, ws, mode, "createloop", &args);
    let (mut n, mut i, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        n.push(rates(Command::new(ws.join("createloop")).args(&args)));
        i.push(rates(&mut under("isolated")));
        m.push(rates(&mut under("mediated")));
    }
    println!();
    println!("| 5,000 of each, one thread | native per s | isolated | mediated | isolated | mediated |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (k, what) in [
        "create (O_CREAT|O_EXCL, write 16 bytes, close)",
        "rename",
        "unlink",
    ]
    .iter()
    .enumerate()
    {
        let col = |v: &[[f64; 3]]| median(v.iter().map(|r| r[k]).collect());
        let (mn, mi, mm) = (col(&n), col(&i), col(&m));
        println!(
            "| {what} | {mn:.0} | {mi:.0} | {mm:.0} | **{:.2}× slower** | {:.2}× slower |",
            mn / mi,
            mn / mm
        );
    }
}

/// A DNS server on `ip:port` (hickory-proto) answering every A query with `answer`.
fn dns_server(ip: &str, answer: std::net::Ipv4Addr) -> u16 {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::{rdata::A, RData, Record, RecordType};
    let s = std::net::UdpSocket::bind((ip, 0)).unwrap();
    let port = s.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                continue;
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(query) = q.queries().first().cloned() else {
                continue;
            };
            let mut r = Message::new();
            r.set_id(q.id())
                .set_message_type(MessageType::Response)
                .set_recursion_available(true)
                .add_query(query.clone());
            if query.query_type() == RecordType::A {
                r.add_answer(Record::from_rdata(query.name().clone(), 300, RData::A(A(answer))));
            }
            if let Ok(b) = r.to_vec() {
                let _ = s.send_to(&b, from);
            }
        }
    });
    port
}

/// Connect setup to a domain endpoint vs an address endpoint: the same 2,000
/// connects to `127.77.9.4:443` under a policy that allows it by address, and
/// under one that allows `bench.test`, which the agent resolved first through
/// the monitor's forwarder (isolated) or the monitor resolves itself (mediated).
fn domains(clawless: &Path, ws: &Path, runs: usize) {
    let ip = "127.77.9.4";
    serve(ip, 0);
    let dns = dns_server("127.77.9.53", ip.parse().unwrap());
    let prog = ws.join("netload");
    let policy = |name: &str, endpoint: &str| -> PathBuf {
        let text = format!(
            "use std::groups::*;\nuse std::paths::system_ro;\n\
             policy {name} {{\n\
             let workspace = path \"$WORKSPACE/**\";\n\
             // Names the bench's block, so the resolver keeps answers there.\n\
             let benchnet = endpoint tcp \"127.77.9.0/24\" port 443;\n\
             default deny(EPERM);\n\
             always {{\n\
             allow memory, time, signals, process_basic, process, io, net_sockets;\n\
             allow read, exec system_ro;\n\
             allow read, write, exec workspace;\n\
             allow read, write path \"/dev/null\";\n\
             allow visible path \"/**\";\n\
             deny(EACCES) send benchnet;\n\
             allow connect {endpoint};\n\
             }}\n}}\n"
        );
        let p = ws.join(format!("{name}.claw"));
        std::fs::write(&p, text).unwrap();
        p
    };
    let by_addr = policy("by_address", &format!("endpoint tcp \"{ip}\" port 443"));
    let by_name = policy("by_name", "endpoint tcp \"bench.test\" port 443");
    let upstream = format!("127.77.9.53:{dns}");
    let measure = |mode: &str, pol: &Path| -> f64 {
        let script = format!(
            "getent hosts bench.test >/dev/null; {} connects {ip} 443 2000",
            prog.display()
        );
        let out = Command::new(clawless)
            .arg("exec")
            .args(["--mode", mode, "--policy"])
            .arg(pol)
            .arg("--workspace")
            .arg(ws)
            .args(["--", "/bin/sh", "-c", &script])
            .env("CLAWLESS_DNS_UPSTREAM", &upstream)
            .current_dir(ws)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    println!();
    println!("| connects per second, median of {runs} | address endpoint | domain endpoint | ratio | setup added by the name, µs |");
    println!("|---|---:|---:|---:|---:|");
    for mode in ["mediated", "isolated"] {
        let (mut a, mut d) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            a.push(measure(mode, &by_addr));
            d.push(measure(mode, &by_name));
        }
        let (a, d) = (median(a), median(d));
        println!(
            "| {mode} | {a:.0} | {d:.0} | **{:.2}×** | {:.0} |",
            a / d,
            (1.0 / d - 1.0 / a) * 1e6
        );
    }
}
