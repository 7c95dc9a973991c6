package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Layout of an output root:
//
//	<root>/<table>/snapshot_date=<date>  -> ../_nights/<date>/current/<table>
//	<root>/_runs/snapshot_date=<date>    -> ../_nights/<date>/current
//	<root>/_nights/<date>/current        -> <night>
//	<root>/_nights/<date>/<night>/       <table>/part-00000.parquet, report/, audiences/, _manifest.json, _SUCCESS
//	<root>/_staging/<date>-<run id>/     a run in flight, laid out as a night
//	<root>/_staging/<date>.lock          held by the run of <date>
//
// Readers go through the first two links, which never change once made, and
// a night folder never changes once current names it. A run writes its
// tables, manifest and _SUCCESS under its staging folder, moves the folder
// into _nights/<date>/ (nothing names it there yet) and publishes it by
// renaming a new link over current: one rename(2) switches every table, the
// manifest and _SUCCESS together. A table link whose table the current night
// lacks resolves to nothing, so no glob shows it; that is how a table new
// tonight stays hidden until the flip and one gone tonight vanishes with it.
// A night folder is named after its run id (run ids cannot start with "_",
// so the other names there never collide with one).

const (
	stagingDir  = "_staging"
	nightsDir   = "_nights"
	runsDir     = "_runs"
	currentName = "current"
	// pointerPrefix names the link renamed over current.
	pointerPrefix = "_current."
	// adoptedName is the night folder of a date that an earlier version
	// committed as real folders at snapshot_date=<date>.
	adoptedName = "_adopted"
	// ManifestName is the manifest's file name in the run folder.
	ManifestName = "_manifest.json"
	// SuccessName marks a date whose run committed completely.
	SuccessName = "_SUCCESS"
)

var (
	// ErrLocked is wrapped when another live run holds the date.
	ErrLocked = errors.New("date locked by another run")
	// ErrLayout is wrapped when the output root holds something the commit
	// would have to overwrite to publish, such as a file where a link goes.
	ErrLayout = errors.New("unexpected output layout")
	// ErrRunID is wrapped when a run id cannot name a folder of the layout.
	ErrRunID = errors.New("invalid run id")
)

// PartitionDir is where a table's rows for one snapshot date live.
func PartitionDir(root, table, date string) string {
	return filepath.Join(root, table, "snapshot_date="+date)
}

// RunDir is where a date's manifest and _SUCCESS live.
func RunDir(root, date string) string {
	return filepath.Join(root, runsDir, "snapshot_date="+date)
}

func nightDir(root, date string) string { return filepath.Join(root, nightsDir, date) }

// tableLink and runLink are the link targets, relative so that a copied or
// moved output root keeps working.
func tableLink(date, table string) string {
	return filepath.Join("..", nightsDir, date, currentName, table)
}

func runLink(date string) string { return filepath.Join("..", nightsDir, date, currentName) }

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckRunID accepts run ids that can name a night folder.
func CheckRunID(id string) error {
	if !runIDPattern.MatchString(id) || id == currentName {
		return fmt.Errorf("%w %q: want up to 128 letters, digits, '.', '_' or '-', starting with a letter or digit, and not %q", ErrRunID, id, currentName)
	}
	return nil
}

// lockAttempts × lockWait is how long a run waits for its date's lock: a run
// of another date may hold it for a moment while it removes what a killed
// run of this date left.
const (
	lockAttempts = 20
	lockWait     = 50 * time.Millisecond
)

// lockDate takes the output root's lock for one date, so two runs of the
// same date never interleave; runs of different dates proceed in parallel.
// The lock dies with the process, so a killed run never blocks the next.
func lockDate(root, date string) (release func(), err error) {
	for i := 1; ; i++ {
		release, err = tryLockDate(root, date)
		if !errors.Is(err, ErrLocked) || i == lockAttempts {
			return release, err
		}
		time.Sleep(lockWait)
	}
}

