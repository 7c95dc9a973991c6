package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// fastFS is the real file system without fsync, which only durability after
// a power loss needs and which would make this test take minutes.
type fastFS struct{ osFS }

func (fastFS) Sync(string) error { return nil }

func (fastFS) WriteFile(p string, data []byte) error { return os.WriteFile(p, data, 0o644) }

// faultFS fails the nth call. With die, it fails every later call too: the
// process stops mattering at call n, as under kill -9.
type faultFS struct {
	fastFS
	n, calls int
	die      bool
}

func (f *faultFS) fault(op, path string) error {
	f.calls++
	if f.calls == f.n || (f.die && f.calls > f.n) {
		return &fs.PathError{Op: op + " (injected)", Path: path, Err: syscall.ENOSPC}
	}
	return nil
}

func (f *faultFS) triggered() bool { return f.calls >= f.n }

func (f *faultFS) MkdirAll(p string) error {
	if err := f.fault("mkdir", p); err != nil {
		return err
	}
	return f.fastFS.MkdirAll(p)
}

func (f *faultFS) WriteFile(p string, data []byte) error {
	if err := f.fault("write", p); err != nil {
		return err
	}
	return f.fastFS.WriteFile(p, data)
}

func (f *faultFS) Sync(p string) error {
	if err := f.fault("sync", p); err != nil {
		return err
	}
	return f.fastFS.Sync(p)
}

func (f *faultFS) Rename(a, b string) error {
	if err := f.fault("rename", a); err != nil {
		return err
	}
	return f.fastFS.Rename(a, b)
}

func (f *faultFS) Exchange(a, b string) error {
	if err := f.fault("exchange", a); err != nil {
		return err
	}
	return f.fastFS.Exchange(a, b)
}

func (f *faultFS) Symlink(target, link string) error {
	if err := f.fault("symlink", link); err != nil {
		return err
	}
	return f.fastFS.Symlink(target, link)
}

func (f *faultFS) Readlink(p string) (string, error) {
	if err := f.fault("readlink", p); err != nil {
		return "", err
	}
	return f.fastFS.Readlink(p)
}

func (f *faultFS) Lstat(p string) (fs.FileInfo, error) {
	if err := f.fault("lstat", p); err != nil {
		return nil, err
	}
	return f.fastFS.Lstat(p)
}

func (f *faultFS) Stat(p string) (fs.FileInfo, error) {
	if err := f.fault("stat", p); err != nil {
		return nil, err
	}
	return f.fastFS.Stat(p)
}

func (f *faultFS) ReadDir(p string) ([]fs.DirEntry, error) {
	if err := f.fault("readdir", p); err != nil {
		return nil, err
	}
	return f.fastFS.ReadDir(p)
}

func (f *faultFS) Remove(p string) error {
	if err := f.fault("remove", p); err != nil {
		return err
	}
	return f.fastFS.Remove(p)
}

func (f *faultFS) RemoveAll(p string) error {
	if err := f.fault("removeall", p); err != nil {
		return err
	}
	return f.fastFS.RemoveAll(p)
}

// TestCommitUnderFaults publishes night B over each starting state with the
// nth file-system call failing, for every n until the commit needs no more
// calls. After each attempt a reader sees the whole old night or, once the
// flip went through, the whole new one; the next run then publishes and
// leaves nothing behind. "fail" fails one call (a full disk), "die" that
// call and every later one (kill -9 at that point: no clean-up runs).
func TestCommitUnderFaults(t *testing.T) {
	starts := []struct {
		name string
		old  nightFiles // what a reader sees before the commit
		root func(t *testing.T) string
	}{
		{"over a published night", nightA, func(t *testing.T) string {
			root := t.TempDir()
			if _, err, terr := publish(t, fastFS{}, root, nightA); err != nil || terr != nil {
				t.Fatal(err, terr)
			}
			return root
		}},
		{"over the layout before _nights", nightA, func(t *testing.T) string { return oldLayoutRoot(t, nightA) }},
		{"new date", nightFiles{}, func(t *testing.T) string { return t.TempDir() }},
	}
	for _, start := range starts {
		for _, die := range []bool{false, true} {
			mode := "fail"
			if die {
				mode = "die"
			}
			t.Run(start.name+"/"+mode, func(t *testing.T) {
				t.Parallel() // each attempt waits mostly on the disk
				for n := 1; ; n++ {
					if n > 1000 {
						t.Fatal("the commit never finished")
					}
					root := start.root(t)
					f := &faultFS{n: n, die: die}
					staging, err, tidyErr := publish(t, f, root, nightB)
					if !f.triggered() {
						if err != nil || tidyErr != nil {
							t.Fatalf("no fault, yet %v, %v", err, tidyErr)
						}
						checkView(t, root, nightB, nightA)
						checkNoLeftovers(t, root, nightB)
						t.Logf("%d file-system calls", f.calls)
						return
					}
					want := start.old
					if err == nil {
						want = nightB // the fault came after the flip
					}
					if !die && err != nil {
						os.RemoveAll(staging) // what Run does when the commit fails
					}
					ok := t.Run(fmt.Sprintf("call %d", n), func(t *testing.T) {
						checkView(t, root, want, nightA, nightB)
					})
					if !ok {
						t.Logf("call %d failed with: %v / %v", n, err, tidyErr)
					}

					// The next run of the date.
					if _, err := cleanStale(fastFS{}, root, date); err != nil {
						t.Fatalf("call %d: clean: %v", n, err)
					}
					next := newNight("B2", nightB.names()...)
					if _, err, terr := publish(t, fastFS{}, root, next); err != nil || terr != nil {
						t.Fatalf("call %d: next run: %v, %v", n, err, terr)
					}
					checkView(t, root, next, nightA, nightB)
					checkNoLeftovers(t, root, next)
					if t.Failed() {
						return
					}
				}
			})
		}
	}
}
