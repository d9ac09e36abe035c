// Package docker holds the JupyterLab image of vitnb (Dockerfile, install.sh, README.md). There is no Go code here
// but this test, which checks the Dockerfile against the repository without a docker daemon: every COPY source
// exists and is in the build context, every install step is known and finds the files it reads, it runs as the
// right user, the pinned versions agree with go.mod, the Makefile, vitnb/notebook/setup.go and .ci/install-xla-cpu,
// the scripts parse (bash -n, shellcheck when installed), and CI runs the install script.
package docker

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets"
)

const root = ".." // tests run in docker/; the build context is the repository root

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "docker/Dockerfile")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends inside a continued instruction (line %d)", start)
	}
	return out
}

// keyValues parses ARG/ENV/LABEL arguments: KEY=VALUE pairs, values optionally double-quoted.
func keyValues(args string) map[string]string {
	m := map[string]string{}
	re := regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|\S*)`)
	for _, kv := range re.FindAllStringSubmatch(args, -1) {
		m[kv[1]] = strings.Trim(kv[2], `"`)
	}
	return m
}

// dockerfile gathers what the tests look at.
type dockerfile struct {
	ins    []instruction
	args   map[string]string // ARG defaults
	env    map[string]string // ENV, ${ARG} expanded with the defaults
	labels map[string]string
}

func loadDockerfile(t *testing.T) dockerfile {
	d := dockerfile{ins: parseDockerfile(t), args: map[string]string{}, env: map[string]string{}, labels: map[string]string{}}
	for _, in := range d.ins {
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			d.args[name] = strings.Trim(def, `"`)
		case "ENV":
			for k, v := range keyValues(in.args) {
				d.env[k] = os.Expand(v, func(s string) string { return d.args[s] })
			}
		case "LABEL":
			for k, v := range keyValues(in.args) {
				d.labels[k] = v
			}
		}
	}
	return d
}

