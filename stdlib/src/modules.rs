//! The embedded `std::` policy modules. They are ordinary Claw files, checked by the
//! same front end as user policies (a test keeps them free of diagnostics).

/// `(module path, file name, source)` for every standard module.
pub const MODULES: &[(&str, &str, &str)] = &[
    (
        "std::groups",
        "std/groups.claw",
        include_str!("../std/groups.claw"),
    ),
    ("std::paths", "std/paths.claw", include_str!("../std/paths.claw")),
    ("std::net", "std/net.claw", include_str!("../std/net.claw")),
    (
        "std::profiles",
        "std/profiles.claw",
        include_str!("../std/profiles.claw"),
    ),
];

/// The source of a standard module by its path (`std::groups`).
pub fn source(module: &str) -> Option<(&'static str, &'static str)> {
    MODULES
        .iter()
        .find(|(m, _, _)| *m == module)
        .map(|&(_, file, src)| (file, src))
}

/// Module paths, for completion and "did you mean" hints.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(m, _, _)| *m)
}
