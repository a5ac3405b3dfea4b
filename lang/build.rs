//! Build script: generates the parser from `src/grammar.lalrpop` with lalrpop.

#![forbid(unsafe_code)]

fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .expect("lalrpop grammar failed to build");
}