// dockerignored reports whether .dockerignore leaves path (slash-separated, relative to the root) out of the
// build context. It handles the patterns .dockerignore uses: plain paths and globs, a leading "**/", "!" exceptions.
func dockerignored(t *testing.T, path string) bool {
	ignored := false
	for _, p := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		neg := strings.HasPrefix(p, "!")
		p = filepath.ToSlash(filepath.Clean(strings.TrimPrefix(p, "!")))
		anyDir := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		// A pattern matches a path or any of its parents (a matched folder takes its contents along).
		for q := path; q != "." && q != "/"; q = filepath.ToSlash(filepath.Dir(q)) {
			cands := []string{q}
			if anyDir {
				parts := strings.Split(q, "/")
				for i := range parts {
					cands = append(cands, strings.Join(parts[i:], "/"))
				}
			}
			hit := false
			for _, c := range cands {
				if ok, _ := filepath.Match(p, c); ok {
					hit = true
				}
			}
			if hit {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

func TestDockerignore(t *testing.T) {
	for path, want := range map[string]bool{
		".venv/bin/python": true, "bin/vit": true, "vit": true, "runs/demo/results.json": true,
		"cmd/vit/main.go": false, "go.mod": false, "notebooks/01_patches.ipynb": false, "docker/install.sh": false,
		"cmd/vit/scripts/__pycache__/x.pyc": true, ".git/HEAD": false,
	} {
		if got := dockerignored(t, path); got != want {
			t.Errorf(".dockerignore leaves out %s: %v, want %v", path, got, want)
		}
	}
}

// copySources returns the sources of a COPY/ADD from the build context (nil for COPY --from=...).
func copySources(args string) []string {
	var words []string
	for _, w := range strings.Fields(args) {
		if strings.HasPrefix(w, "--from=") {
			return nil
		}
		if !strings.HasPrefix(w, "--") {
			words = append(words, w)
		}
	}
	if len(words) < 2 {
		return nil
	}
	return words[:len(words)-1]
}

func TestDockerfileCopySources(t *testing.T) {
	d := loadDockerfile(t)
	n := 0
	for _, in := range d.ins {
		if in.cmd != "COPY" && in.cmd != "ADD" {
			continue
		}
		srcs := copySources(in.args)
		if in.cmd == "COPY" && srcs == nil && !strings.Contains(in.args, "--from=") {
			t.Errorf("line %d: COPY %s: no source", in.line, in.args)
		}
		for _, src := range srcs {
			n++
			clean := filepath.ToSlash(filepath.Clean(src))
			if strings.HasPrefix(clean, "../") || filepath.IsAbs(clean) {
				t.Errorf("line %d: COPY source %s is outside the build context", in.line, src)
				continue
			}
			matches, _ := filepath.Glob(filepath.Join(root, clean))
			if len(matches) == 0 {
				t.Errorf("line %d: COPY source %s does not exist in the repository", in.line, src)
				continue
			}
			if clean != "." && dockerignored(t, clean) {
				t.Errorf("line %d: COPY source %s is left out by .dockerignore", in.line, src)
			}
		}
	}
	if n == 0 {
		t.Fatal("no COPY sources found: is the parser broken?")
	}
}

// installRuns returns the install.sh steps of each RUN, with the user it runs as and the files copied before it.
type installRun struct {
	line   int
	user   string
	steps  []string
	copied []string
}

func installRuns(t *testing.T, d dockerfile) []installRun {
	var out []installRun
	user := "root"
	var copied []string
	re := regexp.MustCompile(`docker/install\.sh((?:\s+[a-z][a-z-]*)+)`)
	for _, in := range d.ins {
		switch in.cmd {
		case "USER":
			user = in.args
		case "COPY", "ADD":
			for _, s := range copySources(in.args) {
				copied = append(copied, strings.TrimSuffix(filepath.ToSlash(filepath.Clean(s)), "/"))
			}
		case "RUN":
			for _, m := range re.FindAllStringSubmatch(in.args, -1) {
				out = append(out, installRun{in.line, user, strings.Fields(m[1]), slices.Clone(copied)})
			}
		}
	}
	return out
}

func covered(copied []string, path string) bool {
	for _, c := range copied {
		if c == "." || c == path || strings.HasPrefix(path, c+"/") {
			return true
		}
	}
	return false
}

func installSh(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "docker", "install.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker/install.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestDockerfileInstallSteps(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	fi, err := os.Stat(filepath.Join(root, "docker", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&0o111 == 0 {
		t.Error("docker/install.sh is not executable (git update-index --chmod=+x docker/install.sh)")
	}
	known := strings.Fields(installSh(t, "--steps"))
	d := loadDockerfile(t)
	runs := installRuns(t, d)
	var all []string
	for _, r := range runs {
		for _, s := range r.steps {
			if !slices.Contains(known, s) {
				t.Errorf("line %d: docker/install.sh has no step %q (steps: %s)", r.line, s, strings.Join(known, " "))
				continue
			}
			all = append(all, s)
			if !covered(r.copied, "docker/install.sh") {
				t.Errorf("line %d: docker/install.sh runs before it is copied into the image", r.line)
			}
			for _, need := range strings.Fields(installSh(t, "--needs", s)) {
				if _, err := os.Stat(filepath.Join(root, need)); err != nil {
					t.Errorf("step %s needs %s, which does not exist", s, need)
				}
				if !covered(r.copied, need) {
					t.Errorf("line %d: step %s reads %s, which is not copied into the image before it", r.line, s, need)
				}
				if strings.HasPrefix(need, ".ci/") || strings.HasSuffix(need, ".sh") {
					if fi, err := os.Stat(filepath.Join(root, need)); err == nil && fi.Mode()&0o111 == 0 {
						t.Errorf("step %s runs %s, which is not executable", s, need)
					}
				}
			}
			asRoot := s == "system" || s == "go"
			if asRoot != (r.user == "root" || r.user == "0") {
				t.Errorf("line %d: step %s runs as %q: system and go need root, the others the notebook user", r.line, s, r.user)
			}
		}
	}
	for _, s := range known {
		if !slices.Contains(all, s) {
			t.Errorf("the Dockerfile never runs step %s", s)
		}
	}
	// Every step the Dockerfile runs goes through with -n (commands printed, nothing changed).
	dry := all
	t.Setenv("HOME", t.TempDir())
	t.Setenv("VITNB_GOROOT", filepath.Join(t.TempDir(), "go"))
	out := installSh(t, append([]string{"-n"}, dry...)...)
	for _, s := range dry {
		if !strings.Contains(out, "== "+s) {
			t.Errorf("install.sh -n %s: no step header for %s in\n%s", strings.Join(dry, " "), s, out)
		}
	}
	cmd := exec.Command("bash", filepath.Join(root, "docker", "install.sh"), "no-such-step")
	if err := cmd.Run(); err == nil {
		t.Error("install.sh no-such-step exited 0")
	}
}

// requireVersion returns the version go.mod (at path) requires of module.
func requireVersion(t *testing.T, path, module string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindStringSubmatch(readFile(t, path))
	if m == nil {
		t.Fatalf("%s does not require %s", path, module)
	}
	return m[1]
}

func TestDockerfileVersions(t *testing.T) {
	d := loadDockerfile(t)
	gomod := readFile(t, "go.mod")
	m := regexp.MustCompile(`(?m)^toolchain\s+(go\S+)`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no toolchain line")
	}
	toolchain := m[1]
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("ARG GO_VERSION", d.args["GO_VERSION"], toolchain)
	check("LABEL io.github.vitnb.go", d.labels["io.github.vitnb.go"], toolchain)
	check("ENV GOTOOLCHAIN", d.env["GOTOOLCHAIN"], toolchain)
	if !strings.Contains(readFile(t, "docker/install.sh"), toolchain+".linux-amd64)") {
		t.Errorf("docker/install.sh pins no sha256 for %s.linux-amd64 (go_zip_sha256)", toolchain)
	}
	check("docker/pjrtcuda toolchain", regexp.MustCompile(`(?m)^toolchain\s+(go\S+)`).FindStringSubmatch(
		readFile(t, "docker/pjrtcuda/go.mod"))[1], toolchain)

	// The Makefile's environment is the image's.
	makefile := readFile(t, "Makefile")
	for _, v := range []string{"GOTOOLCHAIN", "GOEXPERIMENT", "GOFLAGS"} {
		m := regexp.MustCompile(`(?m)^export ` + v + ` := (\S+)`).FindStringSubmatch(makefile)
		if m == nil {
			t.Errorf("the Makefile does not export %s", v)
			continue
		}
		check("ENV "+v, d.env[v], m[1])
	}

	check("LABEL io.github.vitnb.gomlx", d.labels["io.github.vitnb.gomlx"], requireVersion(t, "go.mod", "github.com/gomlx/gomlx"))
	goxla := requireVersion(t, "go.mod", "github.com/gomlx/go-xla")
	check("LABEL io.github.vitnb.go-xla", d.labels["io.github.vitnb.go-xla"], goxla)
	check("docker/pjrtcuda/go.mod go-xla", requireVersion(t, "docker/pjrtcuda/go.mod", "github.com/gomlx/go-xla"), goxla)

	// GoNB: go.mod's requirement, the pin of `vit notebook setup` and the label agree.
	gonb := requireVersion(t, "go.mod", "github.com/janpfeifer/gonb")
	m = regexp.MustCompile(`GoNBVersion\s*=\s*"(v[^"]+)"`).FindStringSubmatch(readFile(t, "vitnb/notebook/setup.go"))
	if m == nil {
		t.Fatal("vitnb/notebook/setup.go has no GoNBVersion")
	}
	check("vitnb/notebook/setup.go GoNBVersion", m[1], gonb)
	check("LABEL io.github.vitnb.gonb", d.labels["io.github.vitnb.gonb"], gonb)

	// XLA CPU: the wheel of .ci/install-xla-cpu.
	xla := readFile(t, ".ci/install-xla-cpu")
	pkg := regexp.MustCompile(`(?m)^PKG="([^"]+)"`).FindStringSubmatch(xla)
	ver := regexp.MustCompile(`(?m)^VERSION="([^"]+)"`).FindStringSubmatch(xla)
	if pkg == nil || ver == nil {
		t.Fatal(".ci/install-xla-cpu has no PKG= or VERSION= line")
	}
	check("LABEL io.github.vitnb.xla-cpu", d.labels["io.github.vitnb.xla-cpu"], pkg[1]+"=="+ver[1])

	// MNIST offline: the module install.sh downloads is the one package datasets looks in.
	m = regexp.MustCompile(`(?m)^GOMNIST_MODULE="([^"]+)"`).FindStringSubmatch(readFile(t, "docker/install.sh"))
	if m == nil {
		t.Fatal("docker/install.sh has no GOMNIST_MODULE")
	}
	check("docker/install.sh GOMNIST_MODULE", m[1], datasets.GoMNISTModule)

	// DESIGN.md lives beside the repository (../shared), not in it: checked when there.
	if b, err := os.ReadFile(filepath.Join(root, "..", "shared", "DESIGN.md")); err == nil {
		design := string(b)
		for _, want := range []string{"GoMLX " + requireVersion(t, "go.mod", "github.com/gomlx/gomlx"), "GoNB " + gonb,
			toolchain, "go-xla` " + goxla} {
			if !strings.Contains(design, want) {
				t.Errorf("DESIGN.md does not mention %q", want)
			}
		}
	} else {
		t.Logf("no ../shared/DESIGN.md beside the repository: its versions not compared")
	}
}

func TestDockerfileRuntime(t *testing.T) {
	d := loadDockerfile(t)
	var user, cmd, entry string
	var exposed, volumes []string
	for _, in := range d.ins {
		switch in.cmd {
		case "USER":
			user = in.args
		case "CMD":
			cmd = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "VOLUME":
			volumes = append(volumes, regexp.MustCompile(`"([^"]+)"`).FindAllString(in.args, -1)...)
		}
	}
	if user == "" || user == "root" || user == "0" {
		t.Errorf("the image runs as %q: want the notebook user", user)
	}
	if !slices.Contains(exposed, "8888") {
		t.Errorf("EXPOSE %v: want 8888", exposed)
	}
	home := d.env["HOME"]
	for _, want := range []string{home + "/vitnb/runs", home + "/.cache/vitnb"} {
		if !slices.Contains(volumes, `"`+want+`"`) {
			t.Errorf("VOLUME %v: want %s", volumes, want)
		}
	}
	if !strings.Contains(cmd, `"jupyter", "lab"`) || !strings.Contains(cmd, "8888") || !strings.Contains(cmd, "0.0.0.0") {
		t.Errorf("CMD %s: want jupyter lab on 0.0.0.0:8888", cmd)
	}
	if !strings.Contains(entry, "tini") {
		t.Errorf("ENTRYPOINT %s: want tini (reaps the processes of GoNB's cells)", entry)
	}
	path := strings.Split(d.env["PATH"], ":")
	nbHome := d.env["VITNB_NOTEBOOK_HOME"]
	for _, want := range []string{home + "/vitnb/bin", nbHome + "/venv/bin", nbHome + "/bin", "/usr/local/go/bin"} {
		if !slices.Contains(path, want) {
			t.Errorf("PATH %s lacks %s", d.env["PATH"], want)
		}
	}
	if !strings.HasPrefix(nbHome, home+"/") || strings.HasPrefix(nbHome, home+"/.cache/vitnb") {
		t.Errorf("VITNB_NOTEBOOK_HOME %s: want it in the home folder but out of the cache volume", nbHome)
	}
}

func TestScriptsParse(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var scripts []string
	for _, glob := range []string{".ci/*", "docker/*.sh"} {
		ms, _ := filepath.Glob(filepath.Join(root, glob))
		for _, p := range ms {
			if b, err := os.ReadFile(p); err == nil && strings.HasPrefix(string(b), "#!") &&
				strings.Contains(strings.SplitN(string(b), "\n", 2)[0], "bash") {
				scripts = append(scripts, p)
			}
		}
	}
	if len(scripts) < 4 {
		t.Fatalf("found only %v", scripts)
	}
	for _, s := range scripts {
		if out, err := exec.Command(bash, "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		out, err := exec.Command(sc, append([]string{"-S", "warning"}, scripts...)...).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck -S warning: %v\n%s", err, out)
		}
	} else {
		t.Log("shellcheck is not installed: only bash -n checked")
	}
}

// CI must run the install script, so that CI exercises what the image runs.
func TestCIRunsInstallScript(t *testing.T) {
	// A command line: optionally VAR=$( and VAR=VALUE assignments, then docker/install.sh and its steps (not a
	// mention in a comment or a message).
	re := regexp.MustCompile(`(?m)^[ \t]*(?:\w+=\$\()?(?:\w+=\S+[ \t]+)*docker/install\.sh((?:[ \t]+[a-z][a-z-]*)+)`)
	for file, steps := range map[string][]string{".ci/run": {"system", "modules", "xla-cpu"}, ".ci/notebooks": {"notebook"}} {
		var run []string
		for _, m := range re.FindAllStringSubmatch(readFile(t, file), -1) {
			run = append(run, strings.Fields(m[1])...)
		}
		for _, s := range steps {
			if !slices.Contains(run, s) {
				t.Errorf("%s does not run docker/install.sh %s (it runs %v)", file, s, run)
			}
		}
	}
}

// The build and run commands of the READMEs use the Dockerfile's build arguments.
func TestREADMECommands(t *testing.T) {
	d := loadDockerfile(t)
	for _, file := range []string{"docker/README.md", "README.md"} {
		src := readFile(t, file)
		if !strings.Contains(src, "docker build -f docker/Dockerfile") {
			t.Errorf("%s has no `docker build -f docker/Dockerfile` command", file)
		}
		for _, m := range regexp.MustCompile(`--build-arg\s+([A-Z_]+)=`).FindAllStringSubmatch(src, -1) {
			if _, ok := d.args[m[1]]; !ok {
				t.Errorf("%s: --build-arg %s is no ARG of docker/Dockerfile", file, m[1])
			}
		}
	}
}

// docker/pjrtcuda is a module of its own (go-xla's installer needs a dependency vitnb does not have), so
// `go vet ./...` does not reach it: vet it here.
func TestPJRTCUDAVet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(goBin, "vet", ".")
	cmd.Dir = filepath.Join(root, "docker", "pjrtcuda")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go vet in docker/pjrtcuda: %v\n%s", err, out)
	}
}
