//! terway-guard: keeps Terway's `eni-config` safe to edit.
//!
//! The core is pure: [`config`] models the ConfigMap, [`rules`] turns
//! (old, new, base, facts) into findings, [`verdict`] adds the mutation.
//! The edges ([`server`], [`inventory`], [`cli`]) do the I/O.
#![forbid(unsafe_code)]

pub mod admission;
pub mod audit;
pub mod capacity;
pub mod certs;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod controller;
pub mod events;
pub mod expand;
pub mod inventory;
pub mod kube;
pub mod rules;
pub mod server;
pub mod verdict;
