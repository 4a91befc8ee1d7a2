//! Finding a theme or keymap by name: the user's `themes/NAME.toml` / `keymaps/NAME.toml`
//! first, then the embedded presets; also opens `--theme`/`--keymap` paths.

use std::path::{Path, PathBuf};

use crate::config::paths;
use crate::diag::{LocatedError, SourceFile};

/// The themes or the keymaps one can name.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// "themes" or "keymaps": the folder name, in the config dir and in the repository.
    pub kind: &'static str,
    /// "theme" or "keymap", for messages.
    pub noun: &'static str,
    pub presets: &'static [(&'static str, &'static str)],
    pub user_dir: Option<PathBuf>,
}

impl Catalog {
    /// A preset as a source file, reported as `(embedded) themes/dark.toml`.
    pub fn preset(&self, name: &str) -> Option<SourceFile> {
        self.presets
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| SourceFile::new(format!("(embedded) {}/{n}.toml", self.kind), *text))
    }

    fn user_path(&self, name: &str) -> Option<PathBuf> {
        let dir = self.user_dir.as_deref()?;
        let p = paths::named_file(dir, self.kind, name);
        p.is_file().then_some(p)
    }

    /// The file for `name`: the user's own if it exists and is not in `skip` (file names
    /// already in an `extends` chain, so a user `dark` can extend the preset `dark`), else the preset.
    pub fn find(&self, name: &str, skip: &[String]) -> Result<Option<SourceFile>, LocatedError> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Ok(None); // a name, not a path
        }
        if let Some(p) = self.user_path(name)
            && !skip.contains(&p.display().to_string())
        {
            return SourceFile::read(&p).map(Some);
        }
        Ok(self.preset(name).filter(|f| !skip.contains(&f.name)))
    }

    /// Every name one can use: presets, then the user's files, sorted, without repeats.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.presets.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(dir) = &self.user_dir
            && let Ok(entries) = std::fs::read_dir(dir.join(self.kind))
        {
            let mut user: Vec<String> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .filter(|n| !names.contains(n))
                .collect();
            user.sort();
            names.extend(user);
        }
        names
    }

    /// The message for a name that is neither a user file nor a preset.
    pub fn unknown(&self, name: &str) -> (String, Option<String>) {
        let names = self.names();
        let help = crate::suggest::did_you_mean(name, names.iter().map(String::as_str));
        (
            format!(
                "unknown {} `{name}`; available: {}",
                self.noun,
                names.join(", ")
            ),
            help,
        )
    }

    /// Opens what `--theme`/`--keymap` names: a file path, or a name.
    pub fn open_arg(&self, arg: &str) -> Result<SourceFile, LocatedError> {
        if paths::looks_like_path(arg) {
            return SourceFile::read(Path::new(arg));
        }
        match self.find(arg, &[])? {
            Some(f) => Ok(f),
            None => {
                let (msg, help) = self.unknown(arg);
                let what = SourceFile::new(format!("--{}", self.noun), arg);
                Err(what.error_at(0..arg.len(), msg, help))
            }
        }
    }
}

/// A parsed file that may name another to start from.
pub trait Extends: Sized {
    fn parse(file: SourceFile) -> Result<Self, LocatedError>;
    fn file(&self) -> &SourceFile;
    fn extends(&self) -> Option<&toml::Spanned<String>>;
}

/// Parses `top` and every file its `extends` chain names; the result is top first, root last.
/// An unknown name or a cycle is an error at the `extends` value.
pub fn chain<L: Extends>(top: SourceFile, catalog: &Catalog) -> Result<Vec<L>, LocatedError> {
    let mut chain = vec![L::parse(top)?];
    while let Some(layer) = chain.last() {
        let Some(ext) = layer.extends() else { break };
        let names: Vec<String> = chain.iter().map(|l| l.file().name.clone()).collect();
        let next = match catalog.find(ext.get_ref(), &names)? {
            Some(f) => f,
            None => {
                let (msg, help) = if catalog.find(ext.get_ref(), &[])?.is_some() {
                    let path = names.join(" → ");
                    (
                        format!("`extends = \"{}\"` makes a cycle: {path}", ext.get_ref()),
                        None,
                    )
                } else {
                    catalog.unknown(ext.get_ref())
                };
                return Err(layer.file().error_at(ext.span(), msg, help));
            }
        };
        chain.push(L::parse(next)?);
    }
    Ok(chain)
}

/// The name a file goes by when it does not give one: its stem (`mine` for `/x/mine.toml`).
pub fn stem(file_name: &str) -> String {
    let n = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    n.strip_suffix(".toml").unwrap_or(n).to_string()
}
