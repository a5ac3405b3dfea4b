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
