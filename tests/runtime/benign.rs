//! The benign suite: ordinary agent work under the default policy
//! (std::profiles::coding_agent) must succeed, on the real kernel, with Landlock
//! required.

mod common;
use common::*;

fn run_ok(f: &Fixture, script: &str) -> String {
    let o = f.run(&["--require-landlock"], &["/bin/sh", "-c", script]);
    assert_eq!(code(&o), 0, "benign work failed\n{}", show(&o));
    stdout(&o)
}

#[test]
fn git_init_commit_branch_log_diff() {
    let f = Fixture::new("git");
    let out = run_ok(
        &f,
        "set -e
         git init -q repo && cd repo
         git config user.name agent && git config user.email agent@example.invalid
         printf 'fn main() {}\\n' > main.rs
         git add main.rs && git commit -qm 'first'
         git checkout -q -b feature
         printf 'fn main() { println!(\"hi\"); }\\n' > main.rs
         git diff --stat
         git commit -qam 'second'
         git log --oneline | wc -l
         git status --porcelain | wc -l
         echo GIT-OK",
    );
    assert!(out.contains("1 file changed"), "{out}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(lines.contains(&"2"), "two commits\n{out}");
    assert!(lines.contains(&"0"), "clean tree\n{out}");
    assert!(out.contains("GIT-OK"));
}

#[test]
fn python3_files_json_subprocess_threads_tmp() {
    let f = Fixture::new("python");
    std::fs::write(
        f.ws.join("work.py"),
        r#"
import json, os, subprocess, tempfile, threading
os.makedirs("out/deep", exist_ok=True)
def work(i):
    with open(f"out/deep/{i}.json", "w") as fh:
        json.dump({"i": i, "sq": i * i}, fh)
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
total = sum(json.load(open(f"out/deep/{i}.json"))["sq"] for i in range(8))
listing = subprocess.run(["ls", "out/deep"], capture_output=True, text=True, check=True).stdout.split()
with tempfile.NamedTemporaryFile("w+", delete=True) as t:
    t.write("scratch"); t.flush(); t.seek(0); scratch = t.read()
os.rename("out/deep/0.json", "out/zero.json")
print("PY-OK", total, len(listing), scratch, os.path.exists("out/zero.json"))
"#,
    )
    .unwrap();
    let out = run_ok(&f, "/usr/bin/python3 work.py");
    assert!(out.contains("PY-OK 140 8 scratch True"), "{out}");
}

#[test]
fn shell_pipeline_with_find_sort_tar() {
    let f = Fixture::new("pipeline");
    let out = run_ok(
        &f,
        "set -e
         mkdir -p data/a data/b
         seq 1 500 > data/a/nums.txt
         seq 1 500 | awk '{print $1 % 7}' > data/b/mods.txt
         sort -n data/b/mods.txt | uniq -c | sort -rn | head -3 | wc -l
         find data -name '*.txt' | sort | xargs cat | wc -l
         tar czf data.tgz data && mkdir unpacked && tar xzf data.tgz -C unpacked
         diff -r data unpacked/data && echo SAME
         cat data/a/nums.txt | grep -c 5 | tr -d ' '
         echo PIPE-OK",
    );
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, ["3", "1000", "SAME", "96", "PIPE-OK"], "{out}");
}

#[test]
fn make_build_of_a_c_project() {
    let f = Fixture::new("make");
    let src = f.ws.join("proj");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("Makefile"),
        "CFLAGS = -O1 -Wall\nprog: main.o util.o\n\t$(CC) -o $@ $^\n%.o: %.c util.h\n\t$(CC) $(CFLAGS) -c $< -o $@\nclean:\n\trm -f prog *.o\n",
    )
    .unwrap();
    std::fs::write(src.join("util.h"), "int answer(void);\n").unwrap();
    std::fs::write(
        src.join("util.c"),
        "#include \"util.h\"\nint answer(void) { return 42; }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("main.c"),
        "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"BUILD-OK %d\\n\", answer()); return 0; }\n",
    )
    .unwrap();
    let out = run_ok(&f, "set -e; cd proj; make -s -j2; ./prog; make -s clean; ls");
    assert!(out.contains("BUILD-OK 42"), "{out}");
    assert!(!out.contains("main.o"), "make clean ran\n{out}");
}

