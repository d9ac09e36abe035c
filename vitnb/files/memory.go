package files

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NoMemoryCheckEnv is the environment variable that turns the memory checks off when set to 1 (for a machine
// whose memory they misread): the model's (vitnb.Config.CheckMemory) and the image decoder's (datasets).
const NoMemoryCheckEnv = "VITNB_NO_MEMORY_CHECK"

// MemoryCheckOff tells whether NoMemoryCheckEnv is set to 1.
func MemoryCheckOff() bool { return os.Getenv(NoMemoryCheckEnv) == "1" }

// Where AvailableMemory reads (variables so that tests can point them at files of their own).
var (
	memInfoPath = "/proc/meminfo"
	cgroupRoot  = "/sys/fs/cgroup"
)

// AvailableMemory returns the memory this process can still allocate, in bytes, and where the figure comes from:
// MemAvailable of /proc/meminfo (the kernel's estimate of what can be allocated without swapping), lowered to
// the room left under the cgroup's memory limit if there is one (cgroup v2 memory.max minus memory.current, or
// v1 memory.limit_in_bytes minus memory.usage_in_bytes), as in a container.
func AvailableMemory() (uint64, string, error) {
	avail, err := memAvailable(memInfoPath)
	if err != nil {
		return 0, "", err
	}
	source := "MemAvailable in " + memInfoPath
	for _, files := range [][2]string{{"memory.max", "memory.current"}, {"memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"}} {
		limit, err1 := readUintFile(filepath.Join(cgroupRoot, files[0]))
		used, err2 := readUintFile(filepath.Join(cgroupRoot, files[1]))
		if err1 != nil || err2 != nil {
			continue
		}
		room := uint64(0)
		if limit > used {
			room = limit - used
		}
		if room < avail {
			avail, source = room, fmt.Sprintf("cgroup limit %s in %s, %s used", FormatBytes(float64(limit)),
				filepath.Join(cgroupRoot, files[0]), FormatBytes(float64(used)))
		}
		break
	}
	return avail, source, nil
}

// memAvailable reads MemAvailable (in kB) from a meminfo file.
func memAvailable(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: bad MemAvailable line %q", path, sc.Text())
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s has no MemAvailable line", path)
}

// readUintFile reads a cgroup file holding one number ("max", no limit, is an error).
func readUintFile(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
}

// HostMemory returns AvailableMemory for a memory check, ok false when the checks are off (NoMemoryCheckEnv) or
// the machine's memory is unknown (nothing to compare with).
func HostMemory() (avail uint64, source string, ok bool) {
	if MemoryCheckOff() {
		return 0, "", false
	}
	avail, source, err := AvailableMemory()
	return avail, source, err == nil
}

// NotEnoughMemory is the one-line error of a memory check, nil when need bytes fit in the avail bytes that source
// reports: what describes the bytes ("… take about N"), advice says what to change.
func NotEnoughMemory(need float64, avail uint64, source, what, advice string) error {
	if need <= float64(avail) {
		return nil
	}
	return fmt.Errorf("%s take about %s, more than the %s available (%s); %s (%s=1 skips this check)",
		what, FormatBytes(need), FormatBytes(float64(avail)), source, advice, NoMemoryCheckEnv)
}

// MaxPicturePixels bounds a picture that vitnb draws from many images (`vit data sample`'s contact sheet, the
// attention picture): 2^25 pixels (5792 a side when square), 134 MB as RGBA, and 403 MB as the float32 RGB images
// it is drawn from.
const MaxPicturePixels = 1 << 25

// CheckPicture returns an error, in one line, when a picture of that many pixels (what describes it) would exceed
// MaxPicturePixels, before anything is drawn; advice says what to change. The count is a float64 so that absurd
// sizes do not wrap around.
func CheckPicture(pixels float64, what, advice string) error {
	if pixels <= MaxPicturePixels {
		return nil
	}
	return fmt.Errorf("%s: %.0f pixels (%s as RGBA), more than the %d a picture may have; %s",
		what, pixels, FormatBytes(4*pixels), MaxPicturePixels, advice)
}

// FormatBytes writes a byte count in decimal units: "512 B", "1.5 MB", "12.3 GB".
func FormatBytes(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	i := 0
	for b >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
