//! Reading one scope's directives: the view of a scope (with the new settings a block
//! inherits) and the typed readers of its values, each error naming the line.

use super::error::{SettingsError, invalid};
use crate::config::limits;
use crate::config::parse::{Directive, Entry, Origin};

pub(super) fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// The directives written directly in one scope (not in nested blocks), in file order.
pub(super) struct ScopeView<'a> {
    pub(super) directives: Vec<&'a Directive>,
}

/// Per-scope settings new in this tool (no legacy config has them): a block that does not
/// set one takes the value of the scope around it (a `<Cycle>` the top level's, an item
/// block its `<Cycle>`'s or the top level's). The legacy settings keep the legacy's
/// scoping: no inheritance.
pub(super) const INHERITED_SETTINGS: &[&str] = &["Compressor", "GpgCompression"];

impl<'a> ScopeView<'a> {
    /// A block's view: its own directives, then the inherited settings of `outer`.
    pub(super) fn within(entries: &'a [Entry], outer: &ScopeView<'a>) -> ScopeView<'a> {
        let mut view = ScopeView::new(entries);
        view.directives.extend(
            outer
                .directives
                .iter()
                .copied()
                .filter(|d| is_one_of(&d.name, INHERITED_SETTINGS)),
        );
        view
    }

    pub(super) fn new(entries: &'a [Entry]) -> ScopeView<'a> {
        let directives = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Directive(d) => Some(d),
                Entry::Block(_) => None,
            })
            .collect();
        ScopeView { directives }
    }

    /// The first occurrence of `name` (repeats combine; single-valued settings take the
    /// first value of the first occurrence).
    pub(super) fn first(&self, name: &str) -> Option<&'a Directive> {
        self.directives.iter().copied().find(|d| d.is(name))
    }

    /// The first value of the first occurrence, with where it was written.
    pub(super) fn first_value(&self, name: &str) -> Option<(&'a str, &'a Origin)> {
        self.first(name).map(|d| {
            (
                d.values.first().map(String::as_str).unwrap_or(""),
                &d.origin,
            )
        })
    }

    /// Every occurrence of `name`, in file order.
    pub(super) fn all(&self, name: &str) -> Vec<&'a Directive> {
        self.directives
            .iter()
            .copied()
            .filter(|d| d.is(name))
            .collect()
    }
}

/// A whole integer (`Frequency 1`), else an error naming the line.
pub(super) fn parse_int(name: &str, value: &str, origin: &Origin) -> Result<i64, SettingsError> {
    use std::num::IntErrorKind::{NegOverflow, PosOverflow};
    value.trim().parse::<i64>().map_err(|e| match e.kind() {
        PosOverflow | NegOverflow => invalid(
            origin,
            format!("{name} {value} is out of range (see Limits in doc/configuration.md)"),
        ),
        _ => invalid(
            origin,
            format!("{name} must be a whole number, not {value:?}"),
        ),
    })
}

/// A schedule setting with a default, within its range in [`limits::SCHEDULE`].
pub(super) fn int_setting(
    view: &ScopeView<'_>,
    name: &str,
    default: i64,
) -> Result<i64, SettingsError> {
    let Some((value, origin)) = view.first_value(name) else {
        return Ok(default);
    };
    let n = parse_int(name, value, origin)?;
    let (_, min, max) = limits::SCHEDULE
        .iter()
        .copied()
        .find(|(limited, _, _)| limited.eq_ignore_ascii_case(name))
        .expect("every schedule setting has limits");
    if n < min {
        return Err(invalid(
            origin,
            format!("{name} must be at least {min}, not {n}"),
        ));
    }
    if n > max {
        return Err(invalid(
            origin,
            format!("{name} must be at most {max}, not {n} (see Limits in doc/configuration.md)"),
        ));
    }
    Ok(n)
}

/// A boolean setting, false when absent (after boolean fixing it must be `0` or `1`).
pub(super) fn bool_setting(view: &ScopeView<'_>, name: &str) -> Result<bool, SettingsError> {
    bool_setting_or(view, name, false)
}

/// A boolean setting with its default.
pub(super) fn bool_setting_or(
    view: &ScopeView<'_>,
    name: &str,
    default: bool,
) -> Result<bool, SettingsError> {
    match view.first_value(name) {
        None => Ok(default),
        Some(("1", _)) => Ok(true),
        Some(("0", _)) => Ok(false),
        Some((value, origin)) => Err(invalid(
            origin,
            format!("{name} must be yes/no, on/off, true/false or 1/0, not {value:?}"),
        )),
    }
}

/// An optional global: absent, bare (`TempDir` alone) or empty means `None`.
pub(super) fn optional(view: &ScopeView<'_>, name: &str) -> Option<String> {
    let d = view.first(name)?;
    if d.bare {
        return None;
    }
    d.values.first().filter(|v| !v.is_empty()).cloned()
}

/// An optional whole-number global within `min..=max`, else an error naming the line.
pub(super) fn optional_int(
    view: &ScopeView<'_>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, SettingsError> {
    let Some((value, origin)) = view.first_value(name) else {
        return Ok(None);
    };
    let n = parse_int(name, value, origin)?;
    if !(min..=max).contains(&n) {
        return Err(invalid(
            origin,
            format!("{name} must be between {min} and {max}, not {n}"),
        ));
    }
    Ok(Some(n))
}
