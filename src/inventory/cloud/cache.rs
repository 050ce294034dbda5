//! The vSwitch cache: a TTL per answer, one cloud call shared by concurrent
//! askers (single flight), and a bound on its size.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::watch;

use super::{CloudInventory, lock};
use crate::cloud::vpc::VSwitch;
use crate::inventory::{Lookup, VSwitchFact};

impl CloudInventory {
    /// Looks `id` up, sharing one cloud call among concurrent askers. The
    /// lookup runs in its own task, so an asker giving up does not cancel it.
    pub(super) async fn lookup(&self, id: &str) -> Lookup {
        let mut rx = {
            let mut inflight = lock(&self.inner.inflight);
            match inflight.get(id) {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(id.to_string(), rx.clone());
                    let me = self.clone();
                    let id = id.to_string();
                    tokio::spawn(async move {
                        let result = me.fetch(&id).await;
                        lock(&me.inner.inflight).remove(&id);
                        let _ = tx.send(Some(result));
                    });
                    rx
                }
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v
                .clone()
                .unwrap_or_else(|| Lookup::Failed("lookup vanished".into())),
            Err(_) => Lookup::Failed("lookup task ended without an answer".into()),
        }
    }

    /// One cloud lookup; stores its result in the cache.
    pub(super) async fn fetch(&self, id: &str) -> Lookup {
        let i = &self.inner;
        let deadline = Instant::now() + i.cfg.lookup_timeout;
        let result = match i.client.vswitch(id, deadline).await {
            Ok(Some(v)) => to_lookup(&v),
            Ok(None) => Lookup::NotFound,
            Err(e) => Lookup::Failed(e.to_string()),
        };
        self.store(id, result.clone());
        result
    }

    pub(super) fn store(&self, id: &str, lookup: Lookup) {
        let mut cache = lock(&self.inner.cache);
        cache.insert(id.to_string(), (lookup, Instant::now()));
        self.evict(&mut cache);
    }

    pub(super) fn store_listing(&self, listed: &[VSwitch]) {
        let now = Instant::now();
        let mut cache = lock(&self.inner.cache);
        for v in listed {
            cache.insert(v.id.clone(), (to_lookup(v), now));
        }
        self.evict(&mut cache);
    }

    /// Keeps the cache within `max_cached`: expired entries first, then the oldest.
    pub(super) fn evict(&self, cache: &mut HashMap<String, (Lookup, Instant)>) {
        let max = self.inner.cfg.max_cached;
        if cache.len() <= max {
            return;
        }
        let cfg = &self.inner.cfg;
        cache.retain(|_, (l, at)| {
            let ttl = match l {
                Lookup::Found(_) => cfg.ttl,
                Lookup::NotFound => cfg.not_found_ttl,
                Lookup::Failed(_) => cfg.failure_ttl,
            };
            at.elapsed() < ttl
        });
        if cache.len() > max {
            let mut ages: Vec<(Instant, String)> =
                cache.iter().map(|(k, (_, at))| (*at, k.clone())).collect();
            ages.sort();
            let excess = cache.len() - max + max / 10;
            for (_, k) in ages.into_iter().take(excess) {
                cache.remove(&k);
            }
        }
    }

    pub(super) fn cached(&self, id: &str) -> Option<Lookup> {
        let cache = lock(&self.inner.cache);
        let (lookup, at) = cache.get(id)?;
        let ttl = match lookup {
            Lookup::Found(_) => self.inner.cfg.ttl,
            Lookup::NotFound => self.inner.cfg.not_found_ttl,
            Lookup::Failed(_) => self.inner.cfg.failure_ttl,
        };
        (at.elapsed() < ttl).then(|| lookup.clone())
    }
}

pub(super) fn to_lookup(v: &VSwitch) -> Lookup {
    match v.cidr_block.parse::<ipnet::IpNet>() {
        Ok(cidr) => Lookup::Found(VSwitchFact {
            id: v.id.clone(),
            vpc: v.vpc_id.clone(),
            zone: v.zone_id.clone(),
            cidr,
            available_ips: v.available_ip_address_count,
        }),
        Err(_) => Lookup::Failed(format!(
            "the cloud returned CIDR {:?} for {}",
            v.cidr_block, v.id
        )),
    }
}
