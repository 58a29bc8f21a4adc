// Command sumdb_fixture serves a checksum database for larder's Go tests.
//
// Usage: sumdb_fixture NAME DIR
//
// DIR is a GOPROXY tree holding the genuine .mod and .zip of every module version the database
// may be asked about. The database is the in-memory one from golang.org/x/mod/sumdb (Debian's
// golang-golang-x-mod-dev) with a fresh signing key each run. Every module version in DIR is
// added to the tree before the server starts, so that every lookup carries the same signed tree
// head and a client reads the same tiles however it orders its lookups: a test can then replay
// a build from larder's cache alone. It prints "vkey <verifier key>" and
// "url http://127.0.0.1:PORT/", then serves until killed.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sumdb_fixture NAME DIR")
		os.Exit(2)
	}
	name, dir := os.Args[1], os.Args[2]
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		fail(err)
	}
	gosum := func(path, vers string) ([]byte, error) {
		escPath, err := module.EscapePath(path)
		if err != nil {
			return nil, err
		}
		escVers, err := module.EscapeVersion(vers)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(dir, escPath, "@v", escVers)
		zipHash, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
		if err != nil {
			return nil, err // a missing file is os.ErrNotExist: the server answers 404
		}
		modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return os.Open(base + ".mod")
		})
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, vers, zipHash, path, vers, modHash)), nil
	}
	db := sumdb.NewTestServer(skey, gosum)
	for _, m := range versions(dir) {
		if _, err := db.Lookup(context.Background(), m); err != nil {
			fail(fmt.Errorf("adding %v to the tree: %w", m, err))
		}
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Printf("vkey %s\nurl http://%s/\n", vkey, listener.Addr())
	if err := http.Serve(listener, sumdb.NewServer(db)); err != nil {
		fail(err)
	}
}

// versions lists the module versions whose zips are in the GOPROXY tree at dir, sorted.
func versions(dir string) []module.Version {
	var found []module.Version
	err := filepath.Walk(dir, func(file string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(file, ".zip") {
			return err
		}
		rel, err := filepath.Rel(dir, file)
		if err != nil {
			return err
		}
		escPath, escFile, ok := strings.Cut(filepath.ToSlash(rel), "/@v/")
		if !ok {
			return nil
		}
		path, err := module.UnescapePath(escPath)
		if err != nil {
			return err
		}
		vers, err := module.UnescapeVersion(strings.TrimSuffix(escFile, ".zip"))
		if err != nil {
			return err
		}
		found = append(found, module.Version{Path: path, Version: vers})
		return nil
	})
	if err != nil {
		fail(err)
	}
	sort.Slice(found, func(i, j int) bool {
		return found[i].Path+"@"+found[i].Version < found[j].Path+"@"+found[j].Version
	})
	return found
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sumdb_fixture:", err)
	os.Exit(1)
}
