//! The architecture's layers, written once, and the test that keeps `src/` to
//! them: no import cycle between files, no module importing a higher layer.
//!
//! It reads `src/**/*.rs` (not `main.rs`, which is its own crate) and draws
//! an edge from a file to the file of each module it names through
//! `use crate::…`, `use super::…`, `use self::…`, a `use` of a child module,
//! an inline `crate::…`/`super::…` path, or a `mod` declaration. A path is
//! resolved to the longest module prefix that has a file, so an item that
//! `mod.rs` re-exports counts as an edge to that `mod.rs` (which itself
//! depends on the child that defines it).
//!
//! What it does not see, honestly: `#[cfg(test)] mod … { }` blocks are
//! skipped (test helpers may reach across); paths inside macros it cannot
//! parse as paths, `#[path]` attributes, glob re-exports' contents and paths
//! in string literals are not told apart from code; a file's edge to its own
//! ancestors' `mod.rs` (a child using its parent's items, `use super::X`)
//! is not counted for cycles, since the parent declares the child and Rust's
//! module tree is built that way — a cycle between sibling files is.
//!
//! Over ~400 lines on purpose: the small path parser, the graph and its two
//! checks are one concern, and a reader checks the parser against the checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import its own layer and the ones below.
/// Every top-level module of `src/` must be in exactly one layer. There is no
/// list of tolerated exceptions, for cycles or for upward imports: a helper
/// a lower layer needs moves down (as `config::redact` and
/// `kube::terway_events` did), with a `pub use` where its old path is used.
const LAYERS: &[&[&str]] = &[
    &["config", "cloud", "certs"],
    &["inventory", "capacity", "kube", "rules"],
    &["verdict", "events", "audit"],
    &["admission", "server", "expand", "controller"],
    &["cli"],
];

type Module = Vec<String>;

struct Graph {
    /// Module path → file (relative to `src/`).
    files: BTreeMap<Module, String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "mod.rs" | "lib.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments and without `#[cfg(test)] mod … { … }` blocks.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        let test_mod = t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod "));
        if test_mod && lines.peek().is_some_and(|n| n.trim_end().ends_with(';')) {
            lines.next();
            continue;
        }
        if test_mod {
            let mut depth = 0i32;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                if depth <= 0 && l.contains('}') {
                    break;
                }
            }
            continue;
        }
        let code = match line.find("//") {
            // Not inside a string literal: an even number of quotes before it.
            Some(i) if line[..i].matches('"').count() % 2 == 0 => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Expands `a::{b, c::{d, e as f}, self}` into its paths.
fn expand_tree(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    match tree.find('{') {
        None => {
            let path = tree.split(" as ").next().unwrap_or("").trim();
            vec![
                path.split("::")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty() && s != "*")
                    .collect(),
            ]
        }
        Some(open) => {
            let prefix: Vec<String> = tree[..open]
                .split("::")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut parts = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            let mut out = Vec::new();
            for part in parts.into_iter().filter(|p| !p.trim().is_empty()) {
                for mut rest in expand_tree(part) {
                    if rest.first().is_some_and(|s| s == "self") {
                        rest.remove(0);
                    }
                    let mut p = prefix.clone();
                    p.extend(rest);
                    out.push(p);
                }
            }
            out
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path the code names: `use` trees and inline `crate::`/`super::`/`self::` paths.
fn paths_in(code: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let mut paths = Vec::new();
    let mut mods = Vec::new();
    let mut rest = code;
    // `use` statements (possibly over several lines), and `mod x;`.
    while let Some(i) = rest.find("use ") {
        let before_ok = i == 0 || !is_ident(rest[..i].chars().last().unwrap_or(' '));
        let after = &rest[i + 4..];
        if before_ok && let Some(end) = after.find(';') {
            let tree = &after[..end];
            if !tree.contains('(') && !tree.contains('=') && !tree.contains('"') {
                paths.extend(expand_tree(tree.trim_start_matches("::")));
            }
        }
        rest = after;
    }
    for line in code.lines() {
        let t = line.trim();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some(name) = t.strip_prefix("mod ")
            && let Some(name) = name.strip_suffix(';')
        {
            mods.push(name.trim().to_string());
        }
    }
    // Inline paths anywhere in the code.
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root) {
            let at = from + i;
            from = at + root.len();
            if at > 0
                && (is_ident(code[..at].chars().last().unwrap_or(' '))
                    || code[..at].ends_with("::"))
            {
                continue;
            }
            let tail: String = code[at..]
                .chars()
                .take_while(|c| is_ident(*c) || *c == ':')
                .collect();
            paths.push(
                tail.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        }
    }
    (paths, mods)
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    walk(&src, &mut all);
    let mut files = BTreeMap::new();
    let mut texts = Vec::new();
    for p in &all {
        let rel = p.strip_prefix(&src).unwrap_or(p);
        if rel == Path::new("main.rs") {
            continue;
        }
        let name = rel.to_string_lossy().replace('\\', "/");
        files.insert(module_of(rel), name.clone());
        texts.push((
            name,
            module_of(rel),
            fs::read_to_string(p).unwrap_or_default(),
        ));
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, module, text) in &texts {
        let (paths, mods) = paths_in(&code_of(text));
        let out = edges.entry(name.clone()).or_default();
        for m in &mods {
            let mut child = module.clone();
            child.push(m.clone());
            if let Some(f) = files.get(&child) {
                out.insert(f.clone());
            }
        }
        for path in paths {
            let mut base = module.clone();
            let mut segs = path.as_slice();
            match segs.first().map(String::as_str) {
                Some("crate") => {
                    base.clear();
                    segs = &segs[1..];
                }
                Some("super") => {
                    while segs.first().is_some_and(|s| s == "super") {
                        base.pop();
                        segs = &segs[1..];
                    }
                }
                Some("self") => segs = &segs[1..],
                Some(first) if mods.iter().any(|m| m == first) => {}
                // An external crate (or a std path).
                _ => continue,
            }
            let mut full = base;
            full.extend(segs.iter().cloned());
            let target = (0..=full.len()).rev().find_map(|k| files.get(&full[..k]));
            if let Some(t) = target
                && t != name
            {
                out.insert(t.clone());
            }
        }
    }
    Graph { files, edges }
}

/// Whether `to` is the `mod.rs` (or `lib.rs`) of one of `from`'s ancestors.
fn is_ancestor(g: &Graph, from: &str, to: &str) -> bool {
    let module = |f: &str| {
        g.files
            .iter()
            .find(|(_, v)| *v == f)
            .map(|(k, _)| k.clone())
    };
    match (module(from), module(to)) {
        (Some(a), Some(b)) => b.len() < a.len() && a.starts_with(&b),
        _ => false,
    }
}

/// Strongly connected components of more than one file (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    let nodes: Vec<&String> = g.edges.keys().collect();
    let index_of: BTreeMap<&String, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            g.edges[*n]
                .iter()
                .filter(|t| !is_ancestor(g, n, t))
                .filter_map(|t| index_of.get(t).copied())
                .collect()
        })
        .collect();
    let n = nodes.len();
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut next, mut out) = (Vec::new(), 0, Vec::new());
    // Iterative, so a deep graph cannot overflow the test's stack.
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&(v, i)) = work.last() {
            if i == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on[v] = true;
            }
            if let Some(&w) = succ[v].get(i) {
                if let Some(top) = work.last_mut() {
                    top.1 += 1;
                }
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(u, _)) = work.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on[w] = false;
                    scc.push(nodes[w].clone());
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    scc.sort();
                    out.push(scc);
                }
            }
        }
    }
    out
}

