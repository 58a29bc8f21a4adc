#!/usr/bin/env bash
# Tools the Maven integration tests (tests/maven/) need: Debian's maven and gradle (the real
# clients), and the libraries whose jars the fixture repository is built from
# (/usr/share/maven-repo: plexus-utils, commons-lang3 and javax.inject, which maven itself
# depends on today; named here so the fixture does not rely on that).
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v mvn >/dev/null 2>&1 || need+=(maven)
# Gradle 4.4 (Debian's) also resolves from larder's Maven repository in tests/maven.
command -v gradle >/dev/null 2>&1 || need+=(gradle)
repo=/usr/share/maven-repo
[ -e "$repo/org/codehaus/plexus/plexus-utils/3.4.2/plexus-utils-3.4.2.jar" ] || need+=(libplexus-utils2-java)
[ -e "$repo/org/apache/commons/commons-lang3/3.12.0/commons-lang3-3.12.0.jar" ] || need+=(libcommons-lang3-java)
[ -e "$repo/javax/inject/javax.inject/1/javax.inject-1.jar" ] || need+=(libatinject-jsr330-api-java)

apt_install "${need[@]}"
