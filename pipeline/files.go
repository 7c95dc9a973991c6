package pipeline

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// stagedFiles puts the files stages create into the run's staging folder,
// one folder per artifact, and remembers which artifacts were written so
// the commit publishes exactly those.
type stagedFiles struct {
	dir     string
	mu      sync.Mutex
	created map[string]bool
}

// Create opens dir/artifact/name. Both must be plain names: a stage cannot
// write outside its artifact's folder, nor into the run's own files.
func (s *stagedFiles) Create(artifact, name string) (io.WriteCloser, error) {
	for _, n := range []string{artifact, name} {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, "_") {
			return nil, fmt.Errorf("artifact file %q/%q: want plain names not starting with _", artifact, name)
		}
	}
	dir := filepath.Join(s.dir, artifact)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created == nil {
		s.created = map[string]bool{}
	}
	s.created[artifact] = true
	return &syncedFile{File: f}, nil
}

// wrote reports whether a stage created a file of artifact.
func (s *stagedFiles) wrote(artifact string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[artifact]
}

// others lists, sorted, the written artifacts that are not in tables.
func (s *stagedFiles) others(tables []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for a := range s.created {
		if !slices.Contains(tables, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// syncedFile is a staged file whose Close makes it durable before the
// commit can publish it. A second Close returns nil, so a stage may close
// in its error paths without tracking what it closed.
type syncedFile struct {
	*os.File
	closed bool
}

// Close syncs and closes the file.
func (f *syncedFile) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}