/// The shortest path round a cycle through its first file, for the message.
fn round(g: &Graph, scc: &[String]) -> String {
    let set: BTreeSet<&String> = scc.iter().collect();
    let start = &scc[0];
    let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for t in g.edges[at]
            .iter()
            .filter(|t| set.contains(t) && !is_ancestor(g, at, t))
        {
            if t == start {
                let mut path = vec![start.as_str(), at.as_str()];
                let mut back = at;
                while let Some(p) = prev.get(back) {
                    path.push(p.as_str());
                    back = p;
                }
                path.reverse();
                return path.join(" → ");
            }
            if !prev.contains_key(t) && t != start {
                prev.insert(t, at);
                queue.push_back(t);
            }
        }
    }
    scc.join(", ")
}

fn layer(file: &str) -> Option<usize> {
    let top = file.split('/').next()?.trim_end_matches(".rs");
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn no_import_cycle_between_files() {
    let g = graph();
    let found: Vec<String> = cycles(&g)
        .iter()
        .map(|c| format!("{} (all of {c:?})", round(&g, c)))
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn no_module_imports_a_higher_layer() {
    let g = graph();
    let mut bad = Vec::new();
    for (from, tos) in &g.edges {
        if from == "lib.rs" {
            continue;
        }
        let Some(lf) = layer(from) else {
            bad.push(format!("{from} is in no layer: add its module to LAYERS"));
            continue;
        };
        for to in tos {
            if let Some(lt) = layer(to)
                && lt > lf
            {
                bad.push(format!("{from} (layer {lf}) imports {to} (layer {lt})"));
            }
        }
    }
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
}

/// The parser finds what it must, so the two tests above can fail.
#[test]
fn the_graph_sees_the_import_forms() {
    let cases: &[(&str, &[&str])] = &[
        (
            "use crate::config::{EniConf, Mode};",
            &["crate::config::EniConf", "crate::config::Mode"],
        ),
        (
            "use super::{a::B, c::{D, E as F}};",
            &["super::a::B", "super::c::D", "super::c::E"],
        ),
        (
            "let x = crate::rules::Mode::Crd;",
            &["crate::rules::Mode::Crd"],
        ),
        ("pub use catalog::{self, id};", &["catalog", "catalog::id"]),
        ("// use crate::cli::Nope;\nfn f() {}", &[]),
        (
            "#[cfg(test)]\nmod tests {\n    use crate::cli::Nope;\n}\n",
            &[],
        ),
    ];
    for (code, want) in cases {
        let (paths, _) = paths_in(&code_of(code));
        let got: BTreeSet<String> = paths.iter().map(|p| p.join("::")).collect();
        if want.is_empty() {
            assert!(got.is_empty(), "{code}: {got:?}");
        }
        for w in *want {
            assert!(got.contains(*w), "{code}: {w} not in {got:?}");
        }
    }
    let g = graph();
    let from_capacity = &g.edges["capacity.rs"];
    assert!(from_capacity.contains("config/mod.rs"), "{from_capacity:?}");
    assert!(g.edges["rules/mod.rs"].contains("rules/pool.rs"));
}
