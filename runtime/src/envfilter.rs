//! Which environment variables the sandbox does not get: by default every variable
//! passes through except those whose names say they hold credentials (API keys,
//! tokens, secrets, cloud credentials), which an agent could otherwise send out
//! before it ever reads a file. `--env-keep NAME` passes one of them anyway;
//! `--env-drop NAME` (a name or a `*` pattern) withholds more.
//!
//! This module decides on names only; it does not look at values and it does not
//! change the process environment (the caller does, once, before any thread).

/// Names (ASCII case-insensitive; `*` matches any run of characters) withheld by
/// default.
pub const CREDENTIAL_PATTERNS: &[&str] = &[
    "*_TOKEN",
    "*_TOKEN_*",
    "*_API_KEY",
    "*_APIKEY",
    "*_SECRET*",
    "*_PASSWORD",
    "*_PASSWD",
    "*_PRIVATE_KEY",
    "*_ACCESS_KEY",
    "*_ACCESS_KEY_ID",
    "*_CREDENTIALS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "NPM_TOKEN",
    "CARGO_REGISTRY_TOKEN",
    "HF_TOKEN",
    "PGPASSWORD",
];

/// Does `name` match the glob `pattern` (`*` only), ignoring ASCII case?
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_uppercase(), name.to_ascii_uppercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !n.starts_with(first) || n.len() < first.len() + last.len() || !n.ends_with(last) {
        return false;
    }
    let mut rest = &n[first.len()..n.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The names among `names` not to pass to the sandbox, sorted.
pub fn withheld<'a>(
    names: impl IntoIterator<Item = &'a str>,
    keep: &[String],
    drop: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| {
            let credential = CREDENTIAL_PATTERNS.iter().any(|p| matches(p, n));
            let dropped = drop.iter().any(|p| matches(p, n));
            let kept = keep.iter().any(|k| k == n);
            dropped || (credential && !kept)
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_withheld_and_the_rest_passes() {
        let names = [
            "PATH",
            "HOME",
            "GITHUB_TOKEN",
            "ANTHROPIC_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "MY_CLIENT_SECRET_V2",
            "TOKENIZERS_PARALLELISM",
            "github_token",
            "CARGO_HOME",
        ];
        let w = withheld(names, &[], &[]);
        assert_eq!(
            w,
            [
                "ANTHROPIC_API_KEY",
                "AWS_SECRET_ACCESS_KEY",
                "GITHUB_TOKEN",
                "MY_CLIENT_SECRET_V2",
                "github_token"
            ]
        );
        let w = withheld(names, &["GITHUB_TOKEN".into()], &["AWS_*".into()]);
        assert_eq!(
            w,
            [
                "ANTHROPIC_API_KEY",
                "AWS_REGION",
                "AWS_SECRET_ACCESS_KEY",
                "MY_CLIENT_SECRET_V2",
                "github_token"
            ]
        );
    }

    #[test]
    fn glob_edges() {
        assert!(matches("*", ""));
        assert!(matches("A*B*C", "AXBYC"));
        assert!(!matches("A*B*C", "AC"));
        assert!(!matches("*_TOKEN", "_TOKE"));
        assert!(matches("*_TOKEN", "_TOKEN"));
        assert!(!matches("AB*BA", "ABA"));
    }
}
