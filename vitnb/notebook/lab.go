package notebook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vitnb/vitnb/vitnb/files"
)

// LabOptions says how StartLab serves the notebooks.
type LabOptions struct {
	// Home is the folder of Setup, which installed JupyterLab (DefaultHome when empty).
	Home string
	// Dir is the folder JupyterLab opens (its root).
	Dir string
	// IP and Port are where it listens (127.0.0.1 and 8888 when empty or 0).
	IP   string
	Port int
	// Token guards the server; empty means $JUPYTER_TOKEN, else a random one.
	Token string
	// Budget, if not "", is set as $VITNB_BUDGET for the kernels (one of Budgets).
	Budget string
	// Env is added to the server's environment, which the kernels inherit.
	Env []string
	// Log receives JupyterLab's own log (io.Discard when nil or Quiet).
	Log   io.Writer
	Quiet bool
	// StartTimeout is how long to wait for the server to answer (60 s when 0).
	StartTimeout time.Duration
}

// Lab is a running JupyterLab server.
type Lab struct {
	// URL opens JupyterLab in a browser, token included.
	URL string
	// Base is the server's address without path or token (http://IP:PORT).
	Base string
	// Token is the server's token (for the REST API: header "Authorization: token TOKEN").
	Token string
	cmd   *exec.Cmd
	done  chan error
}

// StartLab starts JupyterLab from Setup's virtual environment (Setup with Lab) on o.Dir and returns once it
// answers on its REST API. Stop it with Stop; Wait waits for it to end by itself.
func StartLab(ctx context.Context, o LabOptions) (*Lab, error) {
	if o.Home == "" {
		o.Home = DefaultHome()
	}
	if err := files.CheckCache(o.Home); err != nil { // its JupyterLab and gonb run
		return nil, err
	}
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 8888
	}
	if o.Token == "" {
		o.Token = os.Getenv("JUPYTER_TOKEN")
	}
	if o.Token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		o.Token = hex.EncodeToString(b)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if err := CheckBudget(o.Budget); err != nil {
		return nil, err
	}
	env := append([]string{"JUPYTER_TOKEN=" + o.Token}, o.Env...)
	if o.Budget != "" {
		env = append(env, "VITNB_BUDGET="+o.Budget)
	}
	log := o.Log
	if log == nil || o.Quiet {
		log = io.Discard
	}
	jupyter := filepath.Join(o.Home, "venv", "bin", "jupyter-lab")
	if _, err := os.Stat(jupyter); err != nil {
		return nil, fmt.Errorf("JupyterLab is not installed in %s: run `vit notebook setup -lab` (or `make lab`)", filepath.Join(o.Home, "venv"))
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("notebook folder %s: not a folder", o.Dir)
	}
	// A port in use would make Jupyter pick another one silently (port_retries): say so instead.
	addr := net.JoinHostPort(o.IP, strconv.Itoa(o.Port))
	if l, err := net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("cannot serve JupyterLab on %s (%v): give another port (vit notebook lab -port N, make lab LAB_PORT=N)", addr, err)
	} else {
		l.Close()
	}
	args := []string{"--no-browser", "--ip=" + o.IP, "--port=" + strconv.Itoa(o.Port), "--ServerApp.port_retries=0",
		"--ServerApp.root_dir=" + dir,
		// No news pop-up over the notebooks (DESIGN.md section 9).
		"--LabApp.news_url="}
	if os.Geteuid() == 0 {
		// JupyterLab refuses to run as root without it (containers, CI machines).
		args = append(args, "--allow-root")
	}
	cmd := exec.Command(jupyter, args...)
	cmd.Dir = dir
	cmd.Env = ToolEnv(o.Home, env...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: Ctrl-C in a terminal reaches vit, which stops the server with SIGTERM (a clean
	// shutdown that ends the kernels), instead of JupyterLab's "Shutdown this Jupyter server (y/[n])?".
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting JupyterLab: %w", err)
	}
	lab := &Lab{Base: "http://" + addr, Token: o.Token, cmd: cmd, done: make(chan error, 1)}
	lab.URL = lab.Base + "/lab?token=" + o.Token
	go func() { lab.done <- cmd.Wait() }()

	deadline := time.After(o.StartTimeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case err := <-lab.done:
			lab.done <- err
			return nil, fmt.Errorf("JupyterLab ended before answering (%v): see its log", err)
		case <-deadline:
			_ = lab.Stop()
			return nil, fmt.Errorf("JupyterLab did not answer on %s within %v", lab.Base, o.StartTimeout)
		case <-ctx.Done():
			_ = lab.Stop()
			return nil, ctx.Err()
		case <-tick.C:
			if lab.answers(client) {
				return lab, nil
			}
		}
	}
}

// answers says whether the server's REST API answers with the token.
func (l *Lab) answers(client *http.Client) bool {
	req, err := http.NewRequest(http.MethodGet, l.Base+"/api/status", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "token "+l.Token)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Wait waits until the server ends and returns its exit error.
func (l *Lab) Wait() error {
	err := <-l.done
	l.done <- err
	return err
}

// Stop ends the server with SIGTERM (JupyterLab then shuts its kernels down), and kills it after 20 s.
func (l *Lab) Stop() error {
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-l.done:
		l.done <- err
		return nil
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
		return fmt.Errorf("JupyterLab did not stop within 20 s: killed")
	}
}
