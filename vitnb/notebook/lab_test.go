package notebook

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartLab starts JupyterLab on an empty folder when Setup with Lab has installed it: it answers on its REST
// API with the token (and only with it), lists the gonb kernel when its spec is installed, and stops.
func TestStartLab(t *testing.T) {
	home := DefaultHome()
	if _, err := os.Stat(filepath.Join(home, "venv", "bin", "jupyter-lab")); err != nil {
		t.Skip("JupyterLab is not installed (vit notebook setup -lab)")
	}
	if testing.Short() {
		t.Skip("starts JupyterLab")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	var log strings.Builder
	lab, err := StartLab(context.Background(), LabOptions{Home: home, Dir: dir, Port: port, Token: "secret-token",
		Log: &log}) // exec writes Stdout and Stderr, the same writer, from one goroutine
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	defer func() {
		if err := lab.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if want := "/lab?token=secret-token"; !strings.HasSuffix(lab.URL, want) {
		t.Errorf("URL %s does not end in %s", lab.URL, want)
	}
	get := func(token string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, lab.Base+"/api/kernelspecs", nil)
		req.Header.Set("Authorization", "token "+token)
		return http.DefaultClient.Do(req)
	}
	resp, err := get("wrong")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token got HTTP %d", resp.StatusCode)
	}
	resp, err = get("secret-token")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var specs struct {
		Kernelspecs map[string]any `json:"kernelspecs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&specs); err != nil {
		t.Fatal(err)
	}
	spec := KernelSpecPath(home)
	if _, err := os.Stat(spec); err == nil {
		if _, ok := specs.Kernelspecs["gonb"]; !ok {
			t.Errorf("no gonb kernel in %v", specs.Kernelspecs)
		}
	}
	// A second server on the same port is refused with a message, not moved to another port.
	if _, err := StartLab(context.Background(), LabOptions{Home: home, Dir: dir, Port: port}); err == nil ||
		!strings.Contains(err.Error(), "give another port") {
		t.Errorf("second server on port %d: %v", port, err)
	}
}
