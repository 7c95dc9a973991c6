package extract

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"retain/night"
)

// ErrNoLocation is wrapped when an input path, or the folder a glob looks
// in, does not exist: a mistyped or unmounted path is a failure, never
// "nothing to do yet".
var ErrNoLocation = errors.New("input location does not exist")

// inputFile is one file to read and how.
type inputFile struct {
	path   string
	format string
}

// resolveFiles expands a source path (one file, a folder or a glob) into
// files in lexical order, so batches come in the same order on every run
// (no rule depends on it: duplicates are decided by the rows' values). Files whose names start with "_" or "." (markers such as
// _SUCCESS) are skipped in folders and globs. Only a location that exists
// and holds no file yet is night.ErrNoInput; a path that does not exist,
// or a glob whose folder does not, is ErrNoLocation.
func resolveFiles(path, format string) ([]inputFile, error) {
	var paths []string
	switch st, err := os.Stat(path); {
	case err == nil && st.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() || hidden(e.Name()) {
				continue
			}
			if f := formatOf(e.Name(), format); f != "" {
				paths = append(paths, filepath.Join(path, e.Name()))
			}
		}
	case err == nil:
		paths = []string{path}
	case isGlob(path):
		root := globRoot(path)
		if st, err := os.Stat(root); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: folder %s (of %s)", ErrNoLocation, root, path)
			}
			return nil, err
		} else if !st.IsDir() {
			return nil, fmt.Errorf("%w: %s (of %s) is not a folder", ErrNoLocation, root, path)
		}
		matches, err := filepath.Glob(path)
		if err != nil {
			return nil, fmt.Errorf("input glob %q: %w", path, err)
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && !st.IsDir() && !hidden(filepath.Base(m)) {
				paths = append(paths, m)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s", ErrNoLocation, path)
	default:
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no input files at %s", night.ErrNoInput, path)
	}
	sort.Strings(paths)
	files := make([]inputFile, 0, len(paths))
	for _, p := range paths {
		f := formatOf(p, format)
		if f == "" {
			return nil, fmt.Errorf("%w: %s: cannot tell the format from the extension; set format: parquet or csv", night.ErrInputSchema, p)
		}
		files = append(files, inputFile{path: p, format: f})
	}
	return files, nil
}

// InputFiles lists the files a source path resolves to, in the order the
// reader reads them, so that lineage names an input by what is read rather
// than by the pattern that finds it.
func InputFiles(path, format string) ([]string, error) {
	files, err := resolveFiles(path, format)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	return paths, nil
}

// pathless drops the path from the error of opening or reading a file,
// which the reader's callers name already, so that it is said once.
func pathless(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func isGlob(path string) bool { return strings.ContainsAny(path, "*?[") }

// globRoot is the folder a glob looks in: its path up to the first
// element with a pattern character.
func globRoot(path string) string {
	dir := path
	for isGlob(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

func hidden(name string) bool { return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") }

func formatOf(name, explicit string) string {
	if explicit != "" {
		return explicit
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".parquet", ".pq":
		return "parquet"
	case ".csv", ".txt", ".tsv":
		return "csv"
	}
	return ""
}
