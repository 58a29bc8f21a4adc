//! The status page's build-cache section: per tool, hits, misses, puts and bytes since start,
//! and how to point the tool at this larder (`/cache/`, see `crate::buildcache`).

use super::{bytes, esc};
use crate::buildcache::metrics::ToolSnapshot;
use std::fmt::Write as _;

/// How to point each tool at larder at `base`.
pub fn snippets(base: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "go (GOCACHEPROG)",
            format!(
                "# the helper in the build image (a static larder serves itself here):\n\
                 ADD {base}/-/bin/larder /usr/local/bin/larder\n\
                 export GOCACHEPROG=\"larder gocache --url {base}\"\n\
                 # Go 1.21-1.23: a go command built with GOEXPERIMENT=cacheprog"
            ),
        ),
        (
            "ccache",
            format!("export CCACHE_REMOTE_STORAGE={base}/cache/ccache"),
        ),
        (
            "sccache",
            format!("export SCCACHE_WEBDAV_ENDPOINT={base}/cache/sccache"),
        ),
        (
            "Gradle (settings.gradle)",
            format!(
                "buildCache {{ remote(HttpBuildCache) {{\n  url = '{base}/cache/gradle/'\n  push = true\n  allowInsecureProtocol = true\n}} }}"
            ),
        ),
        (
            "Bazel (.bazelrc)",
            format!("build --remote_cache={base}/cache/bazel"),
        ),
    ]
}

pub fn section(html: &mut String, base: &str, tools: &[(&'static str, ToolSnapshot)]) {
    html.push_str(
        "<h2>Build cache</h2><div class=\"scroll\"><table id=\"buildcache\"><thead><tr><th>tool</th>\
         <th>hits</th><th>misses</th><th>puts</th><th title=\"writes refused: no right, digest mismatch, too large\">refused</th>\
         <th>served</th><th>stored</th></tr></thead><tbody>",
    );
    for (tool, c) in tools {
        let _ = write!(
            html,
            "<tr data-tool=\"{tool}\"><td class=\"eco\">/cache/{tool}/</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.hits,
            c.misses,
            c.puts,
            c.refused,
            bytes(c.served_bytes),
            bytes(c.stored_bytes)
        );
    }
    html.push_str("</tbody></table></div><div class=\"clients\">");
    for (title, text) in snippets(base) {
        let _ = write!(
            html,
            "<section><h3>{}</h3><pre>{}</pre></section>",
            esc(title),
            esc(&text)
        );
    }
    html.push_str("</div>");
}
