package nodejshost

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver"
	"google.golang.org/protobuf/types/known/structpb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestParseOptions(t *testing.T) {
	t.Parallel()
	opts, err := ParseOptions(nil)
	if err != nil || !opts.Typescript || opts.Tsconfig != "" || opts.Nodeargs != "" || opts.PackageManager != "auto" {
		t.Fatalf("defaults: %+v %v", opts, err)
	}
	opts, err = ParseOptions(map[string]any{
		"typescript": false, "tsconfig": "tsconfig.pulumi.json", "packagemanager": "npm",
		"nodeargs": "--stack-trace-limit=0 --max-semi-space-size=64 --max-old-space-size=8192",
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Typescript || opts.Tsconfig != "tsconfig.pulumi.json" || opts.PackageManager != "npm" {
		t.Fatalf("parsed: %+v", opts)
	}
	if env := opts.Env(); !reflect.DeepEqual(env, []string{"PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.pulumi.json"}) {
		t.Fatalf("env without typescript: %v", env)
	}
	for opt, val := range map[string]any{
		"typescript": "yes", "tsconfig": 1.0, "nodeargs": []any{"--x"}, "production": "no", "packagemanager": "cargo",
	} {
		if _, err := ParseOptions(map[string]any{opt: val}); err == nil {
			t.Errorf("%s=%v: want an error", opt, val)
		}
	}
}

func TestNodeArgsSplitting(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"": nil,
		"--stack-trace-limit=0  --max-old-space-size=8192": {"--stack-trace-limit=0", "--max-old-space-size=8192"},
		`--require "./a b.js" --title='x y'`:               {"--require", "./a b.js", "--title=x y"},
		`--inspect\ me`:                                    {"--inspect me"},
	} {
		got, err := Options{Nodeargs: in}.NodeArgs()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("NodeArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeProgram lays out a program directory with a node_modules tree.
func fakeProgram(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	writeJSON(t, filepath.Join(dir, "package.json"), map[string]any{
		"name": "prog", "dependencies": map[string]string{"@pulumi/random": "^4", "@pulumi/pulumi": "^3"},
		"devDependencies": map[string]string{"typescript": "^5"},
	})
	writeJSON(t, filepath.Join(nm, "@pulumi/pulumi/package.json"), map[string]any{"name": "@pulumi/pulumi", "version": "3.270.0"})
	writeJSON(t, filepath.Join(nm, "@pulumi/random/package.json"), map[string]any{
		"name": "@pulumi/random", "version": "4.21.1",
		"pulumi": map[string]any{"resource": true, "name": "random", "version": "4.21.1"},
	})
	// Name derived from the @pulumi scope, version from the package.
	writeJSON(t, filepath.Join(nm, "@pulumi/command/package.json"), map[string]any{
		"name": "@pulumi/command", "version": "1.2.1", "pulumi": map[string]any{"resource": true},
	})
	writeJSON(t, filepath.Join(nm, "@pulumi/docker/package.json"), map[string]any{
		"name": "@pulumi/docker", "version": "4.0.0",
		"pulumi": map[string]any{"resource": true, "name": "docker", "version": "4.5.0", "server": "https://example.test"},
	})
	// Not a resource package; a third-party one without a plugin name is an error but doesn't hide the others.
	writeJSON(t, filepath.Join(nm, "left-pad/package.json"), map[string]any{"name": "left-pad", "version": "1.3.0"})
	writeJSON(t, filepath.Join(nm, "acme-thing/package.json"), map[string]any{
		"name": "acme-thing", "version": "0.1.0", "pulumi": map[string]any{"resource": true},
	})
	// A nested copy (deeper node_modules) is found too; package.json outside node_modules is ignored.
	writeJSON(t, filepath.Join(nm, "@pulumi/random/node_modules/@pulumi/pulumi/package.json"),
		map[string]any{"name": "@pulumi/pulumi", "version": "3.200.0"})
	writeJSON(t, filepath.Join(dir, "sub/package.json"), map[string]any{
		"name": "@pulumi/ignored", "version": "1.0.0", "pulumi": map[string]any{"resource": true},
	})
	// A symlink loop must not hang the walk.
	if err := os.Symlink(nm, filepath.Join(nm, "loop")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFindPackages(t *testing.T) {
	t.Parallel()
	dir := fakeProgram(t)
	versions := map[string]semver.Version{}
	pkgs, err := FindPackages(dir, versions)
	if err == nil || !strings.Contains(err.Error(), "acme-thing") {
		t.Fatalf("want an error about the unnamed third-party plugin, got %v", err)
	}
	got := map[string]string{}
	for _, p := range pkgs {
		if p.Kind != "resource" {
			t.Fatalf("kind %q", p.Kind)
		}
		got[p.Name] = p.Version + " " + p.Server
	}
	want := map[string]string{
		"random": "v4.21.1 ", "command": "v1.2.1 ", "docker": "v4.5.0 https://example.test",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("packages = %v, want %v", got, want)
	}
	if len(versions) != 2 {
		t.Fatalf("@pulumi/pulumi versions: %v", versions)
	}

	host := New("127.0.0.1:1", "", "")
	var stderr bytes.Buffer
	host.Stderr = &stderr
	res, err := host.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir, RootDirectory: dir, EntryPoint: "."},
	})
	if err != nil || len(res.Packages) != 3 {
		t.Fatalf("GetRequiredPackages: %v %v", res, err)
	}
}

func TestProgramDependencies(t *testing.T) {
	t.Parallel()
	dir := fakeProgram(t)
	deps, err := ProgramDependencies(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Dependency{{"@pulumi/pulumi", "3.270.0"}, {"@pulumi/random", "4.21.1"}, {"typescript", "^5"}}
	if !reflect.DeepEqual(deps, want) {
		t.Fatalf("deps = %v", deps)
	}
	all, err := ProgramDependencies(dir, true)
	if err != nil || !slices.Contains(all, Dependency{"left-pad", "1.3.0"}) {
		t.Fatalf("transitive deps = %v %v", all, err)
	}
}

func runRequest(t *testing.T, dir string, options map[string]any) *pulumirpc.RunRequest {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.RunRequest{
		Project: "proj", Stack: "dev", Organization: "organization", MonitorAddress: "127.0.0.1:1111",
		DryRun: true, Parallel: 16, Args: []string{"extra"},
		Config:           map[string]string{"proj:region": "eu", "aws:region": "us"},
		ConfigSecretKeys: []string{"proj:token"},
		Info: &pulumirpc.ProgramInfo{
			RootDirectory: dir, ProgramDirectory: dir, EntryPoint: ".", Options: opts,
		},
	}
}

func TestCommandConstruction(t *testing.T) {
	t.Parallel()
	host := New("127.0.0.1:2222", "", "")
	req := runRequest(t, "/prog", map[string]any{
		"tsconfig": "tsconfig.pulumi.json", "nodeargs": "--stack-trace-limit=0 --max-old-space-size=8192",
	})
	args, env, err := host.Command(req, "127.0.0.1:2222", "/prog/node_modules/@pulumi/pulumi/cmd/run/index.js")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--stack-trace-limit=0", "--max-old-space-size=8192", "/prog/node_modules/@pulumi/pulumi/cmd/run/index.js",
		"--monitor", "127.0.0.1:1111", "--engine", "127.0.0.1:2222", "--organization", "organization",
		"--project", "proj", "--root-directory", "/prog", "--stack", "dev", "--pwd", "/prog", "--dry-run",
		"--parallel", "16", ".", "extra",
	}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("args =\n%q\nwant\n%q", args, want)
	}
	envMap := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		envMap[k] = v
	}
	var cfg map[string]string
	if err := json.Unmarshal([]byte(envMap["PULUMI_CONFIG"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, map[string]string{"proj:config:region": "eu", "aws:config:region": "us"}) {
		t.Fatalf("PULUMI_CONFIG = %v", cfg)
	}
	if envMap["PULUMI_CONFIG_SECRET_KEYS"] != `["proj:token"]` || envMap["PULUMI_NODEJS_TYPESCRIPT"] != "true" ||
		envMap["PULUMI_NODEJS_TSCONFIG_PATH"] != "tsconfig.pulumi.json" {
		t.Fatalf("env = %v", envMap)
	}

	_, _, err = host.Command(runRequest(t, "/prog", map[string]any{"nodeargs": `--x "unterminated`}), "e", "r")
	if err == nil {
		t.Fatal("a malformed nodeargs must be an error")
	}
}

// fakeRunScript installs a stand-in @pulumi/pulumi/cmd/run that records its argv and environment and exits with
// $FAKE_EXIT.
func fakeRunScript(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH")
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "node_modules/@pulumi/pulumi/cmd/run")
	writeJSON(t, filepath.Join(dir, "node_modules/@pulumi/pulumi/package.json"), map[string]any{
		"name": "@pulumi/pulumi", "version": "3.270.0",
	})
	script := `const fs = require("fs");
fs.writeFileSync(process.env.FAKE_OUT, JSON.stringify({argv: process.argv.slice(2), execArgv: process.execArgv,
  ts: process.env.PULUMI_NODEJS_TYPESCRIPT || "", tsconfig: process.env.PULUMI_NODEJS_TSCONFIG_PATH || "",
  config: process.env.PULUMI_CONFIG}));
console.log("program output");
if (process.env.FAKE_EXIT !== "0") console.error("boom from program");
process.exit(Number(process.env.FAKE_EXIT));
`
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "index.js"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunWithNode(t *testing.T) {
	dir := fakeRunScript(t)
	out := filepath.Join(dir, "out.json")
	t.Setenv("FAKE_OUT", out)
	host := New("127.0.0.1:2222", "", "")
	var stdout, stderr bytes.Buffer
	host.Stdout, host.Stderr = &stdout, &stderr
	req := runRequest(t, dir, map[string]any{"nodeargs": "--stack-trace-limit=0", "tsconfig": "tsconfig.pulumi.json"})

	t.Setenv("FAKE_EXIT", "0")
	res, err := host.Run(context.Background(), req)
	if err != nil || res.Error != "" || res.Bail {
		t.Fatalf("run: %v %v", res, err)
	}
	var rec struct {
		Argv, ExecArgv       []string
		Ts, Tsconfig, Config string
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.ExecArgv, []string{"--stack-trace-limit=0"}) || rec.Ts != "true" ||
		rec.Tsconfig != "tsconfig.pulumi.json" || !slices.Contains(rec.Argv, "--dry-run") ||
		rec.Argv[len(rec.Argv)-2] != "." {
		t.Fatalf("recorded run: %+v", rec)
	}
	if !strings.Contains(stdout.String(), "program output") {
		t.Fatalf("stdout not forwarded: %q", stdout.String())
	}

	// Exit code 32: the program already reported its error; bail without another message.
	t.Setenv("FAKE_EXIT", "32")
	res, err = host.Run(context.Background(), req)
	if err != nil || !res.Bail || res.Error != "" {
		t.Fatalf("exit 32: %v %v", res, err)
	}
	// Any other failure is reported once, with the exit code; stderr is passed through.
	t.Setenv("FAKE_EXIT", "3")
	res, err = host.Run(context.Background(), req)
	if err != nil || res.Bail || res.Error != "Program exited with non-zero exit code: 3" {
		t.Fatalf("exit 3: %v %v", res, err)
	}
	if !strings.Contains(stderr.String(), "boom from program") {
		t.Fatalf("stderr not forwarded: %q", stderr.String())
	}

	// Without an installed SDK the user is told to install it.
	req.Info.ProgramDirectory = t.TempDir()
	res, err = host.Run(context.Background(), req)
	if err != nil || !strings.Contains(res.Error, "Pulumi SDK has not been installed") {
		t.Fatalf("missing SDK: %v %v", res, err)
	}
}

func TestRunNeedsEngine(t *testing.T) {
	t.Parallel()
	if _, err := New("", "", "").Run(context.Background(), &pulumirpc.RunRequest{}); err == nil {
		t.Fatal("Run without an engine address must fail")
	}
}
