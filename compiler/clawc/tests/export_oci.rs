//! `clawc export --oci` for real: a busybox rootfs (Debian's `busybox-static`) runs
//! under `runc` (Debian's `runc`) with the exported profile as the container's
//! `linux.seccomp`, and allowed, refused, "pretend success" and killed syscalls
//! behave as the policy says. runc and busybox are installed by scripts/setup.sh;
//! without them this test fails (it never skips).

use std::path::{Path, PathBuf};
use std::process::Command;

const POLICY: &str = r#"policy container {
    default allow;
    always {
        deny(EACCES) mkdir, mkdirat;
        deny(0) chmod, fchmod, fchmodat;
        kill unshare;
        deny(EPERM) write path "/secret/**";
    }
}
"#;

fn tool(name: &str, candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is missing ({}): install it with scripts/setup.sh (apt-get install runc busybox-static)",
                candidates.join(", ")
            )
        })
}

fn clawc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clawc"))
        .args(args)
        .output()
        .expect("run clawc")
}

#[test]
fn exported_profile_enforces_the_static_part_under_runc() {
    let runc = tool("runc", &["/usr/sbin/runc", "/usr/bin/runc"]);
    let busybox = tool("busybox", &["/bin/busybox", "/usr/bin/busybox"]);
    let dir = std::env::temp_dir().join(format!("clawc-export-oci-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::create_dir_all(rootfs.join("tmp")).unwrap();
    std::fs::copy(&busybox, rootfs.join("bin/busybox")).unwrap();
    let policy = dir.join("container.claw");
    std::fs::write(&policy, POLICY).unwrap();
    let profile_path = dir.join("profile.json");

    let out = clawc(&[
        "export",
        "--oci",
        policy.to_str().unwrap(),
        "-o",
        profile_path.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("decided by `clawless exec` inside the container") && err.contains("openat"),
        "{err}"
    );
    let profile: serde_json::Value = serde_json::from_slice(&std::fs::read(&profile_path).unwrap()).unwrap();
    let entries = profile["syscalls"].as_array().unwrap();
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e["names"].as_array().unwrap().iter().any(|n| n == name))
            .unwrap_or_else(|| panic!("{name} in the profile"))
    };
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ALLOW");
    assert_eq!(find("mkdir")["errnoRet"], 13);
    assert_eq!(find("fchmodat")["errnoRet"], 0);
    assert_eq!(find("unshare")["action"], "SCMP_ACT_KILL_PROCESS");
    let openat = find("openat");
    assert_eq!(openat["action"], "SCMP_ACT_ALLOW");
    assert!(
        openat["comment"].as_str().unwrap().contains("monitor"),
        "{openat}"
    );

    // The profile is also a profile `clawc import` reads back into a policy that checks.
    let back = clawc(&["import", profile_path.to_str().unwrap()]);
    assert_eq!(
        back.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );

    // The container.
    let spec = Command::new(&runc)
        .arg("spec")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        spec.status.success(),
        "runc spec: {}",
        String::from_utf8_lossy(&spec.stderr)
    );
    let config_path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    let script = "echo started; \
        /bin/busybox mkdir /tmp/d 2>/dev/null || echo mkdir-refused; \
        [ -d /tmp/d ] || echo no-dir; \
        /bin/busybox touch /tmp/f; /bin/busybox chmod 600 /tmp/f && echo chmod-succeeded; \
        echo mode=$(/bin/busybox stat -c %a /tmp/f); \
        echo data > /tmp/w && /bin/busybox cat /tmp/w; \
        /bin/busybox unshare -U /bin/busybox true; echo unshare-status=$?";
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["/bin/busybox", "sh", "-c", script]);
    config["root"]["readonly"] = false.into();
    config["linux"]["seccomp"] = profile;
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let id = format!("clawc-export-{}", std::process::id());
    let run = Command::new(&runc)
        .args(["run", "--bundle", dir.to_str().unwrap(), &id])
        .output()
        .unwrap();
    let _ = Command::new(&runc).args(["delete", "--force", &id]).output();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stdout.contains("started"),
        "the container ran\n{stdout}\n{stderr}"
    );
    for line in [
        "mkdir-refused",
        "no-dir",
        "chmod-succeeded",
        "mode=644",
        "data",
        // 128 + SIGSYS: killed by the profile's KILL_PROCESS.
        "unshare-status=159",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}`\n{stdout}\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
