//! The XDG base directories ebb keeps its files under, one rule for every caller:
//! `$XDG_*_HOME` when set, non-empty and absolute (the spec ignores a relative one), else
//! under an absolute `$HOME`; with neither, a typed error the caller reports.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// Which base directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseDir {
    /// `$XDG_CONFIG_HOME`, else `~/.config`: themes, keymaps, the audit key.
    Config,
    /// `$XDG_STATE_HOME`, else `~/.local/state`: the default store, diagnostic logs.
    State,
}

impl BaseDir {
    /// The variable that names it.
    pub fn var(self) -> &'static str {
        match self {
            BaseDir::Config => "XDG_CONFIG_HOME",
            BaseDir::State => "XDG_STATE_HOME",
        }
    }

    /// Where it is under `$HOME` when the variable does not name it.
    fn under_home(self) -> &'static str {
        match self {
            BaseDir::Config => ".config",
            BaseDir::State => ".local/state",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            BaseDir::Config => "config",
            BaseDir::State => "state",
        }
    }
}

/// Why a variable could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    Unset,
    Empty,
    Relative,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unusable::Unset => "unset",
            Unusable::Empty => "empty",
            Unusable::Relative => "a relative path",
        })
    }
}

/// Neither the XDG variable nor `HOME` names an absolute directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "no {} directory: {} is {xdg} and HOME is {home}; set one of them to an absolute path",
    kind.noun(),
    kind.var()
)]
pub struct NoBaseDir {
    pub kind: BaseDir,
    pub xdg: Unusable,
    pub home: Unusable,
}

/// An absolute path from a variable's value, or why not.
fn absolute(value: Option<OsString>) -> Result<PathBuf, Unusable> {
    let value = value.ok_or(Unusable::Unset)?;
    if value.is_empty() {
        return Err(Unusable::Empty);
    }
    let path = PathBuf::from(value);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(Unusable::Relative)
    }
}

/// The base directory of `kind`, reading variables through `get` (the process environment
/// in [`base_dir`]; a map in tests).
pub fn resolve(
    kind: BaseDir,
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, NoBaseDir> {
    let xdg = match absolute(get(kind.var())) {
        Ok(dir) => return Ok(dir),
        Err(why) => why,
    };
    match absolute(get("HOME")) {
        Ok(home) => Ok(home.join(kind.under_home())),
        Err(home) => Err(NoBaseDir { kind, xdg, home }),
    }
}

/// ebb's directory in the base directory of `kind` (`<base>/ebb`), reading through `get`.
pub fn ebb_dir_with(
    kind: BaseDir,
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, NoBaseDir> {
    resolve(kind, get).map(|base| base.join("ebb"))
}

/// The base directory of `kind`, from the process environment.
pub fn base_dir(kind: BaseDir) -> Result<PathBuf, NoBaseDir> {
    resolve(kind, |name| std::env::var_os(name))
}

/// ebb's directory in the base directory of `kind`, from the process environment:
/// `$XDG_CONFIG_HOME/ebb` or `~/.config/ebb`, `$XDG_STATE_HOME/ebb` or `~/.local/state/ebb`.
pub fn ebb_dir(kind: BaseDir) -> Result<PathBuf, NoBaseDir> {
    ebb_dir_with(kind, |name| std::env::var_os(name))
}

/// An environment of fixed variables, for tests of rules that read the environment.
#[cfg(test)]
pub(crate) fn fixed_env<'a>(
    vars: &'a [(&'a str, &'a str)],
) -> impl Fn(&str) -> Option<OsString> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::fixed_env as env;

    #[test]
    fn an_absolute_xdg_variable_wins() {
        let vars = [
            ("XDG_CONFIG_HOME", "/x/cfg"),
            ("XDG_STATE_HOME", "/x/state"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            resolve(BaseDir::Config, env(&vars)),
            Ok(PathBuf::from("/x/cfg"))
        );
        assert_eq!(
            ebb_dir_with(BaseDir::State, env(&vars)),
            Ok(PathBuf::from("/x/state/ebb"))
        );
    }

    #[test]
    fn an_unset_empty_or_relative_xdg_variable_falls_back_to_home() {
        for xdg in [
            None,
            Some(""),
            Some("rel/dir"),
            Some("./cfg"),
            Some("~/cfg"),
        ] {
            let mut vars = vec![("HOME", "/home/u")];
            if let Some(v) = xdg {
                vars.push(("XDG_CONFIG_HOME", v));
                vars.push(("XDG_STATE_HOME", v));
            }
            assert_eq!(
                ebb_dir_with(BaseDir::Config, env(&vars)),
                Ok(PathBuf::from("/home/u/.config/ebb")),
                "{xdg:?}"
            );
            assert_eq!(
                ebb_dir_with(BaseDir::State, env(&vars)),
                Ok(PathBuf::from("/home/u/.local/state/ebb")),
                "{xdg:?}"
            );
        }
    }

    #[test]
    fn no_absolute_home_is_an_error_naming_both_variables() {
        let cases = [
            (vec![], Unusable::Unset, Unusable::Unset),
            (vec![("HOME", "")], Unusable::Unset, Unusable::Empty),
            (
                vec![("HOME", "home/u"), ("XDG_STATE_HOME", "s")],
                Unusable::Relative,
                Unusable::Relative,
            ),
            (
                vec![("XDG_STATE_HOME", "")],
                Unusable::Empty,
                Unusable::Unset,
            ),
        ];
        for (vars, xdg, home) in cases {
            let e = resolve(BaseDir::State, env(&vars)).unwrap_err();
            assert_eq!(
                e,
                NoBaseDir {
                    kind: BaseDir::State,
                    xdg,
                    home
                }
            );
        }
        let e = resolve(BaseDir::Config, env(&[("HOME", "u")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no config directory: XDG_CONFIG_HOME is unset and HOME is a relative path; \
             set one of them to an absolute path"
        );
    }
}
