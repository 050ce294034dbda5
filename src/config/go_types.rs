//! Go types a JSON value decodes into, and where Go's typed decode refuses
//! one: the value Terway ends with, every earlier occurrence of a repeated key
//! (encoding/json decode.go `saveError` fails the whole Unmarshal on a type
//! error in any of them), and numbers beyond float64 range (see
//! [`super::go_json`]). Used for `eni_conf` and for the CNI documents alike.

use serde_json::Value;

use super::Path;
use super::go_json::{Hidden, Note, Step, fold_eq};

/// The Go type a field decodes into, as `encoding/json` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    /// Go `int` (64-bit) and `time.Duration`: `strconv.ParseInt` of the
    /// literal, so no fraction, no exponent, within i64 (`-0` is 0).
    Int,
    /// Go `float64`: any number within float64 range.
    Float,
    /// Go `float32`: `strconv.ParseFloat(s, 32)`, so a number that rounds to at
    /// most MaxFloat32 (`3.4028235e38` decodes, `3.5e38` does not).
    Float32,
    Bool,
    /// `[]T`
    List(&'static Kind),
    /// `map[string]T`
    Map(&'static Kind),
    /// A Go struct: the listed members are typed, other keys are ignored.
    Struct(&'static [Member]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub name: &'static str,
    pub kind: Kind,
}

pub const fn m(name: &'static str, kind: Kind) -> Member {
    Member { name, kind }
}

/// How keys are matched to struct members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// The daemon and the controlplane: `k8s.io/apimachinery/pkg/util/json`
    /// (sigs.k8s.io/json `UnmarshalCaseSensitivePreserveInts`): exact names.
    Exact,
    /// `encoding/json` (terway-cli nodeconfig, cmd/terway-cli/node.go; libcni;
    /// the terway CNI binary): the exact name, else Unicode simple case
    /// folding ([`super::go_json::fold_eq`]: `ſ` ~ `s`, Kelvin sign ~ `k`).
    Fold,
}

impl Keys {
    /// The member `key` decodes into, if any.
    pub fn member(self, members: &'static [Member], key: &str) -> Option<&'static Member> {
        let exact = members.iter().find(|m| m.name == key);
        match self {
            Keys::Exact => exact,
            Keys::Fold => exact.or_else(|| members.iter().find(|m| fold_eq(key, m.name))),
        }
    }
}

/// Where a value does not decode: the path inside it and the Go type wanted.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch<'a> {
    pub path: Path,
    pub want: Kind,
    pub got: &'a Value,
    /// The number as written, when the value cannot show it (`1e400`).
    pub literal: Option<&'a str>,
    /// Found in an earlier occurrence of a repeated key, not in the value.
    pub earlier: bool,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Int => "an integer",
            Kind::Float => "a number",
            Kind::Float32 => "a number within float32 range",
            Kind::Bool => "true or false",
            Kind::List(Kind::String) => "a list of strings",
            Kind::List(Kind::Struct(_)) => "a list of objects",
            Kind::List(_) => "a list",
            Kind::Map(Kind::String) => "an object of string values",
            Kind::Map(Kind::Int) => "an object of integer values",
            Kind::Map(Kind::List(Kind::String)) => {
                "an object mapping each zone to a list of vSwitch ids"
            }
            Kind::Map(_) => "an object",
            Kind::Struct(_) => "an object",
        }
    }

    /// Whether how keys are matched ([`Keys`]) can change a decode: only a
    /// struct with members matches keys, so for any other type a folded
    /// decode finds exactly what an exact one finds.
    pub fn matches_keys(self) -> bool {
        match self {
            Kind::List(item) | Kind::Map(item) => item.matches_keys(),
            Kind::Struct(members) => !members.is_empty(),
            _ => false,
        }
    }

    /// The first place where Go would refuse to decode `v` into this type.
    /// `null` decodes into anything (the zero value). The path is built only
    /// for a mismatch: most values match, and are checked on every review.
    /// For a value read with serde_json (no repeats or overflows recorded).
    pub fn mismatch<'a>(
        self,
        v: &'a Value,
        at: impl FnOnce() -> Path,
        keys: Keys,
    ) -> Option<Mismatch<'a>> {
        self.mismatch_with(v, std::iter::empty(), at, keys)
    }

    /// As [`Kind::mismatch`], also over what the value hides: `hidden` are the
    /// notes under `v`, each with its path relative to `v`.
    pub fn mismatch_with<'a>(
        self,
        v: &'a Value,
        hidden: impl IntoIterator<Item = (&'a [Step], &'a Hidden)>,
        at: impl FnOnce() -> Path,
        keys: Keys,
    ) -> Option<Mismatch<'a>> {
        let mut inside = Vec::new();
        if let Some((want, got)) = self.find(v, keys, &mut inside) {
            return Some(build(at(), &[], &inside, want, got, None, false));
        }
        for (steps, what) in hidden {
            let Some(kind) = self.at_path(steps, keys) else {
                continue;
            };
            match what {
                Hidden::Earlier(earlier) => {
                    if let Some((want, got)) = kind.find(earlier, keys, &mut inside) {
                        return Some(build(at(), steps, &inside, want, got, None, true));
                    }
                }
                Hidden::Overflow { literal, standin } => {
                    if matches!(kind, Kind::Float | Kind::Float32) {
                        let literal = Some(literal.as_str());
                        return Some(build(at(), steps, &[], kind, standin, literal, false));
                    }
                }
            }
        }
        None
    }

    /// The type found at `steps` inside this one, if the steps lead anywhere.
    fn at_path(self, steps: &[Step], keys: Keys) -> Option<Kind> {
        steps
            .iter()
            .try_fold(self, |kind, step| match (kind, step) {
                (Kind::List(item), Step::Index(_)) | (Kind::Map(item), Step::Key(_)) => Some(*item),
                (Kind::Struct(members), Step::Key(k)) => keys.member(members, k).map(|m| m.kind),
                _ => None,
            })
    }

    /// The mismatch, with the way to it pushed innermost first.
    fn find<'a>(
        self,
        v: &'a Value,
        keys: Keys,
        inside: &mut Vec<Seg<'a>>,
    ) -> Option<(Kind, &'a Value)> {
        if v.is_null() {
            return None;
        }
        let bad = Some((self, v));
        match self {
            Kind::String => (!v.is_string()).then_some((self, v)),
            Kind::Int => v.as_i64().is_none().then_some((self, v)),
            Kind::Float => (!v.is_number()).then_some((self, v)),
            // Rounded once from the literal's nearest float64: off from
            // ParseFloat(s, 32) only within 2^-52 of the rounding boundary.
            Kind::Float32 => {
                (!v.as_f64().is_some_and(|f| (f as f32).is_finite())).then_some((self, v))
            }
            Kind::Bool => (!v.is_boolean()).then_some((self, v)),
            Kind::List(item) => match v.as_array() {
                None => bad,
                Some(items) => items.iter().enumerate().find_map(|(i, x)| {
                    let found = item.find(x, keys, inside)?;
                    inside.push(Seg::Index(i));
                    Some(found)
                }),
            },
            Kind::Map(item) => match v.as_object() {
                None => bad,
                Some(map) => map.iter().find_map(|(k, x)| {
                    let found = item.find(x, keys, inside)?;
                    inside.push(Seg::Key(k));
                    Some(found)
                }),
            },
            Kind::Struct(members) => match v.as_object() {
                None => bad,
                Some(map) => map.iter().find_map(|(k, x)| {
                    let member = keys.member(members, k)?;
                    let found = member.kind.find(x, keys, inside)?;
                    inside.push(Seg::Key(k));
                    Some(found)
                }),
            },
        }
    }
}

