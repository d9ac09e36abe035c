"""The vitnb notebooks in a real browser: headless Chromium on JupyterLab, driven through selenium (.ci/browser).

Usage: /usr/bin/python3 .ci/browser_test.py --base URL --token TOKEN --shots DIR [--retrain GLOB] NOTEBOOK...

JupyterLab must already serve the notebooks' folder at URL (bin/vit notebook lab, as `make lab` starts it), with
`expose_app_in_browser` on, so that the test can read the notebook's model as well as what the page shows. For
each notebook: open it, wait for its gonb kernel, choose Run > Run All Cells in the menu, watch until every code
cell has run and the kernel is idle, then fail on
  - error outputs (compile errors, kernel errors),
  - `panic:`, `fatal error:`, `exit status N` or `signal:` at the start of a line of a cell's text,
  - pictures missing (fewer rendered than the stored notebook holds) or of zero size,
  - a model trained ("trained in Ns") without its progress bar in the cell, or with a bar never seen moving
    while a training of 10 s or more ran.
Once, in the first notebook after its cells ran, completion and help (GoNB through gopls): a new cell with `nb.`
and Tab must open JupyterLab's completer listing `Show` (screenshot *_3_completion), and Shift+Tab on `nb.Show`
a tooltip with its doc comment (*_4_help); the cell is not saved.
Screenshots (the notebook's top, every cell with a picture or a progress bar, a bar while it moves, and the
page at a failure) go to --shots. The kernels are stopped through the REST API at the end.
Needs Debian's chromium, chromium-driver and python3-selenium (docker/install.sh system with VITNB_APT_EXTRA).
"""
import argparse
import glob
import json
import os
import re
import shutil
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

# The lines GoNB prints when a cell's program fails without a compile error (vitnb/notebook/check.go).
FAILURE = re.compile(r"^(panic: .*|fatal error: .*|exit status \d+.*|signal: .*)$", re.M)
# vitnb's progress bar (vitnb/viz/html.go ProgressHTML): 30 blocks, percent, steps done/total.
BAR = re.compile(r"[█░]{30}\s+(\d+)% (\d+)/(\d+)")
# The line nb.TrainOrLoad and nb.TrainCNN print after training a model (not a sentence that quotes a loaded run's
# training time, as notebook 4's "the shared model: ..., trained in 2m55s").
TRAINED = re.compile(r"trained in (\d+)s: test accuracy")

# What the page shows of each code cell, and what its model holds (window.jupyterapp: expose_app_in_browser).
CELLS_JS = r"""
const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
const nodes = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
const models = panel && panel.content ? [...panel.content.model.cells] : [];
return nodes.map((n, i) => {
  const m = models[i];
  const outs = [...n.querySelectorAll('.jp-OutputArea-output')];
  const pics = [...n.querySelectorAll('.jp-OutputArea-output img, .jp-OutputArea-output svg')]
    .filter(p => !p.parentElement.closest('svg'))
    .map(p => {
      const r = p.getBoundingClientRect();
      return {tag: p.tagName.toLowerCase(), w: r.width, h: r.height,
              nw: p.naturalWidth === undefined ? -1 : p.naturalWidth, complete: p.complete !== false};
    });
  return {
    code: n.classList.contains('jp-CodeCell'),
    prompt: (n.querySelector('.jp-InputArea-prompt') || {}).innerText || '',
    text: outs.map(o => o.innerText).join('\n'),
    pics: pics,
    modelPics: m && m.type === 'code' ? m.outputs.toJSON().reduce((n, o) => {
      const d = o.data || {}, h = [].concat(d['text/html'] || []).join('');
      return n + ('image/png' in d) + ('image/svg+xml' in d) + (h.match(/<img|<svg/g) || []).length;
    }, 0) : 0,
    errors: m && m.type === 'code' ? m.outputs.toJSON().filter(o => o.output_type === 'error')
      .map(o => o.ename + ': ' + String(o.evalue).split('\n').filter(l => l.trim() && !l.startsWith('# ')).join(' | ')) : [],
  };
});
"""


# Scrolls the first output of cell arguments[0] that shows a picture or a progress bar (the last moving bar with
# arguments[1]) to the top of the notebook's view, for a screenshot of what matters rather than the code.
SCROLL_JS = r"""
const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
const cell = cells[arguments[0]];
if (!cell) return false;
const outs = [...cell.querySelectorAll('.jp-OutputArea-output')].filter(o =>
  arguments[1] ? /[█░]{30}/.test(o.innerText) && o.innerText.includes('░')
               : o.querySelector('img, svg') || /[█░]{30}/.test(o.innerText));
const target = arguments[1] ? outs[outs.length - 1] : outs[0];
(target || cell).scrollIntoView({block: arguments[1] ? 'center' : 'start'});
return !!target;
"""


