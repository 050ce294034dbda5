//! Rules on the life of a Terway config: deleting it.

use super::{Finding, id};
use crate::config::{ConfigObject, Path, Role};

pub(super) fn delete(old: &ConfigObject, out: &mut Vec<Finding>) {
    let path = Path::root("metadata").key("name");
    match old.role() {
        Role::Base => out.push(Finding::deny(
            id::DELETE_BASE,
            &path,
            "eni-config cannot be deleted: every Terway daemon reads it at start, so pod networking breaks at the next restart. Edit it instead",
        )),
        Role::Dynamic => out.push(Finding::warn(
            id::DELETE_DYNAMIC,
            &path,
            format!("nodes labelled terway-config={} lose these settings at the next Terway restart; relabel them first", old.name),
        )),
        Role::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::Operation;
    use crate::rules::testing::*;

    #[test]
    fn deleting() {
        let f = run(Operation::Delete, None, Some(&base("{}")), None, None);
        assert_denies(&f, &["delete-base"]);
        let f = run(
            Operation::Delete,
            None,
            Some(&dynamic("big-pool", "{}")),
            None,
            None,
        );
        assert_denies(&f, &[]);
        assert_warns(&f, &["delete-dynamic"]);
        let mut other = dynamic("x", "{}");
        other.data.clear();
        assert!(run(Operation::Delete, None, Some(&other), None, None).is_empty());
    }
}