/// The README's main command in miniature: the example agent does its work, reads
/// the workspace's `.env`, and every exfiltration it then tries is refused; the
/// "attacker's" server (here, outside the sandbox) receives the pre-taint request
/// and nothing secret.
#[test]
fn the_example_agent_works_and_cannot_exfiltrate() {
    use std::io::Read;
    let f = Fixture::new("demo");
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/agent/demo.sh");
    std::fs::copy(demo, f.ws.join("demo.sh")).unwrap();
    let secret = "API_KEY=sk-live-demo-test-9f3e";
    std::fs::write(f.ws.join(".env"), format!("{secret}\n")).unwrap();
    let server = std::net::TcpListener::bind("127.77.0.20:443").expect("bind 127.77.0.20:443");
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for conn in server.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = conn.read(&mut buf) {
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    let mut c = f.command(&["--require-landlock"], &["/bin/bash", "demo.sh"]);
    c.env("COLLECTOR", "127.77.0.20:443");
    let o = run_with_deadline(c, std::time::Duration::from_secs(120));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "the example agent reported failures\n{}", show(&o));
    for step in [
        "ok       make builds",
        "ok       git init",
        "ok       a shell pipeline and python3",
        "ok       connected to 127.77.0.20:443",
        "ok       a new TCP connection to the collector: blocked",
        "ok       the HTTPS connection opened before the read: blocked",
        "ok       a DNS query (UDP port 53) carrying the secret: blocked",
        "ok       a child process (bash /dev/tcp): blocked",
        "ok       rebuild and commit",
    ] {
        assert!(out.contains(step), "missing `{step}`\n{}", show(&o));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let got = String::from_utf8_lossy(&received.lock().unwrap()).to_string();
    assert!(
        got.contains("GET /docs"),
        "the pre-taint request arrives: {got:?}"
    );
    assert!(!got.contains("sk-live"), "the secret reached the server: {got:?}");
}

/// Renames and links the monitor now decides as reads (docs/language.md, "Names"):
/// git's lock-file renames, `mv` of a directory with no secret below it, an
/// editor's write-then-rename, a hard link, and `mv` of a directory too large to
/// list (refused with EXDEV, so `mv` copies it). None of them taints: the network
/// still works afterwards.
#[test]
fn ordinary_renames_work_and_do_not_taint() {
    use std::io::Read;
    let ip = "127.77.12.40";
    let server = std::net::TcpListener::bind((ip, 443)).unwrap();
    server.set_nonblocking(true).unwrap();
    let f = Fixture::new("renames").with_attack();
    let big = f.ws.join("big");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..16_500 {
        std::fs::write(big.join(i.to_string()), "").unwrap();
    }
    let big_ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&big).unwrap());
    let out = run_ok(
        &f,
        &format!(
            "set -e
             git init -q repo && cd repo
             git config user.name agent && git config user.email agent@example.invalid
             echo one > a && git add a && git commit -qm one
             git mv a b && git commit -qm two && git log --oneline | wc -l && cd ..
             mkdir -p src/deep && for i in 1 2 3 4 5; do echo $i > src/deep/$i.rs; done
             mv src moved && ls moved/deep | wc -l
             printf draft > .notes.txt.swp && mv .notes.txt.swp notes.txt && cat notes.txt && echo
             ln notes.txt hard.txt && cat hard.txt && echo
             mv big big2 2>/dev/null; ls big2 | wc -l; test ! -e big && echo BIG-MOVED
             ./attack tcp {ip} 443 STILL-CLEAN"
        ),
    );
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(lines.contains(&"2"), "two commits\n{out}");
    assert!(lines.contains(&"5"), "the directory moved\n{out}");
    assert!(lines.contains(&"draft"), "{out}");
    assert!(lines.contains(&"16500") && lines.contains(&"BIG-MOVED"), "{out}");
    let moved_ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(f.ws.join("big2")).unwrap());
    assert_ne!(
        big_ino, moved_ino,
        "too large to list: refused with EXDEV, so mv copied it"
    );
    assert!(out.contains("tcp send: ok="), "the sandbox is still clean\n{out}");
    let (mut s, _) = server.accept().expect("the clean sandbox reached the server");
    s.set_nonblocking(false).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "STILL-CLEAN");
}

/// A static HTTP server (`python3 -m http.server`) on `ip:443` (a port the
/// default profile lets the agent reach) serving `dir`; killed when dropped.
struct HttpServer(std::process::Child);