def api(base, token, method, path):
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": "token " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    return json.loads(body) if body else None


def stored_pictures(path):
    """Pictures in the stored notebook: PNG/SVG outputs and <img>/<svg> in HTML outputs."""
    nb = json.load(open(path, encoding="utf-8"))
    n = 0
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            d = o.get("data", {})
            n += ("image/png" in d) + ("image/svg+xml" in d)
            h = d.get("text/html", "")
            h = "".join(h) if isinstance(h, list) else h
            n += h.count("<img") + h.count("<svg")
    return n


def kernel_of(base, token, name):
    for s in api(base, token, "GET", "/api/sessions"):
        if s.get("path", "").endswith(name) and s.get("kernel"):
            return s["kernel"]
    return None


def wait(what, timeout, fn, every=1.0):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


def click_menu(driver, menu, item):
    for m in driver.find_elements(By.CSS_SELECTOR, "li.lm-MenuBar-item"):
        if m.text.strip() == menu:
            m.click()
            break
    else:
        raise RuntimeError(f"no menu {menu!r} in JupyterLab's menu bar")
    entry = wait(f"menu item {item!r}", 10, lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, "li.lm-Menu-item")
                                                  if e.text.strip().startswith(item)])
    entry[0].click()


def shoot(driver, shots, name):
    path = os.path.join(shots, name + ".png")
    driver.save_screenshot(path)
    return path


def check_completion(driver, shots, stem, prefix="nb.", want="Show", doc="Show displays an image"):
    """Types `prefix` in a new cell after the last one, presses Tab and waits for the completer to list `want`
    (gopls answers through GoNB; its first answer loads the packages: up to a few minutes on 2 busy cores), then
    completes `want` and presses Shift+Tab: the tooltip must show its doc comment (`doc`)."""
    cells = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cells[-1])
    cells[-1].find_element(By.CSS_SELECTOR, ".jp-InputArea-prompt").click()  # select it, command mode
    ActionChains(driver).send_keys(Keys.ESCAPE).send_keys("b").perform()  # a new cell below
    time.sleep(0.5)
    ActionChains(driver).send_keys(Keys.ENTER).perform()  # edit it
    time.sleep(0.5)
    ActionChains(driver).send_keys("%%").send_keys(Keys.ENTER).send_keys(prefix).perform()
    time.sleep(0.5)
    # GoNB gives gopls 8 s per request; its first one loads the packages the cell imports, which can take longer on
    # a busy machine and fails (the kernel's log: "complete_request failed: context deadline exceeded"): press Tab
    # again every 15 s while gopls goes on loading.
    items, end = [], time.time() + 300
    while not items and time.time() < end:
        ActionChains(driver).send_keys(Keys.TAB).perform()
        try:
            items = wait(f"Tab completion after {prefix!r}", 15, lambda: [
                e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, ".jp-Completer .jp-Completer-match")
                if e.text.strip()])
        except TimeoutError:
            pass
    if not items:
        shoot(driver, shots, f"{stem}_3_completion")
        return [f"Tab after {prefix!r}: no completer list within 300 s (is gopls installed? vit notebook setup says)"]
    time.sleep(0.5)
    read = lambda: [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, ".jp-Completer .jp-Completer-match")
                    if e.text.strip()]
    names, typed = read() or items, ""
    if want not in names:
        # JupyterLab draws a long list a part at a time (seen: the first 11 of 53 names): typing the first letters
        # of the name filters the list, as a user would.
        typed = want[:2]
        ActionChains(driver).send_keys(typed).perform()
        try:
            names = wait(f"{want!r} in the completer after {prefix + typed!r}", 15, lambda: (lambda n: n if want in n else [])(read()))
        except TimeoutError:
            names = read()
    shoot(driver, shots, f"{stem}_3_completion")
    if want not in names:
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
        return [f"Tab after {prefix + typed!r} lists {names[:12]}, not {want!r}"]
    print(f"  completion after {prefix + typed!r}: {len(names)} names shown, {want!r} among them", flush=True)
    # Contextual help: Shift+Tab on the name shows its doc comment in a tooltip (GoNB asks gopls for the hover).
    # The name is typed while the completer is open (it filters the list), then Escape closes the completer (it
    # takes that key: the cell stays in edit mode, where keys are text, not notebook commands).
    ActionChains(driver).send_keys(want[len(typed):]).perform()
    time.sleep(0.5)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    tip, end = "", time.time() + 120
    while doc not in tip and time.time() < end:
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        try:
            tip = wait(f"help on {prefix + want}", 15, lambda: " ".join(
                e.text for e in driver.find_elements(By.CSS_SELECTOR, ".jp-Tooltip") if doc in e.text))
        except TimeoutError:
            pass
    shoot(driver, shots, f"{stem}_4_help")
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    if doc not in tip:
        return [f"Shift+Tab on {prefix + want}: no tooltip with its doc comment ({doc!r}) within 120 s"]
    print(f"  help on {prefix + want}: {' '.join(tip.split())[:100]!r}", flush=True)
    return []