func tryLockDate(root, date string) (release func(), err error) {
	dir := filepath.Join(root, stagingDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, date+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another run of %s is writing to %s: %w", date, root, ErrLocked)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// newStaging makes the staging folder of a run.
func newStaging(root, date, runID string) (string, error) {
	dir := filepath.Join(root, stagingDir, date+"-"+runID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// commit publishes a finished run. staging holds one folder per name in
// names (tables and artifacts such as the report). Until the rename over
// current, nothing readers reach has changed; a failure before it removes
// what this attempt added, and a kill leaves it to cleanStale.
func commit(fsys fileSystem, root, staging, date, runID string, names []string, manifest []byte) (err error) {
	if err := fsys.WriteFile(filepath.Join(staging, ManifestName), manifest); err != nil {
		return err
	}
	if err := fsys.WriteFile(filepath.Join(staging, SuccessName), nil); err != nil {
		return err
	}
	// Every file must be on disk before a night naming it can be.
	if err := syncTree(fsys, staging); err != nil {
		return err
	}
	if err := adopt(fsys, root, date); err != nil {
		return err
	}
	night := nightDir(root, date)
	if err := fsys.MkdirAll(night); err != nil {
		return err
	}
	cur, err := readPointer(fsys, night)
	if err != nil {
		return err
	}
	// A rerun under the same run id (a scheduler's retry) must not reuse the
	// folder current names; cleanStale removed every other.
	name := runID
	for name == cur {
		name += "+"
	}
	if err := fsys.Rename(staging, filepath.Join(night, name)); err != nil {
		return err
	}
	var made []string
	defer func() {
		if err != nil {
			undo(fsys, night, name, made)
		}
	}()
	links := map[string]string{RunDir(root, date): runLink(date)}
	for _, n := range names {
		links[PartitionDir(root, n, date)] = tableLink(date, n)
	}
	for _, link := range sortedKeys(links) {
		ok, err := ensureLink(fsys, link, links[link])
		if err != nil {
			return err
		}
		if ok {
			made = append(made, link)
		}
	}
	if err := fsys.Sync(night); err != nil {
		return err
	}
	if err := fsys.Sync(filepath.Dir(night)); err != nil {
		return err
	}
	return point(fsys, night, name)
}

// undo removes what a failed commit added after moving its folder in. It
// leaves everything when it cannot tell that the flip did not happen.
func undo(fsys fileSystem, night, name string, made []string) {
	cur, err := readPointer(fsys, night)
	if err != nil || cur == name {
		return
	}
	_ = fsys.Remove(filepath.Join(night, pointerPrefix+name))
	_ = fsys.RemoveAll(filepath.Join(night, name))
	for _, link := range made {
		if _, err := fsys.Stat(link); errors.Is(err, fs.ErrNotExist) {
			_ = fsys.Remove(link)
		}
	}
}

// point makes current name the night folder name, in one rename.
func point(fsys fileSystem, night, name string) error {
	tmp := filepath.Join(night, pointerPrefix+name)
	if err := fsys.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := fsys.Symlink(name, tmp); err != nil {
		return err
	}
	return fsys.Rename(tmp, filepath.Join(night, currentName))
}

// readPointer is the night folder current names; "" when there is none.
func readPointer(fsys fileSystem, night string) (string, error) {
	cur, err := fsys.Readlink(filepath.Join(night, currentName))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return cur, err
}

// ensureLink makes link point to target unless it already does, and
// reports whether it made it.
func ensureLink(fsys fileSystem, link, target string) (made bool, err error) {
	got, err := fsys.Readlink(link)
	switch {
	case err == nil && got == target:
		return false, nil
	case err == nil:
		return false, fmt.Errorf("%w: %s points to %s, want %s", ErrLayout, link, got, target)
	case errors.Is(err, syscall.EINVAL):
		return false, fmt.Errorf("%w: %s is in the way of a link to %s", ErrLayout, link, target)
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err := fsys.MkdirAll(filepath.Dir(link)); err != nil {
		return false, err
	}
	if err := fsys.Symlink(target, link); err != nil {
		return false, err
	}
	return true, fsys.Sync(filepath.Dir(link))
}

// tidy removes what a published night replaced: earlier night folders of
// the date and links to tables the night no longer has. Its failure leaves
// only unreachable folders and dangling links, which the next run removes.
func tidy(fsys fileSystem, root, date string) error {
	night := nightDir(root, date)
	// The flip must be on disk before the night it replaced goes, or a power
	// loss could bring back a pointer to a removed folder.
	if err := fsys.Sync(night); err != nil {
		return err
	}
	if err := removeUnpublished(fsys, night); err != nil {
		return err
	}
	return removeDanglingLinks(fsys, root, date)
}

// removeUnpublished removes every entry of a date's night folder but current
// and the folder it names.
func removeUnpublished(fsys fileSystem, night string) error {
	cur, err := readPointer(fsys, night)
	if err != nil {
		return err
	}
	entries, err := fsys.ReadDir(night)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.Name() == currentName || e.Name() == cur {
			continue
		}
		if err := fsys.RemoveAll(filepath.Join(night, e.Name())); err != nil {
			return err
		}
	}
	if cur == "" {
		return fsys.Remove(night)
	}
	return nil
}

// removeDanglingLinks removes the date's links that resolve to nothing:
// tables the current night lacks, or every link when no night is published.
func removeDanglingLinks(fsys fileSystem, root, date string) error {
	entries, err := fsys.ReadDir(root)
	if err != nil {
		return err
	}
	links := map[string]string{RunDir(root, date): runLink(date)}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			links[PartitionDir(root, e.Name(), date)] = tableLink(date, e.Name())
		}
	}
	for _, link := range sortedKeys(links) {
		got, err := fsys.Readlink(link)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EINVAL) || (err == nil && got != links[link]) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := fsys.Stat(link); !errors.Is(err, fs.ErrNotExist) {
			if err != nil {
				return err
			}
			continue
		}
		if err := fsys.Remove(link); err != nil {
			return err
		}
	}
	return nil
}

// cleanStale removes what killed or failed runs of any date left: staging
// folders, night folders current does not name, and the links of dates that
// never published. It holds each date's lock while it cleans it, and skips a
// date whose run is alive; the caller already holds own's lock.
func cleanStale(fsys fileSystem, root, own string) (removed []string, err error) {
	dates, err := staleDates(fsys, root)
	if err != nil {
		return nil, err
	}
	for _, d := range dates {
		if d != own {
			release, err := tryLockDate(root, d)
			if errors.Is(err, ErrLocked) {
				continue
			}
			if err != nil {
				return removed, err
			}
			err = cleanDate(fsys, root, d)
			release()
			if err != nil {
				return removed, err
			}
		} else if err := cleanDate(fsys, root, d); err != nil {
			return removed, err
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// staleDates lists the dates with something for cleanDate to remove,
// without taking locks, so runs of other dates are disturbed only when
// there is something to do.
func staleDates(fsys fileSystem, root string) ([]string, error) {
	stale := map[string]bool{}
	entries, err := fsys.ReadDir(filepath.Join(root, stagingDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if d, ok := stagingDate(e.Name()); ok && e.IsDir() {
			stale[d] = true
		}
	}
	entries, err = fsys.ReadDir(filepath.Join(root, nightsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if _, err := time.Parse(time.DateOnly, e.Name()); err != nil || !e.IsDir() {
			continue
		}
		night := filepath.Join(root, nightsDir, e.Name())
		cur, err := readPointer(fsys, night)
		if err != nil {
			return nil, err
		}
		inside, err := fsys.ReadDir(night)
		if err != nil {
			return nil, err
		}
		if cur == "" || slices.ContainsFunc(inside, func(e fs.DirEntry) bool { return e.Name() != currentName && e.Name() != cur }) {
			stale[e.Name()] = true
		}
	}
	return sortedKeys(stale), nil
}

// stagingDate is the date of a staging folder name "<date>-<run id>".
func stagingDate(name string) (string, bool) {
	if len(name) < 12 || name[10] != '-' {
		return "", false
	}
	if _, err := time.Parse(time.DateOnly, name[:10]); err != nil {
		return "", false
	}
	return name[:10], true
}

// cleanDate removes one date's leftovers; the caller holds its lock.
func cleanDate(fsys fileSystem, root, date string) error {
	staging := filepath.Join(root, stagingDir)
	entries, err := fsys.ReadDir(staging)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if d, ok := stagingDate(e.Name()); ok && d == date && e.IsDir() {
			if err := fsys.RemoveAll(filepath.Join(staging, e.Name())); err != nil {
				return err
			}
		}
	}
	night := nightDir(root, date)
	cur, err := readPointer(fsys, night)
	if err != nil {
		return err
	}
	if err := removeUnpublished(fsys, night); err != nil {
		return err
	}
	if cur == "" {
		return removeDanglingLinks(fsys, root, date)
	}
	return nil
}

// adopt moves a date committed by an earlier version (real folders at
// <table>/snapshot_date=<date> and _runs/snapshot_date=<date>) into a night
// folder without a change readers can see: each folder is swapped in one
// step with a link that reaches the same files through current. A run
// killed half way leaves a date that shows the same night throughout and
// that the next commit of the date finishes adopting.
func adopt(fsys fileSystem, root, date string) error {
	tables, err := realPartitions(fsys, root, date)
	if err != nil {
		return err
	}
	runs := RunDir(root, date)
	runReal, err := isRealDir(fsys, runs)
	if err != nil {
		return err
	}
	if len(tables) == 0 && !runReal {
		return nil
	}
	night := nightDir(root, date)
	if err := fsys.MkdirAll(night); err != nil {
		return err
	}
	cur, err := readPointer(fsys, night)
	if err != nil {
		return err
	}
	dir := filepath.Join(night, adoptedName)
	switch cur {
	case "":
		// current must name a folder before _runs links to it; while the old
		// run folder is not swapped in, that name is a placeholder link.
		if runReal {
			err = fsys.Symlink(runLink(date), dir)
		} else {
			err = fsys.MkdirAll(dir)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := point(fsys, night, adoptedName); err != nil {
			return err
		}
	case adoptedName:
	default:
		return fmt.Errorf("%w: %s has folders of the layout before %s and a night %s", ErrLayout, date, nightsDir, cur)
	}
	if runReal {
		if err := swapIn(fsys, runs, dir, runLink(date)); err != nil {
			return err
		}
	} else if fi, err := fsys.Lstat(dir); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		// A placeholder whose run folder went away before it was swapped in.
		if err == nil {
			err = fsys.Remove(dir)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := fsys.MkdirAll(dir); err != nil {
			return err
		}
	}
	for _, t := range tables {
		if err := swapIn(fsys, PartitionDir(root, t, date), filepath.Join(dir, t), tableLink(date, t)); err != nil {
			return err
		}
	}
	return nil
}

// swapIn moves folder to slot and leaves in its place a link with target
// that reaches slot through current. slot is a placeholder link with that
// target when an earlier attempt made it.
func swapIn(fsys fileSystem, folder, slot, target string) error {
	fi, err := fsys.Lstat(slot)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := fsys.Symlink(target, slot); err != nil {
			return err
		}
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink == 0:
		return fmt.Errorf("%w: %s and %s both hold files", ErrLayout, folder, slot)
	}
	err = fsys.Exchange(folder, slot)
	if errors.Is(err, errNoExchange) {
		// Without an atomic swap, folder is missing between these two steps.
		if err = fsys.Remove(slot); err == nil {
			if err = fsys.Rename(folder, slot); err == nil {
				err = fsys.Symlink(target, folder)
			}
		}
	}
	if err != nil {
		return err
	}
	if err := fsys.Sync(filepath.Dir(folder)); err != nil {
		return err
	}
	return fsys.Sync(filepath.Dir(slot))
}

// realPartitions lists the names under root with a real folder (not a
// link) for date: partitions of the layout before _nights.
func realPartitions(fsys fileSystem, root, date string) ([]string, error) {
	entries, err := fsys.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		real, err := isRealDir(fsys, PartitionDir(root, e.Name(), date))
		if err != nil {
			return nil, err
		}
		if real {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func isRealDir(fsys fileSystem, path string) (bool, error) {
	fi, err := fsys.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

// syncTree flushes every file and folder under dir.
func syncTree(fsys fileSystem, dir string) error {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			err = syncTree(fsys, p)
		} else {
			err = fsys.Sync(p)
		}
		if err != nil {
			return err
		}
	}
	return fsys.Sync(dir)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
