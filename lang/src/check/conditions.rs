//! Argument conditions: checks `arg [& mask] op value` against the syscall's
//! argument table and evaluates the value (named constants, `|`, negative
//! numbers) at the width the kernel reads.
//!
//! It knows argument names, widths and the constants table; it does not know
//! which rule or transition the condition belongs to.

use super::Checker;
use crate::ast::{self, Term};
use crate::diag::{suggest, Diagnostic};
use crate::model::{ArgCond, CmpOp};
use crate::span::Span;
use claw_stdlib::{constants, ArgKind};

impl Checker<'_> {
    pub(super) fn check_cond(&mut self, sc: &claw_stdlib::Syscall, c: &ast::Cond) -> Option<ArgCond> {
        let Some(idx) = sc.arg_index(&c.arg.name) else {
            let names: Vec<&str> = sc.args.iter().map(|a| a.name).collect();
            let hint = if names.is_empty() {
                format!("`{}` takes no arguments", sc.name)
            } else {
                format!(
                    "`{}` takes ({}); refer to them by name or as arg0..arg{}",
                    sc.name,
                    names.join(", "),
                    names.len() - 1
                )
            };
            self.err(
                Diagnostic::error(
                    "E0204",
                    c.arg.span,
                    format!("`{}` has no argument `{}`", sc.name, c.arg.name),
                )
                .with_label("no such argument")
                .with_hint(hint),
            );
            return None;
        };
        let arg = &sc.args[idx];
        if arg.kind == ArgKind::Ptr {
            self.err(
                Diagnostic::error(
                    "E0206",
                    c.arg.span,
                    format!("`{}` of `{}` is a pointer", arg.name, sc.name),
                )
                .with_label("a filter sees the address, not what it points to")
                .with_hint("decide on paths and addresses with verbs (`allow read PATHS`); the monitor reads them safely"),
            );
            return None;
        }
        let width = arg.kind.bits();
        let mask = match &c.mask {
            Some(m) => Some(self.eval_value(m, width, arg.name)?),
            None => None,
        };
        let value = self.eval_value(&c.value, width, arg.name)?;
        let max = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        let never = match (mask, c.op) {
            (Some(m), CmpOp::Eq) if value & !m != 0 => Some(format!(
                "`{}` & {m:#x} can never equal {value:#x}: that value has bits outside the mask",
                arg.name
            )),
            (Some(m), CmpOp::Gt) if value >= m => Some(format!(
                "`{}` & {m:#x} is never greater than {value:#x}",
                arg.name
            )),
            (_, CmpOp::Lt) if value == 0 => Some(format!("`{}` is unsigned and never less than 0", arg.name)),
            (_, CmpOp::Gt) if value == max => Some(format!(
                "`{}` is {width} bits wide and never greater than {value:#x}",
                arg.name
            )),
            _ => None,
        };
        if let Some(msg) = never {
            self.err(
                Diagnostic::error("E0207", c.span, "this condition can never be true")
                    .with_label(msg)
                    .with_hint("a rule whose condition never holds never applies; fix the mask or the value"),
            );
            return None;
        }
        Some(ArgCond {
            arg: idx,
            arg_name: arg.name.to_string(),
            width,
            mask,
            op: c.op,
            value,
        })
    }

    /// Evaluates `A | B | 3` to the bits the kernel reads from a `width`-bit argument.
    pub(super) fn eval_value(&mut self, v: &ast::Value, width: u32, arg: &str) -> Option<u64> {
        let mut acc: u64 = 0;
        for t in &v.terms {
            let (n, span): (i128, Span) = match t {
                Term::Int(n, s) => (*n, *s),
                Term::Name(id) => match constants::by_name(&id.name) {
                    Some(c) => (c.value(self.opts.arch) as i128, id.span),
                    None => {
                        let mut d =
                            Diagnostic::error("E0107", id.span, format!("unknown constant `{}`", id.name))
                                .with_label("not a known constant");
                        d = match suggest(&id.name, constants::all().iter().map(|c| c.name)) {
                            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                            None => d.with_hint("write the number itself, e.g. `0x80000`"),
                        };
                        self.err(d);
                        return None;
                    }
                },
            };
            let lo = -(1i128 << (width - 1));
            let hi = (1i128 << width) - 1;
            if n < lo || n > hi {
                self.err(
                    Diagnostic::error("E0208", span, format!("{n} does not fit in `{arg}`"))
                        .with_label(format!("`{arg}` is {width} bits wide"))
                        .with_hint(format!(
                            "the kernel reads only the low {width} bits of this argument"
                        )),
                );
                return None;
            }
            let bits = if width == 64 {
                (n as u128 & u64::MAX as u128) as u64
            } else {
                (n as u64) & ((1u64 << width) - 1)
            };
            acc |= bits;
        }
        Some(acc)
    }
}
