package pipeline

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// fileSystem is every file-system call the commit and the clean-up of
// earlier runs make, so that a test can fail each one in turn.
type fileSystem interface {
	MkdirAll(path string) error
	// WriteFile creates path, writes data and syncs it before closing.
	WriteFile(path string, data []byte) error
	// Sync flushes a file or a folder (its entries) to disk.
	Sync(path string) error
	Rename(oldpath, newpath string) error
	// Exchange swaps two paths in one step; errNoExchange when the system
	// or the file system cannot.
	Exchange(a, b string) error
	Symlink(target, link string) error
	Readlink(path string) (string, error)
	Lstat(path string) (fs.FileInfo, error)
	Stat(path string) (fs.FileInfo, error)
	ReadDir(path string) ([]fs.DirEntry, error)
	Remove(path string) error
	RemoveAll(path string) error
}

// errNoExchange is returned by Exchange where an atomic swap of two paths is
// not available.
var errNoExchange = errors.New("atomic exchange of two paths not supported")

// osFS is the real file system.
type osFS struct{}

func (osFS) MkdirAll(path string) error { return os.MkdirAll(path, 0o755) }

func (osFS) WriteFile(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (osFS) Sync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	// Some file systems cannot sync a folder; there renames are as durable
	// as they make them.
	if errors.Is(err, syscall.EINVAL) {
		err = nil
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (osFS) Rename(oldpath, newpath string) error       { return os.Rename(oldpath, newpath) }
func (osFS) Exchange(a, b string) error                 { return exchange(a, b) }
func (osFS) Symlink(target, link string) error          { return os.Symlink(target, link) }
func (osFS) Readlink(path string) (string, error)       { return os.Readlink(path) }
func (osFS) Lstat(path string) (fs.FileInfo, error)     { return os.Lstat(path) }
func (osFS) Stat(path string) (fs.FileInfo, error)      { return os.Stat(path) }
func (osFS) ReadDir(path string) ([]fs.DirEntry, error) { return os.ReadDir(path) }
func (osFS) Remove(path string) error                   { return os.Remove(path) }
func (osFS) RemoveAll(path string) error                { return os.RemoveAll(path) }
