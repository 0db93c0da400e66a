//! The house rules that a reader relies on, checked on the source tree: no circle of files
//! within a crate (file A uses something of file B, and B, directly or through others, of A).
//!
//! Edges come from `use crate::…`, `use super::…` and `use self::…` (and paths written in
//! code as `crate::x::y`), resolved to the file that defines the module named. A module's use
//! of its own ancestors (`super::X` from a child to the `mod.rs` that declares it) is
//! containment, not dependency, and is not an edge: it is how a directory's files share their
//! parent's types.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 8] =
    ["common", "producer", "consumer", "dbwriter", "provisioner", "k8s-event-exporter", "tests", "bench"];

/// A module path (`["deploy", "helm"]`) → its file, for every `.rs` file under `src/`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().with_extension("");
                // A main.rs beside lib.rs is a binary crate of its own; taking it for the root
                // module would hide the library root's re-exports (`crate::Error`).
                if rel == Path::new("main") && src.join("lib.rs").exists() {
                    continue;
                }
                let mut segments: Vec<String> =
                    rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                if matches!(segments.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    segments.pop();
                }
                if segments.first().is_some_and(|s| s == "bin") {
                    continue; // binaries are crates of their own
                }
                out.insert(segments, path);
            }
        }
    }
    out
}

/// The module paths a file names: `crate::a::b`, `super::c`, `self::d` (with `{…}` groups).
fn named_paths(text: &str, own: &[String]) -> Vec<Vec<String>> {
    let ident = regex::Regex::new(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)").unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for found in ident.find_iter(code) {
            let start = found.start();
            let rest = &code[start..];
            let expanded = expand(rest);
            for path in expanded {
                let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                let base: Vec<String> = match segments.first().copied() {
                    Some("crate") => Vec::new(),
                    Some("self") => own.to_vec(),
                    Some("super") => {
                        let mut base = own.to_vec();
                        while segments.first() == Some(&"super") {
                            base.pop();
                            segments.remove(0);
                        }
                        segments.insert(0, "super");
                        base
                    }
                    _ => continue,
                };
                let tail: Vec<String> = segments[1..].iter().map(|s| s.to_string()).collect();
                out.push(base.into_iter().chain(tail).collect());
            }
        }
    }
    out
}

/// `crate::a::{b, c::D}` → `crate::a::b`, `crate::a::c::D` (one level of braces, enough here).
fn expand(rest: &str) -> Vec<String> {
    let end =
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{')).unwrap_or(rest.len());
    let head = &rest[..end];
    match head.find('{') {
        None => vec![head.trim_end_matches(':').to_string()],
        Some(open) => {
            let prefix = &rest[..open];
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            rest[open + 1..close]
                .split(',')
                .map(|item| item.trim().split(" as ").next().unwrap_or_default().trim())
                .filter(|item| !item.is_empty() && !item.contains('{'))
                .map(|item| format!("{prefix}{item}"))
                .collect()
        }
    }
}

/// The module that defines what `path` names: the longest module prefix of it, followed
/// through that module's `pub use` of the next segment (`crate::Error` → `crate::error`).
fn resolve<'a>(
    path: &[String],
    modules: &'a BTreeMap<Vec<String>, PathBuf>,
) -> Option<(&'a Vec<String>, &'a PathBuf)> {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let (module, file) = (0..=path.len()).rev().find_map(|n| modules.get_key_value(&path[..n]))?;
        let Some(item) = path.get(module.len()) else { return Some((module, file)) };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let reexported = text
            .lines()
            .filter(|l| l.trim_start().starts_with("pub use "))
            .map(|l| l.trim_start().trim_start_matches("pub use ").to_string())
            .map(|l| {
                if ["crate::", "super::", "self::"].iter().any(|p| l.starts_with(p)) {
                    l
                } else {
                    format!("self::{l}")
                }
            })
            .flat_map(|l| named_paths(&l, module))
            .find(|p| p.last() == Some(item) && p.len() > module.len() + 1);
        match reexported {
            Some(target) if target != path => path = target,
            _ => return Some((module, file)),
        }
    }
    None
}

/// Every circle of files in one crate, as the files along it.
fn circles(krate: &str) -> Vec<Vec<String>> {
    circles_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("src"), krate)
}

/// Every circle of files under `root` (a crate's `src/`), its modules named `<label>::…`.
fn circles_in(root: &Path, krate: &str) -> Vec<Vec<String>> {
    let modules = modules(root);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests in the file (`mod tests`) see everything; they are not the file's design.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for named in named_paths(text, module) {
            let Some((target, _)) = resolve(&named, &modules) else { continue };
            let ancestor = module.starts_with(target);
            if target != module && !ancestor {
                edges.entry(module.clone()).or_default().insert(target.clone());
            }
        }
    }
    // Strongly connected components (Tarjan would do; the graphs are small: reachability).
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> =
        modules.keys().map(|m| (m, reach(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for m in modules.keys() {
        let mut component: Vec<String> = reaches[m]
            .iter()
            .filter(|other| reaches.get(other).is_some_and(|r| r.contains(m)))
            .map(|other| format!("{krate}::{}", other.join("::")))
            .collect();
        if !component.is_empty() {
            component.sort();
            found.insert(component);
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_crate_has_a_circle_of_files() {
    let all: Vec<Vec<String>> = CRATES.iter().flat_map(|c| circles(c)).collect();
    assert!(all.is_empty(), "circles of files (each a set of modules that use each other): {all:#?}");
}

#[test]
fn the_checker_finds_a_circle_and_ignores_a_use_of_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("d")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod d;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(src.join("b.rs"), "use super::a::{A, self};\npub struct B;\n").unwrap();
    std::fs::write(src.join("d/mod.rs"), "mod e;\npub use e::E;\npub struct D;\n").unwrap();
    std::fs::write(src.join("d/e.rs"), "use super::D;\npub struct E;\n").unwrap();
    assert_eq!(
        circles_in(src, "t"),
        [vec!["t::a".to_string(), "t::b".to_string()]],
        "a ⇄ b, and not d ⇄ d::e"
    );
    std::fs::write(src.join("b.rs"), "pub struct B;\n").unwrap();
    assert!(circles_in(src, "t").is_empty());
}

#[test]
fn the_checker_follows_a_grouped_use_of_the_crate_root_through_its_re_export() {
    // dbwriter's error.rs ⇄ db.rs, before classify.rs: `use crate::{Error, Result}` one way, a
    // path written in code the other; the binary's main.rs beside lib.rs hid the re-export.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod db;\nmod error;\n\npub use error::{Error, Result};\n")
        .unwrap();
    std::fs::write(src.join("main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        src.join("db.rs"),
        "use crate::{Error, Result};\npub fn is_transient() -> bool { true }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("error.rs"),
        "pub enum Error {}\nimpl Error {\n    pub fn t(&self) -> bool {\n        crate::db::is_transient()\n    }\n}\n",
    )
    .unwrap();
    assert_eq!(circles_in(src, "t"), [vec!["t::db".to_string(), "t::error".to_string()]]);
}