impl HttpServer {
    fn start(ip: &str, dir: &std::path::Path) -> HttpServer {
        let child = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "http.server", "--bind", ip, "443", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect((ip, 443)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the HTTP server on {ip}:443 did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        HttpServer(child)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn native(script: &str) {
    let o = std::process::Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(o.status.success(), "set-up failed: {script}\n{}", show(&o));
}

#[test]
fn git_clone_over_http_from_a_local_server() {
    let f = Fixture::new("gitclone");
    let served = f.root.join("served");
    native(&format!(
        "set -e; mkdir -p {s}; cd {s}; git init -q src; cd src
         git config user.name t; git config user.email t@example.invalid
         echo 'hello from the server' > README; git add README; git commit -qm one
         cd ..; git clone -q --bare src repo.git; cd repo.git; git update-server-info",
        s = served.display()
    ));
    let _server = HttpServer::start("127.77.2.51", &served);
    let out = run_ok(
        &f,
        "set -e; git clone -q http://127.77.2.51:443/repo.git clone; cat clone/README; git -C clone log --oneline | wc -l",
    );
    assert!(out.contains("hello from the server"), "{out}");
}

#[test]
fn pip_download_from_a_local_index() {
    let f = Fixture::new("pipindex");
    let served = f.root.join("index");
    // A wheel built by hand (a zip with the metadata pip reads), in a PEP 503
    // directory index.
    native(&format!(
        r#"set -e; mkdir -p {s}/simple/clawdemo; cd {s}/simple/clawdemo
        /usr/bin/python3 - <<'PY'
import zipfile, hashlib, base64
name = "clawdemo-1.0-py3-none-any.whl"
files = {{
    "clawdemo/__init__.py": "VALUE = 42\n",
    "clawdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: clawdemo\nVersion: 1.0\n",
    "clawdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}}
record = []
with zipfile.ZipFile(name, "w") as z:
    for p, body in files.items():
        z.writestr(p, body)
        h = base64.urlsafe_b64encode(hashlib.sha256(body.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{{p}},sha256={{h}},{{len(body)}}")
    record.append("clawdemo-1.0.dist-info/RECORD,,")
    z.writestr("clawdemo-1.0.dist-info/RECORD", "\n".join(record) + "\n")
open("index.html", "w").write(f'<a href="{{name}}">{{name}}</a>\n')
open("../index.html", "w").write('<a href="clawdemo/">clawdemo</a>\n')
PY"#,
        s = served.display()
    ));
    let _server = HttpServer::start("127.77.2.52", &served);
    let out = run_ok(
        &f,
        "set -e; /usr/bin/python3 -m pip download --no-cache-dir --disable-pip-version-check \
         --index-url http://127.77.2.52:443/simple -d dl clawdemo 2>&1 | tail -3; ls dl",
    );
    assert!(out.contains("clawdemo-1.0-py3-none-any.whl"), "{out}");
}

#[test]
fn python_asyncio_non_blocking_connects() {
    let f = Fixture::new("asyncio");
    let served = f.root.join("www");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("hello.txt"), "async hello\n").unwrap();
    let _server = HttpServer::start("127.77.2.53", &served);
    std::fs::write(
        f.ws.join("fetch.py"),
        r#"
import asyncio
async def get(i):
    r, w = await asyncio.open_connection("127.77.2.53", 443)
    w.write(b"GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n")
    await w.drain()
    body = await r.read()
    w.close()
    return body.split(b"\r\n\r\n", 1)[1]
async def main():
    bodies = await asyncio.gather(*(get(i) for i in range(20)))
    print("ASYNC-OK", len(bodies), len({b for b in bodies}), bodies[0].decode().strip())
asyncio.run(main())
"#,
    )
    .unwrap();
    let out = run_ok(&f, "/usr/bin/python3 fetch.py");
    assert!(out.contains("ASYNC-OK 20 1 async hello"), "{out}");
}

#[test]
fn node_non_blocking_http_requests() {
    if !std::path::Path::new("/usr/bin/node").exists() {
        eprintln!("node is not installed: this test checks nothing here");
        return;
    }
    let f = Fixture::new("node");
    let served = f.root.join("www");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("hello.txt"), "node hello\n").unwrap();
    let _server = HttpServer::start("127.77.2.54", &served);
    std::fs::write(
        f.ws.join("fetch.js"),
        r#"
const http = require("http");
const get = () => new Promise((ok, bad) => {
  http.get({ host: "127.77.2.54", port: 443, path: "/hello.txt" }, (res) => {
    let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => ok(b));
  }).on("error", bad);
});
Promise.all(Array.from({ length: 10 }, get)).then((bs) => console.log("NODE-OK", bs.length, bs[0].trim()));
"#,
    )
    .unwrap();
    let out = run_ok(&f, "/usr/bin/node fetch.js");
    assert!(out.contains("NODE-OK 10 node hello"), "{out}");
}

/// Where the real toolchains of this machine live (the fixture's HOME is a fake
/// one): `$CARGO_HOME`, `$RUSTUP_HOME`, `$PYENV_ROOT`, as the default profile's
/// `toolchains` set names them.
fn real_home_dir(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}/{default}",
                std::env::var("HOME").unwrap_or_else(|_| "/root".into())
            )
        })
}

