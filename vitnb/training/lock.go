package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockFile is the name of the lock file in a run folder.
const LockFile = "lock"

// LockHolder is what a run writes in the lock file of its folder, so that a second run can name it.
type LockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Host    string    `json:"host,omitempty"`
	Started time.Time `json:"started"`
}

func (h LockHolder) String() string {
	s := fmt.Sprintf("PID %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	return fmt.Sprintf("%s (%s), started %s", s, h.Command, h.Started.Format(time.RFC3339))
}

// ErrLocked is wrapped by the error of a run whose folder is held by another run.
var ErrLocked = errors.New("run folder in use")

// dirLock is an advisory lock (flock) on the lock file of a run folder: held while a run writes there, released
// by Close or when the process ends, however it ends (the kernel drops flock locks with the file descriptor).
// The file stays between runs (removing it would let two runs lock two different files of the same name).
type dirLock struct{ f *os.File }

// lockDir takes the lock of a run folder at once, or returns an error naming the run that holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	// The lock file is emptied and written: one that is not a plain file (a link to someone's file, to /dev/zero)
	// is refused before it is opened, and checked again once open (it may have been swapped in between).
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		what := "not a plain file"
		switch {
		case st.Mode()&os.ModeSymlink != 0:
			what = "a symbolic link"
		case st.IsDir():
			what = "a folder"
		}
		return nil, fmt.Errorf("%s is %s, not vitnb's lock file of the run folder; remove it or use another folder", path, what)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file of the run folder: %w", err)
	}
	if st, err := os.Lstat(path); err != nil || !st.Mode().IsRegular() || !sameFile(f, st) {
		f.Close()
		return nil, fmt.Errorf("%s changed into a link or a folder while it was opened; remove it or use another folder", path)
	}
	if err := flockExclusive(f); err != nil {
		holder := "another process (its lock file does not say which)"
		if data, rerr := os.ReadFile(path); rerr == nil {
			var h LockHolder
			if json.Unmarshal(data, &h) == nil && h.PID != 0 {
				holder = h.String()
			}
		}
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w: %s is used by another training run, %s; wait for it to end or use another folder",
				ErrLocked, dir, holder)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	host, _ := os.Hostname()
	h := LockHolder{PID: os.Getpid(), Command: strings.Join(os.Args, " "), Host: host, Started: time.Now().UTC()}
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(data, '\n'), 0)
	}
	if err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

// sameFile tells whether the open file f is the one st describes.
func sameFile(f *os.File, st os.FileInfo) bool {
	fst, err := f.Stat()
	return err == nil && os.SameFile(fst, st)
}

// release empties the lock file and drops the lock.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	unlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
