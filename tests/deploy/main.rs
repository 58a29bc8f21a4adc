//! larder's deployments: graceful shutdown (what `docker stop` and systemd rely on), the
//! container image, the compose file and the office-mirror systemd unit and config under
//! `deploy/`, each checked with the tools `.ci/install/deploy.sh` installs.

#[path = "../support/mod.rs"]
mod support;

mod compose;
mod health;
mod image;
mod office_mirror;
mod shutdown;
mod tools;
