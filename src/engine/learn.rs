//! Reading a stored index's declarations (`Ecosystem::declared_digests`) in the background:
//! once per version of the index, without delaying its response (Debian's main Packages takes a
//! second to decompress and read). Until they are learnt, requests for the ecosystem's cached
//! objects wait a bounded time (`Declarations::learnt`), so none is served against an old
//! declaration.

use super::{Engine, Mounted};
use crate::declarations::Declarations;
use crate::store::{read_whole, Pointer};
use larder_adapter::Object;
use std::sync::Arc;

impl Engine {
    pub fn learn_declarations_in_background(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        pointer: &Pointer,
    ) {
        let Some(sha256) = pointer.sha256.clone() else {
            return;
        };
        if eco.declarations.already_learnt(&index.key, &sha256) {
            return;
        }
        let learning = eco.declarations.learning_started();
        let (engine, eco, index) = (self.clone(), eco.clone(), index.clone());
        tokio::spawn(async move {
            engine.learn_declarations(&eco, &index, &sha256).await;
            drop(learning);
        });
    }

    async fn learn_declarations(&self, eco: &Arc<Mounted>, index: &Object, sha256: &str) {
        let body = match self.store.open_blob(sha256).await {
            Ok(Some(blob)) => match read_whole(Arc::new(blob.file)).await {
                Ok(body) => body,
                Err(_) => return,
            },
            _ => return,
        };
        // Parsing and building the map both run off the async workers, and off the lock that
        // lookups take: installing the result is one swap.
        let (reader, parsed, sha) = (eco.clone(), index.clone(), sha256.to_string());
        let prepared = tokio::task::spawn_blocking(move || {
            Declarations::prepare(&sha, reader.adapter.declared_digests(&parsed, &body))
        })
        .await;
        match prepared {
            Ok(prepared) => eco.declarations.install(&index.key, prepared),
            Err(err) => {
                tracing::error!(index = %index.key, error = %err, "reading an index's declared digests failed")
            }
        }
    }
}