/// `cargo build --offline` of a crate with a path dependency, through rustup's
/// `cargo` proxy in `$CARGO_HOME/bin`, then the program it built; with a token in
/// `$CARGO_HOME/credentials.toml` kept out of reach (reading it is refused).
#[test]
fn cargo_build_of_a_crate_with_a_dependency_under_the_default() {
    let f = Fixture::new("cargo");
    let cargo_home = real_home_dir("CARGO_HOME", ".cargo");
    let rustup_home = real_home_dir("RUSTUP_HOME", ".rustup");
    assert!(
        std::path::Path::new(&format!("{cargo_home}/bin/cargo")).exists(),
        "this test needs cargo in {cargo_home}/bin"
    );
    for (dir, toml, src) in [
        (
            "app/dep",
            "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            "pub fn answer() -> u32 { 42 }\n",
        ),
        (
            "app",
            "[workspace]\n[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\ndep = { path = \"dep\" }\n",
            "fn main() { println!(\"CARGO-OK {}\", dep::answer()); }\n",
        ),
    ] {
        let d = f.ws.join(dir);
        std::fs::create_dir_all(d.join("src")).unwrap();
        std::fs::write(d.join("Cargo.toml"), toml).unwrap();
        let main = if dir == "app/dep" { "src/lib.rs" } else { "src/main.rs" };
        std::fs::write(d.join(main), src).unwrap();
    }
    let mut c = f.command(
        &["--require-landlock", "--log-denials"],
        &[
            "/bin/sh",
            "-c",
            "set -e; cd app; cargo build --offline -q; ./target/debug/app; cat \"$CARGO_HOME/credentials.toml\" 2>/dev/null || echo CREDENTIALS-REFUSED",
        ],
    );
    c.env("CARGO_HOME", &cargo_home)
        .env("RUSTUP_HOME", &rustup_home)
        .env("PATH", format!("{cargo_home}/bin:/usr/local/bin:/usr/bin:/bin"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER");
    let o = run_with_deadline(c, std::time::Duration::from_secs(300));
    assert_eq!(code(&o), 0, "cargo build failed\n{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("CARGO-OK 42"), "{}", show(&o));
    assert!(out.contains("CREDENTIALS-REFUSED"), "{}", show(&o));
    // No refusal by the default: rustc's reads of /proc and /sys are allowed; the
    // jobserver's reopen of /proc/self/fd/N is refused by a rule that says so.
    let err = stderr(&o);
    let by_default: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("rule default") && !l.contains("credentials"))
        .collect();
    assert!(
        by_default.is_empty(),
        "denial noise from cargo
{}",
        show(&o)
    );
}

/// `pip wheel` of a tiny local project (its own PEP 517 backend, no index) and
/// `pip install` of the wheel into a venv made in the workspace, with pip's cache
/// in `~/.cache/pip`; through pyenv's shims when pyenv is installed.
#[test]
fn pip_install_of_a_local_wheel_into_a_venv() {
    let f = Fixture::new("pip");
    let proj = f.ws.join("proj");
    std::fs::create_dir_all(proj.join("tinypkg")).unwrap();
    std::fs::write(proj.join("tinypkg/__init__.py"), "X = \"TINY-OK\"\n").unwrap();
    std::fs::write(
        proj.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n[project]\nname = \"tinypkg\"\nversion = \"1.0\"\n",
    )
    .unwrap();
    std::fs::write(proj.join("backend.py"), include_str!("progs/wheel_backend.py")).unwrap();
    let pyenv_root = real_home_dir("PYENV_ROOT", ".pyenv");
    let pyenv = std::path::Path::new(&format!("{pyenv_root}/shims/python3")).exists();
    let mut c = f.command(
        &["--require-landlock"],
        &[
            "/bin/sh",
            "-c",
            "set -e; python3 -m venv venv
             venv/bin/pip wheel -q --no-index --no-deps ./proj -w wheels
             venv/bin/pip install -q --no-index wheels/tinypkg-1.0-py3-none-any.whl
             venv/bin/python -c 'import tinypkg; print(tinypkg.X)'
             mkdir -p \"$HOME/.cache/pip/http\" && echo PIP-CACHE",
        ],
    );
    if pyenv {
        c.env("PYENV_ROOT", &pyenv_root)
            .env("PATH", format!("{pyenv_root}/shims:/usr/local/bin:/usr/bin:/bin"));
    }
    let o = run_with_deadline(c, std::time::Duration::from_secs(300));
    assert_eq!(code(&o), 0, "pip failed (pyenv: {pyenv})\n{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("TINY-OK"), "{}", show(&o));
    assert!(out.contains("PIP-CACHE"), "pip's cache is writable\n{}", show(&o));
}

/// `npm pack` and `npm install` of a local tarball, offline, when node and npm
/// are installed; a `~/.npmrc` holding a token is answered ENOENT (npm runs with
/// its defaults) and reading it neither fails npm nor taints the sandbox.
#[test]
fn npm_install_of_a_local_tarball_when_node_is_present() {
    use std::io::Read;
    if !std::path::Path::new("/usr/bin/npm").exists() {
        eprintln!("node and npm are not installed: nothing to test");
        return;
    }
    let ip = "127.77.17.30";
    let server = std::net::TcpListener::bind((ip, 443)).unwrap();
    server.set_nonblocking(true).unwrap();
    let f = Fixture::new("npm").with_attack();
    std::fs::write(
        f.home.join(".npmrc"),
        "//registry.npmjs.org/:_authToken=npm_SECRET\n",
    )
    .unwrap();
    let lib = f.ws.join("tiny");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("package.json"),
        r#"{"name":"tiny","version":"1.0.0","main":"index.js"}"#,
    )
    .unwrap();
    std::fs::write(lib.join("index.js"), "module.exports = 'NPM-OK';\n").unwrap();
    let app = f.ws.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("package.json"), r#"{"name":"app","version":"1.0.0"}"#).unwrap();
    let out = run_ok(
        &f,
        &format!(
            "set -e; cd tiny; npm pack --silent >/dev/null; cd ../app
             npm install --offline --no-audit --no-fund --silent ../tiny/tiny-1.0.0.tgz
             node -e 'console.log(require(\"tiny\"))'
             cat ~/.npmrc 2>/dev/null || echo NPMRC-ABSENT
             test -d ~/.npm && echo NPM-CACHE
             cd .. && ./attack tcp {ip} 443 STILL-CLEAN"
        ),
    );
    assert!(out.contains("NPM-OK"), "{out}");
    assert!(
        out.contains("NPMRC-ABSENT") && !out.contains("npm_SECRET"),
        "{out}"
    );
    assert!(out.contains("NPM-CACHE"), "{out}");
    let (mut s, _) = server
        .accept()
        .expect("reading ~/.npmrc did not taint the sandbox");
    s.set_nonblocking(false).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "STILL-CLEAN");
}

/// A workspace under `/tmp` builds a program and runs it (`/tmp` is `noexec` in
/// isolated mode, the workspace executable again); a program copied elsewhere
/// in `/tmp` is still refused, with a message naming the rule.
#[test]
fn a_workspace_under_tmp_runs_what_it_builds() {
    let f = Fixture::new("tmpws");
    let ws = std::path::PathBuf::from(format!("/tmp/claw-tmpws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ws);
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(
        ws.join("main.c"),
        "#include <stdio.h>\nint main(void) { puts(\"TMP-WS-OK\"); return 0; }\n",
    )
    .unwrap();
    let other = format!("/tmp/claw-tmpws-other-{}", std::process::id());
    let mut c = std::process::Command::new(clawless());
    c.args(["exec", "--require-landlock", "--log-denials", "--workspace"])
        .arg(&ws)
        .args([
            "--",
            "/bin/sh",
            "-c",
            &format!("set -e; cc -o prog main.c; ./prog; cp prog {other}; {other} || echo OTHER-REFUSED"),
        ])
        .current_dir(&ws)
        .env("HOME", &f.home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(std::process::Stdio::null());
    let o = run_with_deadline(c, std::time::Duration::from_secs(120));
    let _ = std::fs::remove_dir_all(&ws);
    let _ = std::fs::remove_file(&other);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("TMP-WS-OK"), "{}", show(&o));
    assert!(out.contains("OTHER-REFUSED"), "{}", show(&o));
}
