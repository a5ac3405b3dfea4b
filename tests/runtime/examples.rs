//! The example policies (examples/*.claw), each compiled from source on the fly by
//! `clawless exec --policy FILE.claw`, running the work it is written for — and
//! refusing what it is written to refuse — on the real kernel.

mod common;
use common::*;
use std::net::TcpListener;

fn example(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/{name}.claw"));
    std::fs::canonicalize(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .display()
        .to_string()
}

/// Runs `script` under the example policy; returns (exit code, stdout, stderr).
fn run(f: &Fixture, policy: &str, script: &str) -> (i32, String, String) {
    clawc_is_built();
    let o = f.run(
        &["--policy", &example(policy), "--require-landlock"],
        &["/bin/sh", "-c", script],
    );
    (code(&o), stdout(&o), stderr(&o))
}

#[test]
fn coding_agent_builds_then_loses_the_network_after_reading_a_dotenv() {
    let f = Fixture::new("ex-coding");
    std::fs::write(f.ws.join(".env"), "TOKEN=example-secret\n").unwrap();
    let server = TcpListener::bind("127.77.0.21:443").expect("bind 127.77.0.21:443");
    std::thread::spawn(move || for _conn in server.incoming() {});
    let connect = "python3 -c 'import socket; socket.create_connection((\"127.77.0.21\", 443), timeout=5); print(\"CONNECTED\")'";
    let (rc, out, err) = run(
        &f,
        "coding_agent",
        &format!(
            "printf 'int main(void){{return 7;}}\\n' > m.c && cc -o m m.c; ./m; echo built=$?
             mkdir -p .agent/log && : > .agent/log/run.log && echo step >> .agent/log/run.log && echo logged
             {connect}
             cat .env >/dev/null && echo read-env
             {connect} || echo refused=$?"
        ),
    );
    assert_eq!(rc, 0, "{out}\n{err}");
    assert!(
        out.contains("built=7"),
        "a build in the workspace runs\n{out}\n{err}"
    );
    assert!(out.contains("logged"), "{out}\n{err}");
    assert_eq!(
        out.matches("CONNECTED").count(),
        1,
        "HTTPS before the secret only\n{out}\n{err}"
    );
    assert!(
        out.contains("read-env") && out.contains("refused=1"),
        "{out}\n{err}"
    );
    assert!(
        err.contains("PermissionError"),
        "connect is refused with EPERM\n{err}"
    );
}

#[test]
fn offline_analysis_writes_results_and_nothing_else() {
    let f = Fixture::new("ex-offline");
    std::fs::create_dir_all(f.ws.join("data")).unwrap();
    std::fs::create_dir_all(f.ws.join("results")).unwrap();
    let nums: String = (1..=100).map(|i| format!("{i}\n")).collect();
    std::fs::write(f.ws.join("data/n.txt"), nums).unwrap();
    let (rc, out, err) = run(
        &f,
        "offline_analysis",
        &format!(
            "sort -rn data/n.txt | head -3 > results/top.txt && tr '\\n' ' ' < results/top.txt; echo
             echo tamper > data/n.txt 2>/dev/null || echo data-readonly
             cp /bin/true results/tool && results/tool 2>/dev/null || echo no-exec
             cat {secret} 2>/dev/null || echo no-secret
             python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 443), timeout=5)' 2>/dev/null || echo no-net",
            secret = f.secret.display()
        ),
    );
    assert_eq!(rc, 0, "{out}\n{err}");
    assert!(out.contains("100 99 98"), "the analysis ran\n{out}\n{err}");
    for refused in ["data-readonly", "no-exec", "no-secret", "no-net"] {
        assert!(out.contains(refused), "missing {refused}\n{out}\n{err}");
    }
    assert!(std::fs::read_to_string(f.ws.join("data/n.txt"))
        .unwrap()
        .starts_with("1\n"));
}

#[test]
fn readonly_reviewer_reads_history_and_only_appends_its_report() {
    let f = Fixture::new("ex-reviewer");
    let git = |args: &[&str]| {
        let st = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(&f.ws)
            .status()
            .unwrap();
        assert!(st.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "ok.txt"]);
    git(&["commit", "-qm", "the change under review"]);
    std::fs::write(f.ws.join("ok.txt"), "edited\n").unwrap();
    std::fs::create_dir_all(f.ws.join(".review")).unwrap();
    std::fs::write(f.ws.join(".review/report.md"), "# Review\n").unwrap();
    let (rc, out, err) = run(
        &f,
        "readonly_reviewer",
        "git log --format=%s; git diff --stat | tail -1
         echo 'LGTM with nits' >> .review/report.md && echo appended
         echo erased > .review/report.md 2>/dev/null || echo no-overwrite
         echo x > ok.txt 2>/dev/null || echo no-edit",
    );
    assert_eq!(rc, 0, "{out}\n{err}");
    assert!(out.contains("the change under review"), "{out}\n{err}");
    assert!(out.contains("1 file changed"), "{out}\n{err}");
    for expected in ["appended", "no-overwrite", "no-edit"] {
        assert!(out.contains(expected), "missing {expected}\n{out}\n{err}");
    }
    assert_eq!(
        std::fs::read_to_string(f.ws.join(".review/report.md")).unwrap(),
        "# Review\nLGTM with nits\n"
    );
    assert_eq!(std::fs::read_to_string(f.ws.join("ok.txt")).unwrap(), "edited\n");
}