def run_notebook(driver, args, path, index):
    name = os.path.basename(path)
    stem = f"{index:02d}_{os.path.splitext(name)[0]}"
    problems = []
    start = time.time()
    # ?reset: a fresh workspace, only this notebook open.
    driver.get(f"{args.base}/lab/tree/{name}?reset")
    wait("the notebook's cells", 120, lambda: driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Cell"))
    kernel = wait("the notebook's kernel", 120, lambda: kernel_of(args.base, args.token, name))
    if kernel["name"] != "gonb":
        problems.append(f"the kernel is {kernel['name']!r}, not gonb")
    wait("the gonb kernel to be idle", 180,
         lambda: api(args.base, args.token, "GET", f"/api/kernels/{kernel['id']}")["execution_state"] == "idle")
    shoot(driver, args.shots, f"{stem}_0_opened")
    click_menu(driver, "Run", "Run All Cells")

    moving = {}  # cell index -> progress states seen before 100%
    first_moving_shot = False
    cells = []
    deadline = start + args.timeout
    idle_since = None
    while True:
        if time.time() > deadline:
            problems.append(f"not done within {args.timeout}s")
            break
        cells = driver.execute_script(CELLS_JS)
        for i, c in enumerate(cells):
            for m in BAR.finditer(c["text"]):
                done, total = int(m.group(2)), int(m.group(3))
                if done < total:
                    moving.setdefault(i, set()).add(done)
                    if not first_moving_shot:
                        first_moving_shot = True
                        driver.execute_script(SCROLL_JS, i, True)
                        shoot(driver, args.shots, f"{stem}_1_progress_cell{i + 1}")
        code = [c for c in cells if c["code"]]
        busy = any("[*]" in c["prompt"] for c in code)
        ran = all(re.search(r"\[\d+\]", c["prompt"]) for c in code)
        state = api(args.base, args.token, "GET", f"/api/kernels/{kernel['id']}")["execution_state"]
        if not busy and ran and state == "idle":
            # Idle twice, a second apart: the last cell's outputs have arrived.
            if idle_since is not None and time.time() - idle_since >= 1:
                break
            idle_since = idle_since or time.time()
        else:
            idle_since = None
        time.sleep(1)
    seconds = time.time() - start
    # Pictures arrive with the outputs, before the kernel says idle, but a busy browser may still be drawing them:
    # give it up to 60 s to show as many as the stored notebook holds.
    want = stored_pictures(path)
    for _ in range(60):
        if sum(len(c["pics"]) for c in cells) >= want:
            break
        time.sleep(1)
        cells = driver.execute_script(CELLS_JS)

    rendered = 0
    for i, c in enumerate(cells):
        if not c["code"]:
            continue
        where = f"cell {i + 1}"
        for e in c["errors"]:
            problems.append(f"{where}: error output {e[:300]}")
        for line in FAILURE.findall(c["text"]):
            problems.append(f"{where}: {line.strip()[:300]}")
        for p in c["pics"]:
            rendered += 1
            if p["w"] <= 0 or p["h"] <= 0 or (p["tag"] == "img" and (not p["complete"] or p["nw"] <= 0)):
                problems.append(f"{where}: a picture of zero size ({p})")
        bars = BAR.findall(c["text"])
        for t in TRAINED.findall(c["text"]):
            if not bars:
                problems.append(f"{where}: a model trained ({t}s) but no progress bar rendered")
            elif int(t) >= 10 and i not in moving:
                problems.append(f"{where}: a model trained for {t}s but its progress bar was never seen moving")
        if c["pics"] or bars:
            driver.execute_script(SCROLL_JS, i, False)
            time.sleep(0.3)
            shoot(driver, args.shots, f"{stem}_2_cell{i + 1:02d}")
    if rendered < want:
        in_model = sum(c["modelPics"] for c in cells)
        cells_short = [f"cell {i + 1} shows {len(c['pics'])} of {c['modelPics']}" for i, c in enumerate(cells)
                       if c["code"] and len(c["pics"]) < c["modelPics"]]
        problems.append(f"pictures missing: {rendered} rendered, {in_model} in the outputs received, the stored notebook "
                        f"holds {want}" + (f" ({'; '.join(cells_short)})" if cells_short else ""))
    trained = sum(len(TRAINED.findall(c["text"])) for c in cells)
    if index == 1 and not args.no_completion:
        problems += check_completion(driver, args.shots, stem)
    if problems:
        shoot(driver, args.shots, f"{stem}_9_failed")
    # Nothing to save (autosave is off): no "leave the page?" dialog when the next notebook opens.
    driver.execute_script("const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                          "if (w && w.context) { w.context.model.dirty = false; }")
    try:
        api(args.base, args.token, "DELETE", f"/api/kernels/{kernel['id']}")
    except Exception as e:  # already gone: nothing to stop
        print(f"  (stopping kernel {kernel['id']}: {e})", file=sys.stderr)
    return problems, seconds, rendered, trained, sum(len(v) for v in moving.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="JupyterLab's address, e.g. http://127.0.0.1:8888")
    ap.add_argument("--token", required=True)
    ap.add_argument("--shots", required=True, help="folder for the screenshots (emptied first)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per notebook")
    ap.add_argument("--runs", default=os.environ.get("VITNB_RUNS") or os.path.expanduser("~/.cache/vitnb/notebook-runs"),
                    help="the notebooks' cached runs ($VITNB_RUNS)")
    ap.add_argument("--retrain", action="append", default=None,
                    help="glob of cached runs (under --runs) to delete first, so that a training and its progress bar "
                         "run in the browser (default, when notebook 4 runs: its depth-1 sweep run of the quick budget, a few "
                         "seconds); the test fails when none trains")
    ap.add_argument("--no-completion", action="store_true", help="do not check Tab completion in the first notebook")
    ap.add_argument("notebooks", nargs="+")
    args = ap.parse_args()
    removed = []
    fourth = any(os.path.basename(n).startswith("04_") for n in args.notebooks)
    default = ["fashion-mnist-micro28-d1-s50-*"] if fourth else []
    for g in args.retrain if args.retrain is not None else default:
        for d in glob.glob(os.path.join(args.runs, g)):
            print(f"retrain in the browser: removing the cached run {d}", flush=True)
            shutil.rmtree(d)
            removed.append(d)
    shutil.rmtree(args.shots, ignore_errors=True)
    os.makedirs(args.shots)
    print(f"screenshots: {args.shots}", flush=True)

    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--hide-scrollbars"):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
    # Reading a long notebook's cells can take longer than selenium's 30 s on a loaded 2-core machine (seen once,
    # on notebook 4 while another notebook ran beside it).
    driver.set_script_timeout(180)
    failed = 0
    trainings = 0
    try:
        driver.get(f"{args.base}/lab?token={args.token}")  # logs in (a cookie) for the pages that follow
        for i, path in enumerate(args.notebooks, 1):
            print(f"== {path}", flush=True)
            try:
                problems, secs, pics, trained, moving = run_notebook(driver, args, path, i)
            except Exception as e:
                shoot(driver, args.shots, f"{i:02d}_9_broke")
                problems, secs, pics, trained, moving = [f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"], 0, 0, 0, 0
            trainings += trained
            if problems:
                failed += 1
                print(f"FAIL {path} ({secs:.0f}s):")
                for p in problems:
                    print(f"  {p}")
            else:
                print(f"ok   {path} ({secs:.0f}s, {pics} pictures, {trained} trainings, {moving} progress states seen)")
            sys.stdout.flush()
    finally:
        driver.quit()
        try:
            for k in api(args.base, args.token, "GET", "/api/kernels"):
                api(args.base, args.token, "DELETE", f"/api/kernels/{k['id']}")
        except Exception as e:
            print(f"stopping the kernels: {e}", file=sys.stderr)
    print(f"screenshots: {args.shots}")
    if removed and not trainings and not failed:
        print(f"FAIL no notebook trained a model although {len(removed)} cached run(s) were removed: "
              "the progress bar went untested")
        failed += 1
    if failed:
        sys.exit(f"{failed} of {len(args.notebooks)} notebooks failed in the browser")


if __name__ == "__main__":
    main()