fn build<'a>(
    at: Path,
    steps: &[Step],
    inside: &[Seg<'_>],
    want: Kind,
    got: &'a Value,
    literal: Option<&'a str>,
    earlier: bool,
) -> Mismatch<'a> {
    let outer = steps.iter().fold(at, |p, s| match s {
        Step::Key(k) => p.key(k),
        Step::Index(i) => p.index(*i),
    });
    let path = inside.iter().rev().fold(outer, |p, seg| match seg {
        Seg::Key(k) => p.key(k),
        Seg::Index(i) => p.index(*i),
    });
    Mismatch {
        path,
        want,
        got,
        literal,
        earlier,
    }
}

/// One step into a value, on the way to a mismatch.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Whether what a note hides still reaches a typed decode after the text has
/// been through Go maps, which keep only the last of repeated keys: a
/// dynamic config goes through json-patch's MergePatch (evanphx/json-patch
/// v5.6.0 merge.go, `map[string]*lazyNode`) before the daemon decodes it.
/// An earlier occurrence never does; an out-of-range number does when it is
/// in the last occurrence, i.e. when its stand-in is still at its place in
/// `v` (the value the note's `steps` are relative to). A last occurrence
/// written as exactly ±MaxFloat64 over an earlier overflow reads as
/// surviving too: a denial that is still right about the earlier text.
pub fn survives_map_decode(v: &Value, steps: &[Step], what: &Hidden) -> bool {
    match what {
        Hidden::Earlier(_) => false,
        Hidden::Overflow { standin, .. } => steps
            .iter()
            .try_fold(v, |v, step| match step {
                Step::Key(k) => v.get(k.as_str()),
                Step::Index(i) => v.get(*i),
            })
            .is_some_and(|there| there == standin),
    }
}

