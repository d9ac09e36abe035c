package nb

import (
	"encoding/gob"
	"errors"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// showChildEnv makes the test binary act as a GoNB cell that shows one small picture and exits
// (TestHelperShowCell).
const showChildEnv = "VITNB_TEST_SHOW_CELL"

// TestHelperShowCell is the cell's program of TestShowReachesKernelBeforeExit; it does nothing in a normal run.
func TestHelperShowCell(t *testing.T) {
	if os.Getenv(showChildEnv) != "1" {
		return
	}
	Show(image.NewGray(image.Rect(0, 0, 8, 8))) // a few hundred bytes: fits in the pipe's buffer
	os.Exit(0)
}

// TestShowReachesKernelBeforeExit plays GoNB's side of the display pipes (internal/jpyexec of GoNB v0.11.5): it
// answers sync requests, and when the cell's program exits it stops reading, dropping what is still in the pipe.
// This kernel is slow to start reading (as a busy one), so a picture shown last by a cell is lost unless Show
// waits until the kernel has read it.
func TestShowReachesKernelBeforeExit(t *testing.T) {
	dir := t.TempDir()
	toKernel, fromKernel := filepath.Join(dir, "gonb_pipe"), filepath.Join(dir, "gonb_pipe_back")
	for _, p := range []string{toKernel, fromKernel} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("no named pipes here: %v", err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperShowCell$")
	cmd.Env = append(os.Environ(), showChildEnv+"=1", protocol.GONB_PIPE_ENV+"="+toKernel,
		protocol.GONB_PIPE_BACK_ENV+"="+fromKernel)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	exited := false
	var received []string // what the kernel passed on, in order: MIME types, "sync"
	exitedCh := make(chan struct{})
	kernelDone := make(chan struct{})
	go func() {
		defer close(kernelDone)
		in, err := os.Open(toKernel) // waits for the cell to open its end
		if err != nil {
			t.Error(err)
			return
		}
		defer in.Close()
		back, err := os.OpenFile(fromKernel, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer back.Close()
		select { // a busy kernel: it starts reading late, or not at all once the program has exited
		case <-time.After(300 * time.Millisecond):
		case <-exitedCh:
		}
		dec, enc := gob.NewDecoder(in), gob.NewEncoder(back)
		for {
			mu.Lock()
			done := exited
			mu.Unlock()
			if done {
				return // GoNB closes the pipe when the program has exited
			}
			var d protocol.DisplayData
			if err := dec.Decode(&d); err != nil {
				return
			}
			if v, ok := d.Data[protocol.MIMECommValue]; ok {
				if cv, ok := v.(protocol.CommValue); ok && cv.Address == protocol.GonbuiSyncAddress {
					mu.Lock()
					received = append(received, "sync")
					mu.Unlock()
					if err := enc.Encode(&protocol.CommValue{Address: protocol.GonbuiSyncAckAddress, Value: cv.Value}); err != nil {
						t.Error(err)
						return
					}
				}
				continue
			}
			mu.Lock()
			for mime := range d.Data {
				received = append(received, string(mime))
			}
			mu.Unlock()
		}
	}()
	err := cmd.Wait()
	mu.Lock()
	exited = true
	got := append([]string(nil), received...)
	mu.Unlock()
	close(exitedCh)
	<-kernelDone
	if err != nil {
		t.Fatalf("the cell's program failed: %v", err)
	}
	if len(got) != 2 || got[0] != string(protocol.MIMEImagePNG) || got[1] != "sync" {
		t.Fatalf("the kernel passed on %q before the cell's program exited, want the PNG then the sync: a picture "+
			"shown last in a cell is lost", got)
	}
}

func TestMust3(t *testing.T) {
	if a, b, c := Must3(1, "x", 2.5, nil); a != 1 || b != "x" || c != 2.5 {
		t.Fatalf("Must3 = %v, %v, %v", a, b, c)
	}
	defer func() {
		if r := recover(); r == nil || r.(error).Error() != "boom" {
			t.Fatalf("Must3 with an error: recovered %v, want the error", r)
		}
	}()
	Must3(1, 2, 3, errors.New("boom"))
}
