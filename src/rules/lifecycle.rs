//! Rules on the life of a Terway config: deleting it.

use super::{Finding, Mode, Severity, id};
use crate::config::{ConfigObject, Path, Role};
use crate::inventory::Facts;

pub(super) fn delete(
    old: &ConfigObject,
    base: Option<&ConfigObject>,
    facts: Option<&Facts>,
    out: &mut Vec<Finding>,
) {
    let path = Path::root("metadata").key("name");
    match old.role() {
        Role::Base => out.push(Finding::deny(
            id::DELETE_BASE,
            &path,
            "eni-config cannot be deleted: Terway's DaemonSet mounts it and terway-init reads it on every node (cmd/terway-cli/common.go), so pod networking breaks at the next restart. Edit it instead",
        )),
        Role::Dynamic => delete_dynamic(old, base, facts, &path, out),
        Role::Other => {}
    }
}

/// A labelled node whose dynamic config is gone: CRD-mode node reconciles fail
/// (types/daemon/dynamicconfig.go ConfigFromConfigMap cannot get it), so the
/// node's IP pool stops being managed; the legacy daemon falls back to the
/// base at its next start (daemon/builder.go LoadDynamicConfig).
fn delete_dynamic(
    old: &ConfigObject,
    base: Option<&ConfigObject>,
    facts: Option<&Facts>,
    path: &Path,
    out: &mut Vec<Finding>,
) {
    let name = &old.name;
    let mode = base.and_then(ConfigObject::eni_conf).map(|b| Mode::of(&b));
    let Some(facts) = facts else {
        out.push(Finding::warn(
            id::DELETE_DYNAMIC,
            path,
            format!("could not check which nodes use {name}; nodes labelled terway-config={name} lose these settings (and in CRD mode stop getting IPs). Relabel them first"),
        ));
        return;
    };
    let nodes: Vec<_> = facts
        .nodes
        .iter()
        .filter(|n| n.config.as_deref() == Some(name.as_str()))
        .collect();
    let labelled: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    // Exclusive-ENI nodes get their pods' ENIs from terway-controlplane,
    // which reads the node's dynamic config whatever the mode
    // (pkg/controller/pod/pod_controller.go, types/daemon/dynamicconfig.go).
    let exclusive = nodes.iter().any(|n| n.exclusive_eni);
    if labelled.is_empty() {
        return;
    }
    let shown = labelled
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let more = if labelled.len() > 3 { ", …" } else { "" };
    let (severity, effect) = match mode {
        Some(Mode::Crd) => (
            Severity::Deny,
            "in CRD mode their node reconcile fails without it (types/daemon/dynamicconfig.go), so they stop getting pod IPs",
        ),
        Some(Mode::Legacy) if exclusive => (
            Severity::Deny,
            "some are exclusive-ENI nodes, and terway-controlplane's pod controller fails to allocate their pods' ENIs without it (pkg/controller/pod/pod_controller.go, types/daemon/dynamicconfig.go)",
        ),
        Some(Mode::Legacy) => (
            Severity::Warn,
            "the legacy daemon falls back to eni-config at its next start, so they lose these settings",
        ),
        None => (
            Severity::Warn,
            "they lose these settings (legacy) or stop getting pod IPs (CRD mode)",
        ),
    };
    out.push(Finding::new(
        id::DELETE_DYNAMIC,
        severity,
        path,
        format!(
            "{} node(s) are labelled terway-config={name} ({shown}{more}); {effect}. Remove the label from them first: kubectl label node <node> terway-config-",
            labelled.len()
        ),
    ));
}

#[cfg(test)]
mod tests {
    use crate::rules::Operation;
    use crate::rules::testing::*;

    #[test]
    fn deleting() {
        let f = run(Operation::Delete, None, Some(&base("{}")), None, None);
        assert_denies(&f, &["delete-base"]);
        let legacy = base("{}");
        let crd = base(r#"{"ipam_type": "crd"}"#);
        let big = dynamic("big-pool", "{}");
        let facts = facts_for(&[]);
        let cases = [
            (Some(&crd), Some(&facts), &["delete-dynamic"][..], &[][..]),
            (Some(&legacy), Some(&facts), &[], &["delete-dynamic"]),
            (None, Some(&facts), &[], &["delete-dynamic"]),
            (Some(&crd), None, &[], &["delete-dynamic"]),
        ];
        for (b, facts, deny, warn) in cases {
            let f = run(Operation::Delete, None, Some(&big), b, facts);
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
        // Legacy mode with a labelled exclusive-ENI node: the controlplane
        // still reads the dynamic config for it.
        let mut exclusive = facts_for(&[]);
        let mut nodes = exclusive.nodes.to_vec();
        for n in nodes.iter_mut().filter(|n| n.config.is_some()) {
            n.exclusive_eni = true;
            n.config = Some("big-pool".into());
        }
        exclusive.set_nodes(nodes);
        for (b, deny, warn) in [
            (&legacy, &["delete-dynamic"][..], &[][..]),
            (&crd, &["delete-dynamic"], &[]),
        ] {
            let f = run(
                Operation::Delete,
                None,
                Some(&big),
                Some(b),
                Some(&exclusive),
            );
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
        let unused = dynamic("nobody", "{}");
        let f = run(
            Operation::Delete,
            None,
            Some(&unused),
            Some(&crd),
            Some(&facts),
        );
        assert!(f.is_empty(), "{f:#?}");
        let mut other = dynamic("x", "{}");
        other.data.clear();
        assert!(run(Operation::Delete, None, Some(&other), None, None).is_empty());
    }
}
