package minibase_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layers says which packages of the module each package may import (see
// ARCHITECTURE.md). The first rule whose pattern matches a package applies;
// a pattern ending in "/..." matches the package and everything below it.
// A package no rule matches fails the test: a new package says where it
// sits.
var layers = []struct {
	pkg   string
	allow []string
}{
	{"minibase/engine/value", nil},
	// Key comparisons by two integer heads, shared by the sorted structures.
	{"minibase/engine/internal/keyhead", nil},
	// Poisoning of reused buffers, which tests turn on.
	{"minibase/engine/internal/recycle", nil},
	{"minibase/engine/value/valuetest", []string{"minibase/engine/value"}},
	{"minibase/engine/kv", []string{"minibase/engine/internal/keyhead"}},
	{"minibase/engine/cache", nil},
	{"minibase/engine/hlc", nil},
	{"minibase/engine/memtable", []string{"minibase/engine/internal/keyhead"}},
	{"minibase/engine/keys", []string{"minibase/engine/value"}},
	{"minibase/engine/checksum", nil},
	{"minibase/engine/wal", []string{"minibase/engine/checksum", "minibase/engine/kv"}},
	{"minibase/engine/sstable", []string{"minibase/engine/cache", "minibase/engine/checksum", "minibase/engine/internal/keyhead", "minibase/engine/internal/recycle", "minibase/engine/kv"}},
	{"minibase/engine/lsm", []string{"minibase/engine/cache", "minibase/engine/checksum", "minibase/engine/internal/keyhead", "minibase/engine/kv", "minibase/engine/memtable", "minibase/engine/sstable", "minibase/engine/wal", "minibase/fsadapter"}},
	{"minibase/engine/backupfile", []string{"minibase/engine/checksum"}},
	// The sync protocol's messages, shared by the client and the server:
	// types only, importing nothing.
	{"minibase/engine/replica/wire", nil},
	{"minibase/engine", []string{"minibase/engine/backupfile", "minibase/engine/hlc", "minibase/engine/keys", "minibase/engine/kv", "minibase/engine/lsm", "minibase/engine/value", "minibase/fsadapter"}},
	// Packages over the relational engine (replication, the key-value
	// storage manager, …): the engine and its value types, never a backend.
	{"minibase/engine/...", []string{"minibase/engine/...", "minibase/fsadapter"}},
	{"minibase/fsadapter", []string{"minibase/fsadapter/internal/fsutil"}},
	{"minibase/fsadapter/internal/...", nil},
	{"minibase/fsadapter/...", []string{"minibase/fsadapter", "minibase/fsadapter/internal/..."}},
	// The bridge sees storage only as fsadapter.FS: backends are chosen by
	// the wasm command.
	{"minibase/wasm/bridge", []string{"minibase/engine/...", "minibase/fsadapter"}},
	{"minibase/wasm", []string{"minibase/wasm/bridge", "minibase/fsadapter/..."}},
	// The load generator's simulated devices are engines on memory filesystems.
	{"minibase/server/loadtest", []string{"minibase/server/...", "minibase/engine/...", "minibase/fsadapter", "minibase/fsadapter/memfs"}},
	{"minibase/server/...", []string{"minibase/server/...", "minibase/engine/..."}},
}

// jsAllowed are the only packages that may import syscall/js (the wasm
// command, the JS-backed filesystems and the Worker build of the sync
// server): the engine never does, so it runs and is tested natively.
var jsAllowed = []string{"minibase/wasm", "minibase/server/worker/...", "minibase/fsadapter/idbfs", "minibase/fsadapter/nodefs", "minibase/fsadapter/wxfs", "minibase/fsadapter/internal/..."}

func matches(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchesAny(patterns []string, pkg string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, pkg) })
}

type listed struct {
	ImportPath string
	Imports    []string
}

// list runs go list over the module for one build configuration.
func list(t *testing.T, env []string, tags string) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", tags, "-json", "./...")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(out)
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p.ImportPath, "/node_modules/") {
			continue // a test tool's npm install that ships Go (flatted does): not ours
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func TestLayers(t *testing.T) {
	for _, build := range []struct {
		name, tags string
		env        []string
	}{
		{"native", "", nil},
		{"wasm", "", []string{"GOOS=js", "GOARCH=wasm"}},
		{"wasm-wx", "wx", []string{"GOOS=js", "GOARCH=wasm"}},
	} {
		t.Run(build.name, func(t *testing.T) {
			for _, p := range list(t, build.env, build.tags) {
				if p.ImportPath == "minibase" {
					continue // this test
				}
				i := slices.IndexFunc(layers, func(l struct {
					pkg   string
					allow []string
				}) bool {
					return matches(l.pkg, p.ImportPath)
				})
				if i < 0 {
					t.Errorf("%s: no layer rule; add one to architecture_test.go and ARCHITECTURE.md", p.ImportPath)
					continue
				}
				for _, imp := range p.Imports {
					if imp == "syscall/js" && !matchesAny(jsAllowed, p.ImportPath) {
						t.Errorf("%s imports syscall/js", p.ImportPath)
					}
					if (imp == "minibase" || strings.HasPrefix(imp, "minibase/")) && !matchesAny(layers[i].allow, imp) {
						t.Errorf("%s may not import %s (rule %q)", p.ImportPath, imp, layers[i].pkg)
					}
				}
			}
		})
	}
}