/// The notes under the top-level key `key` of a decoded document, with
/// their paths relative to that key's value.
pub fn notes_under<'a>(
    notes: &'a [Note],
    key: &'a str,
) -> impl Iterator<Item = (&'a [Step], &'a Hidden)> + 'a {
    notes
        .iter()
        .filter_map(move |n| match n.path.split_first() {
            Some((Step::Key(k), rest)) if k == key => Some((rest, &n.what)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_last_occurrence_survives_go_maps() {
        let standin = json!(f64::MAX);
        let overflow = Hidden::Overflow {
            literal: "1e400".into(),
            standin: standin.clone(),
        };
        let key = |k: &str| Step::Key(k.into());
        let cases = [
            // (value the steps start from, steps, note, survives)
            (standin.clone(), vec![], overflow.clone(), true),
            (json!(1), vec![], overflow.clone(), false),
            (
                json!({"x": {"Factor": f64::MAX}}),
                vec![key("x"), key("Factor")],
                overflow.clone(),
                true,
            ),
            (
                json!({"x": {"Factor": 2}}),
                vec![key("x"), key("Factor")],
                overflow.clone(),
                false,
            ),
            (
                json!({}),
                vec![key("x"), key("Factor")],
                overflow.clone(),
                false,
            ),
            (
                json!([1, f64::MAX]),
                vec![Step::Index(1)],
                overflow.clone(),
                true,
            ),
            (
                json!([f64::MAX]),
                vec![Step::Index(1)],
                overflow.clone(),
                false,
            ),
            (json!("5"), vec![], Hidden::Earlier(json!(5)), false),
        ];
        for (v, steps, what, want) in cases {
            assert_eq!(
                survives_map_decode(&v, &steps, &what),
                want,
                "{v} {steps:?}"
            );
        }
    }

    #[test]
    fn only_struct_members_make_key_matching_matter() {
        const ROUTE: Kind = Kind::Struct(&[m("dst", Kind::String)]);
        let cases = [
            (Kind::String, false),
            (Kind::List(&Kind::String), false),
            (Kind::Map(&Kind::List(&Kind::Int)), false),
            (Kind::Struct(&[]), false),
            (ROUTE, true),
            (Kind::List(&ROUTE), true),
            (Kind::Map(&ROUTE), true),
        ];
        for (kind, want) in cases {
            assert_eq!(kind.matches_keys(), want, "{kind:?}");
        }
        // Where it does not matter, the two decodes agree.
        let v = json!({"Dst": [1], "dst": 2});
        let root = || Path::root("x");
        for kind in [Kind::Map(&Kind::List(&Kind::Int)), Kind::Struct(&[])] {
            assert_eq!(
                kind.mismatch(&v, root, Keys::Exact),
                kind.mismatch(&v, root, Keys::Fold),
                "{kind:?}"
            );
        }
        assert_ne!(
            ROUTE.mismatch(&v, root, Keys::Exact),
            ROUTE.mismatch(&v, root, Keys::Fold)
        );
    }
}
